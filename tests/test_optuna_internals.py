"""Each use of Optuna's private API (strategy_search.optuna_internals) still does what the
engine needs on the installed Optuna, and that Optuna is in the range pyproject.toml admits:
a new release that moves an internal fails here, by name, not somewhere inside a search."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import optuna
import pytest
from packaging.version import Version

from strategy_search import optuna_internals as internals

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_the_installed_optuna_is_in_the_tested_range():
    spec = re.search(r'"optuna(>=[^"]+)"', PYPROJECT.read_text())
    assert spec, "pyproject.toml gives optuna no range"
    low, high = re.fullmatch(r">=([\d.]+),<([\d.]+)", spec.group(1)).groups()
    assert Version(low) <= Version(metadata.version("optuna")) < Version(high)


@pytest.fixture(params=["memory", "sqlite"])
def study(request, tmp_path):
    storage = None if request.param == "memory" else f"sqlite:///{tmp_path / 'o.db'}"
    return optuna.create_study(storage=storage, study_name="s" if storage else None)


def test_the_storage_and_its_backend_are_reached(study):
    storage = internals.storage_of(study)
    assert isinstance(storage, optuna.storages.BaseStorage)
    backend = internals.backend_of(storage)
    url = getattr(backend, "url", None)
    assert url is None or url.startswith("sqlite:///")


def test_stop_works_inside_the_loop_and_is_seen(study):
    with pytest.raises(RuntimeError):
        study.stop()  # outside an optimisation loop Optuna refuses it
    with internals.optimize_loop(study):
        assert not internals.stop_requested(study)
        study.stop()
        assert internals.stop_requested(study)
    with internals.optimize_loop(study):
        assert not internals.stop_requested(study)  # a new loop starts unstopped


def test_a_trial_heartbeat_starts_and_the_trial_state_is_read(study):
    assert not internals.heartbeat_enabled(study)  # only database servers beat
    trial = study.ask()
    beat = internals.start_heartbeat(study, trial)
    assert internals.still_running(study, trial)
    beat.join()
    study.tell(trial, 0.5)
    assert not internals.still_running(study, trial)


def test_a_heartbeat_storage_beats(tmp_path):
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'h.db'}", heartbeat_interval=60)
    study = optuna.create_study(storage=storage)
    assert internals.heartbeat_enabled(study)
    trial = study.ask()
    beat = internals.start_heartbeat(study, trial)
    beat.join()
    assert internals.still_running(study, trial)


def test_a_queued_trials_parameters_are_read_before_it_draws_them(study):
    study.enqueue_trial({"x": 0.25, "model": "lightgbm"})
    trial = study.ask()
    frozen = study.trials[trial.number]
    assert internals.queued_params(frozen) == {"x": 0.25, "model": "lightgbm"}  # nothing drawn yet
    assert frozen.params == {}
    other = study.ask()
    assert internals.queued_params(study.trials[other.number]) == {}
