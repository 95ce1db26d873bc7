"""The shape of the code: single sources (the slot table, the settings definition) reach every
place that lists them, the package has no import cycle, and importing it stays light."""

from __future__ import annotations

import ast
import dataclasses
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from strategy_search import slots
from strategy_search.components.registry import Component, Registry
from strategy_search.data import DataProfile, FeatureSchema
from strategy_search.errors import ConfigError, SettingsError, StrategyError
from strategy_search.model_card import model_card
from strategy_search.run_contents import trial_params
from strategy_search.settings import SearchSettings, setting
from strategy_search.space import load_space
from strategy_search.strategy import Strategy, build_pipeline

PACKAGE = Path(__file__).resolve().parent.parent / "strategy_search"


# -- one slot table ---------------------------------------------------------------------------
@pytest.fixture
def calibration_slot(monkeypatch):
    """A fifth slot, registered the way a real one would be: one registry, one table entry."""
    from sklearn.preprocessing import StandardScaler

    registry: Registry = Registry("calibration", tags={})
    registry.register(Component("none", lambda c: None, "No calibration."))
    registry.register(Component("scaled", lambda c: StandardScaler(), "A stand-in with a real parameter."))
    slot = slots.Slot("calibration", "calibrations", registry, "none", "{key} calibration")
    monkeypatch.setattr(slots, "SLOTS", (*slots.SLOTS, slot))
    return slot


SPACE_WITH_CALIBRATION = {
    "models": {"lightgbm": {"n_estimators": 20}},
    "calibrations": {"none": {}, "scaled": {"with_mean": {"type": "categorical", "choices": [True, False]}}},
    "portfolio": [
        {"name": "scaled", "model": "lightgbm", "calibration": "scaled", "calibration_params": {"with_mean": False}}
    ],
}


def _trial_with(params: dict, strategy: Strategy) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        params=params,
        distributions={k: optuna.distributions.CategoricalDistribution([v]) for k, v in params.items()},
        value=0.5,
        user_attrs={"strategy": strategy.to_dict()},
    )


def test_a_new_slot_reaches_the_space_the_strategy_mlflow_and_the_model_card(calibration_slot):
    space = load_space(SPACE_WITH_CALIBRATION)
    assert space.keys("calibration") == ["none", "scaled"]
    # The space asks Optuna about the new slot and its namespaced parameter...
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    asked = set()
    for _ in range(12):
        trial = study.ask()
        space.suggest(trial, has_categorical=False)
        asked |= set(trial.params)
        study.tell(trial, 0.5)
    assert {"calibration", "calibration.scaled.with_mean"} <= asked
    # ...the portfolio speaks it, and a strategy stores, reads and describes it.
    entry = space.portfolio_for(has_categorical=False)[0]
    chosen = entry.strategy()
    assert chosen.key("calibration") == "scaled"
    assert Strategy.from_dict(chosen.to_dict()) == chosen
    assert chosen.describe() == "lightgbm + scaled calibration"
    # MLflow params of a trial and the model card's strategy table list it.
    params = trial_params(_trial_with({"calibration": "scaled"}, chosen))
    assert params["calibration"] == "scaled" and params["calibration.scaled.with_mean"] is False
    profile = DataProfile(
        n_rows=10,
        n_positive=2,
        schema=FeatureSchema(numeric=("a",)),
        positive_label=1,
        negative_label=0,
        class_counts={"1": 2, "0": 8},
    )
    meta = {"created_at": "now", "cv_metrics": {"mean": {}, "std": {}}, "versions": {}, "source": {}}
    import pandas as pd

    card = model_card(
        meta=meta, strategy=chosen, profile=profile, X=pd.DataFrame({"a": range(10)}), model_dir=Path("m")
    )
    assert "| calibration | `scaled` | with_mean=False |" in card
    # Building it is refused by name until build_pipeline learns the slot's step.
    with pytest.raises(StrategyError, match="slot 'calibration' has no build step"):
        build_pipeline(chosen, FeatureSchema(numeric=("a",)))


def test_a_strategy_stored_before_a_slot_existed_takes_its_neutral_choice(calibration_slot):
    old = {"model": "lightgbm", "resampler": "smote", "model_params": {"n_estimators": 5}}
    strategy = Strategy.from_dict(old)
    assert strategy.key("calibration") == "none" and strategy.key("weighting") == "none"
    build_pipeline(strategy, FeatureSchema(numeric=("a",)))  # the neutral choice builds as before


def test_a_space_file_section_for_an_unknown_slot_is_an_error():
    with pytest.raises(Exception, match="calibrations: unknown section"):
        load_space({"models": {"lightgbm": {}}, "calibrations": {"none": {}}})


# -- one settings definition ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True, kw_only=True)
class _WithPatience(SearchSettings):
    patience: int = setting(
        3,
        doc="Trials without improvement before stopping.",
        allowed="an integer >= 1",
        check=lambda v: v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else _bad(),
        config="search.patience",
    )


def _bad():
    raise ValueError("bad")


def test_a_new_setting_reaches_the_checks_mlflow_and_the_config():
    settings = _WithPatience.create(patience=7, space="fast")
    assert settings.as_params()["patience"] == 7
    assert _WithPatience.create().patience == 3
    with pytest.raises(SettingsError, match=r"patience must be an integer >= 1; got 0"):
        _WithPatience.create(patience=0)
    # The config's `search` section is derived from the same fields, with their checks and texts.
    from strategy_search import config as config_module

    section = config_module._settings_section(
        "search", config_module._SearchSection, own_checks=("space",), settings=_WithPatience
    )
    assert section.model_validate({"patience": 5}).patience == 5
    with pytest.raises(Exception) as raised:
        section.model_validate({"patience": "soon"})
    assert "patience" in str(raised.value)
    assert section.model_fields["patience"].json_schema_extra == {"allowed": "an integer >= 1"}


def test_every_setting_is_a_config_key_and_an_mlflow_param(tmp_path):
    from strategy_search.config import load_config

    data = tmp_path / "t.csv"
    data.write_text("a,target\n" + "".join(f"{i},{int(i % 4 == 0)}\n" for i in range(20)))
    keys = [dataclasses.fields(SearchSettings)]
    lines = [
        "name: all",
        "data: {path: t.csv, target: target}",
        "search:",
        "  space: fast",
        "  n_trials: 3",
        "  timeout: 9.5",
        "  seed: 4",
        "  metric: [pr_auc, f1]",
        "  threshold_folds: 2",
        "  threshold: recall>=0.8",
        "  n_jobs: 1",
        "  pruning: false",
        "  ensemble_size: 2",
        "  heartbeat_interval: 5",
        "  fidelity: off",
        "  expensive_row_limit: 5000",
        "  answer: refit",
        "  calibration: none",
        "cv: {folds: 3, repeats: 2, gap: 7}",
    ]
    (tmp_path / "c.yaml").write_text("\n".join(lines) + "\n")
    settings = load_config(tmp_path / "c.yaml").settings()
    params = settings.as_params()
    assert params == {
        "space": "fast",
        "metric": ["pr_auc", "f1"],
        "n_trials": 3,
        "timeout": 9.5,
        "seed": 4,
        "cv_folds": 3,
        "cv_repeats": 2,
        "cv_gap": 7,
        "threshold_folds": 2,
        "n_jobs": 1,
        "pruning": False,
        "ensemble_size": 2,
        "answer": "refit",
        "calibration": "none",
        "threshold": "recall>=0.8",
        "heartbeat_interval": 5,
        "fidelity": "off",
        "expensive_row_limit": 5000,
        "primary_metric": "pr_auc",
    }
    assert {f.name for f in keys[0]} <= set(params)
    (tmp_path / "c.yaml").write_text("\n".join(lines[:2]) + "\nsearch: {pruning: maybe, threshold_folds: -1}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "c.yaml")
    assert dict(raised.value.errors) == {
        "search.pruning": "got 'maybe'; must be true or false",
        "search.threshold_folds": "got -1; must be an integer >= 0",
    }


# -- imports ------------------------------------------------------------------------------------
def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """Every module of ``modules`` a file names in an import (top level, inside functions, and
    under ``if TYPE_CHECKING:``: a cycle that only type checkers see is still a cycle of the
    design, which it hides).

    ``from package import submodule`` depends on the submodule; ``from package import name``
    on the package's ``__init__``. The implicit run of parent ``__init__`` files that every
    import of a submodule causes is not counted: it would make any package that re-exports its
    submodules look cyclic, whereas what breaks is a module importing back, by name, from a
    package that is still initialising (the registry that lived in ``components/__init__``)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in modules else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {t for t in _imports(ast.parse(path.read_text()), set(files)) if t in files and t != name}
        for name, path in files.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_package_has_no_import_cycle():
    graph = _graph()
    assert graph.get("strategy_search.slots")
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


def test_type_checking_imports_count_as_imports():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from strategy_search.result import X\n")
    assert "strategy_search.result" in _imports(tree, {"strategy_search.result"})


def test_no_module_guards_an_in_package_import_behind_type_checking():
    guarded = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                names = [n.module or "" for n in ast.walk(node) if isinstance(n, ast.ImportFrom)]
                guarded += [f"{path.name}: {m}" for m in names if m.startswith("strategy_search")]
    assert not guarded


# Small modules and functions (DEVELOPERS: one job each): the limits the code is held to.
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_SEARCH_LINES = 600, 60, 300


def test_modules_and_functions_stay_small():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{path.relative_to(PACKAGE)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}: {length} lines")
    assert not too_long
    assert len((PACKAGE / "search.py").read_text().splitlines()) <= MAX_SEARCH_LINES


def test_trial_attributes_are_named_only_in_the_trial_record_module():
    import re

    pattern = re.compile(r"user_attrs\[|set_user_attr\(\"")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in PACKAGE.rglob("*.py")
        if path.name != "trial_record.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_tracking_depends_on_the_model_format_never_the_reverse():
    graph = _graph()
    assert "strategy_search.mlflow_model" in graph["strategy_search.tracking"]
    for module in ("strategy_search.mlflow_model", "strategy_search.model_folder", "strategy_search.export"):
        assert "strategy_search.tracking" not in graph[module], module


def test_importing_the_package_loads_neither_mlflow_nor_matplotlib():
    code = (
        "import sys, strategy_search, strategy_search.config, strategy_search.export; "
        "print(sorted(m for m in ('mlflow', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _readme_layers() -> dict[str, int]:
    """Module -> row of the README's architecture table (``estimators/*`` covers a folder)."""
    text = (PACKAGE.parent / "README.md").read_text()
    section = text[text.index("## Architecture") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else len(section)]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    layers: dict[str, int] = {}
    modules = set(_graph())
    for row_number, row in enumerate(rows):
        for name in row.split("|")[1].replace("`", "").split(","):
            name = name.strip()
            prefix = "strategy_search." + name.replace("/*", ".").replace("/", ".")
            matched = [m for m in modules if m == prefix or (name.endswith("/*") and m.startswith(prefix))]
            assert matched, f"README names {name!r}, which is no module"
            layers.update(dict.fromkeys(matched, row_number))
    return layers


def test_the_readme_architecture_table_matches_the_imports():
    graph, layers = _graph(), _readme_layers()
    package_roots = {"strategy_search", "strategy_search.components", "strategy_search.estimators"}
    missing = sorted(set(graph) - set(layers) - package_roots)
    assert not missing, f"modules missing from README's architecture table: {missing}"
    upward = [
        f"{module} (row {layers[module]}) imports {target} (row {layers[target]})"
        for module, targets in graph.items()
        for target in targets
        if module in layers and target in layers and layers[target] > layers[module]
    ]
    assert not upward, "the table says each module imports only modules above it: " + "; ".join(upward)
