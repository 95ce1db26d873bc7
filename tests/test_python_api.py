"""The Python API as a notebook user and an IDE see it: ``search()``'s keywords are the
settings (one definition), its docstring lists them as parameters, a stored search reopens as
the result it finished with, and the result says what it holds."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

import strategy_search
from strategy_search.errors import SettingsError, UsageError
from strategy_search.search import search
from strategy_search.settings import SearchSettings

FAST = {"space": "fast", "cv_folds": 3, "n_jobs": 1}


def _setting_default(f: dataclasses.Field) -> object:
    return list(f.default) if isinstance(f.default, tuple) else f.default


def test_search_takes_every_setting_as_an_explicit_keyword_with_its_default():
    parameters = inspect.signature(search).parameters
    for f in dataclasses.fields(SearchSettings):
        assert f.name in parameters, f.name
        parameter = parameters[f.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        default = list(parameter.default) if isinstance(parameter.default, tuple) else parameter.default
        assert default == _setting_default(f), f.name
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def test_the_docstring_lists_every_argument_as_a_parameter_at_one_indent():
    doc = inspect.getdoc(search)
    assert doc is not None
    section = doc[doc.index("Parameters\n----------\n") : doc.index("Returns\n-------")]
    lines = section.splitlines()[2:]
    names = [line.split(" : ")[0] for line in lines if line and not line.startswith(" ")]
    assert names == list(inspect.signature(search).parameters)
    assert "X : pandas.DataFrame" in lines and "space : optional" in lines
    for i, line in enumerate(lines):
        if line and not line.startswith(" "):  # each parameter's text follows it, indented once
            assert lines[i + 1].startswith("    ") and not lines[i + 1].startswith("     "), line


def test_experiment_without_tracking_uri_is_refused_before_any_work(small_numeric):
    X, y = small_numeric
    with pytest.raises(SettingsError, match="tracking_uri"):
        search(X, y, n_trials=1, experiment="mine")


def test_the_result_says_what_it_holds_and_predicts_with_one_fitted_model(small_numeric, tmp_path):
    X, y = small_numeric
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = search(X, y, n_trials=3, seed=0, storage=storage, study_name="s", **FAST)
    text = repr(result)
    assert "study='s'" in text and "pr_auc" in text and "3 complete" in text
    assert result.model is result.model and result.best_pipeline() is result.model
    assert result.predict_proba(X.head(4)).shape == (4, 2)
    assert set(result.predict(X.head(4))) <= {0, 1}
    # After a kernel restart: the same answer from the stored study alone.
    again = strategy_search.load_search(storage=storage, X=X, y=y, settings=FAST)
    assert again.answer_trials == result.answer_trials and again.best_scores == result.best_scores
    assert again.summary == result.summary


def test_reopening_a_search_says_what_it_needs(small_numeric, tmp_path):
    X, y = small_numeric
    with pytest.raises(UsageError, match="config path, or storage"):
        strategy_search.load_search(X=X, y=y)


def test_one_summary_is_what_the_model_card_and_the_report_show(small_numeric, tmp_path):
    from strategy_search.report import build_report
    from strategy_search.summary import SearchSummary

    X, y = small_numeric
    result = search(X, y, n_trials=4, seed=1, **FAST)
    summary = result.summary
    assert summary.counts == {"complete": 4, "pruned": 0, "failed": 0, "running": 0}
    assert SearchSummary.from_dict(summary.to_dict()) == summary
    if summary.members:
        assert abs(sum(m.share for m in summary.members) - 1) < 1e-9  # shares, the one form of weights
    card = (result.export(tmp_path / "model") / "model_card.md").read_text()
    assert summary.markdown() in card
    assert f"{summary.counts_text()};" in build_report(result, title="t")
    tags = summary.tags()
    assert tags["answer_trial_numbers"] == ",".join(map(str, result.answer_trials))


def test_a_storage_that_cannot_be_written_is_named_before_any_work(small_numeric, tmp_path):
    from strategy_search.errors import StorageError

    X, y = small_numeric
    missing = tmp_path / "no-such-folder" / "optuna.db"
    with pytest.raises(StorageError, match=rf"the folder {missing.parent} for the store optuna.db does not exist"):
        strategy_search.search(X, y, n_trials=1, space="fast", storage=f"sqlite:///{missing}")
    assert not missing.parent.exists()
