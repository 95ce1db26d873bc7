"""Run configs: loading, overrides, collected errors, data checks, and the shipped YAML files."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import yaml_params

from strategy_search.config import ConfigError, load_config, load_table, validate_config
from strategy_search.space import load_space

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = sorted((ROOT / "experiments").glob("*.y*ml"))
SPACES = sorted([*(ROOT / "search_spaces").glob("*.y*ml"), *(ROOT / "benchmarks" / "spaces").glob("*.y*ml")])


def write_data(folder: Path, name: str = "table.csv", *, classes: int = 2) -> Path:
    labels = [i % classes for i in range(12)]
    table = pd.DataFrame({"a": range(12), "b": [0.5 * i for i in range(12)], "c": list("xyz") * 4, "target": labels})
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False) if path.suffix == ".csv" else table.to_parquet(path)
    return path


def write_config(folder: Path, text: str, name: str = "run.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


VALID = """
name: demo
data:
  path: data/table.csv
  target: target
  drop: [c]
search:
  space: fast
  n_trials: 5
cv: {folds: 3}
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    write_data(tmp_path / "data")
    return write_config(tmp_path, VALID)


def test_valid_config_resolves_paths_relative_to_the_config_file(config_path: Path, monkeypatch):
    monkeypatch.chdir(config_path.anchor)  # the working directory must not matter
    config = load_config(config_path)
    folder = config_path.parent.resolve()
    assert config.source_path == config_path.resolve()
    assert config.raw_text == VALID
    assert config.data.path == folder / "data" / "table.csv"
    assert config.export.dir == folder / "artifacts" / "demo"
    assert config.experiment_name == "demo"
    assert config.metrics == ("pr_auc",)
    # A relative sqlite path starts at the config's folder, like every path in it.
    assert config.storage_url == f"sqlite:///{folder / 'optuna.db'}"
    assert config.tracking_uri == f"sqlite:///{folder / 'mlflow.db'}"
    assert config.search_kwargs() == {
        "space": "fast",
        "n_trials": 5,
        "timeout": None,
        "seed": 0,
        "cv_folds": 3,
        "cv_repeats": 1,
        "metric": ("pr_auc",),
        "n_jobs": None,
        "ensemble_size": 8,
        "answer": "bagged",
        "calibration": "auto",
        "threshold_folds": 1,
        "pruning": True,
        "threshold": "best_f1",
        "heartbeat_interval": 30,
        "fidelity": "auto",
        "expensive_row_limit": 30_000,
    }
    X, y = load_table(config)
    assert list(X.columns) == ["a", "b"] and y.name == "target" and len(X) == 12


def test_space_file_path_is_resolved_and_validated(tmp_path: Path):
    write_data(tmp_path)
    (tmp_path / "spaces").mkdir()
    (tmp_path / "spaces" / "mine.yaml").write_text("models:\n  logistic_regression: {}\n")
    path = write_config(
        tmp_path, "name: s\ndata: {path: table.csv, target: target}\nsearch: {space: spaces/mine.yaml}\n"
    )
    assert load_config(path).search.space == str((tmp_path / "spaces" / "mine.yaml").resolve())

    (tmp_path / "spaces" / "mine.yaml").write_text("models:\n  logistic_regression: {not_a_param: 1}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert [p for p, _ in raised.value.errors] == ["search.space.models.logistic_regression.not_a_param"]


def test_overrides_parse_values_as_yaml(config_path: Path):
    config = load_config(
        config_path,
        overrides=[
            "search.n_trials=8",
            "search.metric=[pr_auc,f1]",
            "tracking.experiment=exp-1",
            "export.dir=out",
        ],
    )
    assert config.search.n_trials == 8
    assert config.metrics == ("pr_auc", "f1")
    assert config.search_kwargs()["metric"] == ("pr_auc", "f1")
    assert config.experiment_name == "exp-1"
    assert config.export.dir == config_path.parent.resolve() / "out"


def test_malformed_overrides_are_collected_with_other_errors(config_path: Path):
    with pytest.raises(ConfigError) as raised:
        load_config(config_path, overrides=["search.n_trials", "nosuch.key=1", "cv.folds=1"])
    assert [p for p, _ in raised.value.errors] == ["--set", "nosuch.key", "cv.folds"]


def test_all_mistakes_are_reported_at_once(tmp_path: Path):
    write_data(tmp_path)
    path = write_config(
        tmp_path,
        """
name: demo
data: {path: table.csv, target: target}
search:
  metrk: pr_auc
  n_trials: -3
cv: {folds: five}
""",
    )
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    errors = dict(raised.value.errors)
    assert set(errors) == {"search.metrk", "search.n_trials", "cv.folds"}
    assert errors["search.n_trials"] == "got -3; must be an integer >= 1 or null"
    assert errors["cv.folds"] == "got 'five'; must be an integer >= 2"
    assert "unknown key" in errors["search.metrk"] and "metric" in errors["search.metrk"]
    text = str(raised.value)
    assert str(path.resolve()) in text.splitlines()[0]
    assert "  search.n_trials: got -3; must be an integer >= 1 or null" in text.splitlines()


def test_uris_take_credentials_from_the_environment(config_path: Path, monkeypatch):
    from strategy_search.masking import mask_secrets

    monkeypatch.setenv("DB_PASS", "p@ss:w/rd%1")  # any name; URI-special characters
    config = load_config(config_path, overrides=["search.storage=postgresql://bob:${DB_PASS}@db/optuna"])
    assert config.storage_url == "postgresql://bob:p%40ss%3Aw%2Frd%251@db/optuna"
    assert "p@ss" not in mask_secrets("login failed for p@ss:w/rd%1 at " + config.storage_url)
    monkeypatch.delenv("DB_PASS")
    with pytest.raises(ConfigError, match=r"search.storage: environment variable\(s\) \['DB_PASS'\]"):
        load_config(config_path, overrides=["search.storage=postgresql://bob:${DB_PASS}@db/optuna"])


def test_python_object_tags_are_refused(tmp_path: Path):
    path = write_config(tmp_path, "name: x\ndata: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="python/object"):
        load_config(path)


@pytest.mark.parametrize("text, expected", [(None, "not found"), ("", "empty"), ("name: [", "not valid YAML")])
def test_unusable_files_name_the_path(tmp_path: Path, text, expected):
    path = tmp_path / "run.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=expected) as raised:
        load_config(path)
    assert str(path) in str(raised.value)


def test_load_table_missing_file(tmp_path: Path):
    # Found when the config is loaded, with its other mistakes; load_table would say the same.
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, "name: x\ndata: {path: nothere.csv, target: target}\n"))
    [(key, message)] = raised.value.errors
    assert key == "data.path" and "nothere.csv" in message and "not found" in message


def test_load_table_wrong_extension(tmp_path: Path):
    (tmp_path / "table.txt").write_text("a,target\n1,0\n")
    with pytest.raises(ConfigError) as raised:
        load_config(write_config(tmp_path, "name: x\ndata: {path: table.txt, target: target}\n"))
    [(key, message)] = raised.value.errors
    assert key == "data.path" and ".csv" in message and ".parquet" in message


def test_load_table_missing_target_lists_the_columns(tmp_path: Path):
    write_data(tmp_path)
    config = load_config(write_config(tmp_path, "name: x\ndata: {path: table.csv, target: label}\n"))
    with pytest.raises(ConfigError) as raised:
        load_table(config)
    [(key, message)] = raised.value.errors
    assert key == "data.target" and "'label'" in message and "a, b, c, target" in message


def test_load_table_reads_parquet(tmp_path: Path):
    write_data(tmp_path, "table.parquet")
    config = load_config(write_config(tmp_path, "name: x\ndata: {path: table.parquet, target: target}\n"))
    X, y = load_table(config)
    assert list(X.columns) == ["a", "b", "c"] and len(y) == 12


def test_validate_refuses_a_positive_label_for_a_three_class_target(tmp_path: Path):
    write_data(tmp_path, classes=3)
    path = write_config(tmp_path, "name: x\ndata: {path: table.csv, target: target, positive_label: 7}\n")
    errors = dict(validate_config(path))
    assert "data.target" not in errors  # three classes are searched, each against the others
    message = errors["data.positive_label"]
    assert "has 3 classes" in message and "applies to two-class targets" in message
    assert "0: 4" in message and "2: 4" in message and "7" in message


def test_validate_refuses_a_one_sided_threshold_rule_for_a_three_class_target(tmp_path: Path):
    write_data(tmp_path, classes=3)
    path = write_config(
        tmp_path, "name: x\ndata: {path: table.csv, target: target}\nsearch: {threshold: 'precision>=0.9'}\n"
    )
    errors = dict(validate_config(path))
    assert "no single positive class" in errors["search.threshold"]


def test_validate_returns_config_errors_without_raising(tmp_path: Path):
    assert validate_config(tmp_path / "absent.yaml")[0][1].startswith("config file not found")
    assert [p for p, _ in validate_config(write_config(tmp_path, "name: x\n"))] == ["data"]


def _generated_fraud_table(folder: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_fraud_data", ROOT / "experiments" / "make_fraud_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (folder / "data").mkdir()
    module.make_fraud_table(2_000).to_parquet(folder / "data" / "fraud-1m.parquet")


# Configs whose data a script generates (too big to ship): validated beside a small version of it.
GENERATED = {"fraud.yaml": _generated_fraud_table}


@pytest.mark.parametrize("path", yaml_params(CONFIGS))
def test_shipped_configs_validate(path: Path, tmp_path: Path):
    if path.name in GENERATED:
        GENERATED[path.name](tmp_path)
        path = Path(shutil.copy(path, tmp_path / path.name))
    assert validate_config(path) == []


@pytest.mark.parametrize("path", yaml_params(SPACES))
def test_shipped_spaces_load(path: Path):
    load_space(path)


def test_shipped_files_are_found():
    assert len(CONFIGS) >= 3 and len(SPACES) >= 2
