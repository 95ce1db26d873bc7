"""The ``deep`` extra: a PyTorch MLP with imbalance-aware losses and a conditional-GAN
oversampler. They train, search, export and predict like every other family, their saved
form holds no PyTorch object, and without PyTorch they are refused with how to install it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATA, without_extra
from sklearn.metrics import average_precision_score

import strategy_search.components.registry as registry
from strategy_search.cli import main
from strategy_search.errors import MissingExtraError, SpaceError
from strategy_search.estimators.classifiers.torch_mlp import TorchMLPClassifier, class_weights
from strategy_search.space import load_space

needs_torch = pytest.mark.skipif(without_extra("deep") is not None, reason=str(without_extra("deep")))


def test_the_class_weights_follow_their_formulas():
    counts = np.array([900, 100])
    np.testing.assert_allclose(class_weights(counts, loss="weighted_cross_entropy", beta=0.99), [0.2, 1.8])
    effective = (1 - 0.99) / (1 - 0.99 ** counts.astype(float))
    np.testing.assert_allclose(class_weights(counts, loss="class_balanced", beta=0.99), effective * 2 / effective.sum())
    for loss in ("focal", "cross_entropy"):
        np.testing.assert_allclose(class_weights(counts, loss=loss, beta=0.99), [1.0, 1.0])


def test_without_pytorch_the_deep_space_and_estimators_say_how_to_install_it(monkeypatch):
    monkeypatch.setattr(registry, "EXTRAS", {**registry.EXTRAS, "deep": ("no_such_module_for_this_test", "PyTorch")})
    with pytest.raises(SpaceError) as raised:
        load_space("deep")
    message = str(raised.value)
    assert "models.torch_mlp: PyTorch is not installed" in message
    assert "resamplers.cgan" in message and "pip install 'strategy-search[deep]'" in message
    with pytest.raises(MissingExtraError, match="strategy-search\\[deep\\]"):
        TorchMLPClassifier().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    load_space("default")  # the core spaces need no extra


def test_without_pytorch_spaces_still_lists_everything_and_says_what_deep_needs(monkeypatch, capsys):
    monkeypatch.setattr(registry, "EXTRAS", {**registry.EXTRAS, "deep": ("no_such_module_for_this_test", "PyTorch")})
    assert main(["spaces"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "deep: not available: PyTorch is not installed" in out and "strategy-search[deep]" in out
    assert "default:" in out and "torch_mlp" in out
    assert main(["validate", str(DATA.parent / "deep.yaml")]) == 2
    err = capsys.readouterr().err
    assert "PyTorch is not installed" in err and "pip install 'strategy-search[deep]'" in err


def test_pytorch_is_not_imported_by_the_package_nor_by_building_the_components():
    code = (
        "import sys, strategy_search, strategy_search.components.models, strategy_search.components.resamplers\n"
        "from strategy_search.estimators.classifiers.torch_mlp import TorchMLPClassifier\n"
        "TorchMLPClassifier()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@needs_torch
def test_the_mlp_ranks_the_rare_class_and_keeps_the_best_epochs_weights(yeast5):
    X, y = yeast5
    X = (X - X.mean()) / X.std()
    train, test = np.arange(len(X)) % 3 != 0, np.arange(len(X)) % 3 == 0
    model = TorchMLPClassifier(loss="focal", max_epochs=60, patience=5, random_state=0)
    model.fit(X[train], y[train])
    assert average_precision_score(y[test], model.predict_proba(X[test])[:, 1]) > 0.4  # 3 % positives
    curve = model.validation_loss_curve_
    assert len(curve) == model.n_epochs_ <= 60
    if model.n_epochs_ < 60:  # stopped early: the last `patience` epochs brought no better loss
        assert min(curve[-5:]) >= min(curve[:-5])
    again = TorchMLPClassifier(loss="focal", max_epochs=60, patience=5, random_state=0).fit(X[train], y[train])
    np.testing.assert_array_equal(model.predict_proba(X[test]), again.predict_proba(X[test]))


@needs_torch
def test_the_gan_keeps_real_categories_and_leaves_no_pytorch_in_the_fitted_sampler():
    import skops.io as sio

    from strategy_search.estimators.samplers.cgan import ConditionalGANOverSampler
    from strategy_search.safe_model import untrusted_types

    rng = np.random.default_rng(0)
    y = (rng.random(500) < 0.1).astype(int)
    category = np.where(y == 1, rng.choice([2.0, 5.0], 500), rng.choice([0.0, 1.0, 2.0], 500))
    X = np.column_stack([category, rng.normal(3 * y, 1.0), rng.normal(0, 1, 500)])
    sampler = ConditionalGANOverSampler(categorical_features=[0], n_steps=200, random_state=0)
    X_new, y_new = sampler.fit_resample(X, y)
    made = X_new[len(X) :]
    assert len(made) == (y == 0).sum() - (y == 1).sum() and set(y_new[len(X) :]) == {1}
    assert set(made[:, 0]) <= {2.0, 5.0}, "categories of minority rows only, never interpolated"
    assert abs(made[:, 1].mean() - X[y == 1, 1].mean()) < 1.5  # near the minority's rows, not the majority's
    assert untrusted_types(sio.dumps(sampler)) == []
    assert not any("torch" in type(v).__module__ for v in vars(sampler).values())


@needs_torch
def test_a_deep_search_exports_and_predicts_in_a_fresh_process(tmp_path):
    space = {
        "resamplers": {"none": {}, "cgan": {"n_steps": 60}},
        "models": {
            "torch_mlp": {"max_epochs": 15, "loss": {"type": "categorical", "choices": ["focal", "class_balanced"]}}
        },
    }
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(space))
    config = {
        "name": "deep-tiny",
        "data": {"path": str(DATA / "haberman.csv"), "target": "target"},
        "search": {"space": "space.yaml", "n_trials": 3, "seed": 0, "n_jobs": 1},
        "cv": {"folds": 3, "repeats": 1},
    }
    path = tmp_path / "deep.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["run", str(path)]) == 0
    assert main(["export", str(path), "--out", str(tmp_path / "model")]) == 0
    meta = yaml.safe_load((tmp_path / "model" / "strategy.yaml").read_text())
    assert "torch_mlp" in str(meta["strategy"])
    rows = tmp_path / "rows.csv"
    pd.read_csv(DATA / "haberman.csv").drop(columns="target").to_csv(rows, index=False)
    predicted = subprocess.run(
        [
            sys.executable,
            "-m",
            "strategy_search",
            "predict",
            str(tmp_path / "model"),
            str(rows),
            "--out",
            str(tmp_path / "p.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr
    scores = pd.read_csv(tmp_path / "p.csv")["score"]
    assert scores.between(0, 1).all() and scores.std() > 0
    assert not list(Path(tmp_path / "model").rglob("*.pt")), "weights are NumPy arrays in the skops file"
