from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "experiments" / "data"


def load_keel(name: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(DATA / f"{name}.csv")
    return frame.drop(columns="target"), frame["target"]


@pytest.fixture(scope="session")
def yeast5() -> tuple[pd.DataFrame, pd.Series]:
    return load_keel("yeast5")


@pytest.fixture(scope="session")
def small_numeric() -> tuple[pd.DataFrame, pd.Series]:
    """300 rows, 10 % positives, some NaN: small enough to fit every component quickly."""
    rng = np.random.default_rng(0)
    n = 300
    y = (rng.random(n) < 0.1).astype(int)
    X = pd.DataFrame(rng.normal(size=(n, 5)) + y[:, None] * 1.5, columns=[f"x{i}" for i in range(5)])
    X.iloc[rng.choice(n, 20, replace=False), 1] = np.nan
    return X, pd.Series(y, name="target")


@pytest.fixture(scope="session")
def small_mixed(small_numeric) -> tuple[pd.DataFrame, pd.Series]:
    """small_numeric plus a string column (with a missing value) that carries signal."""
    X, y = small_numeric
    X = X.copy()
    rng = np.random.default_rng(1)
    X["colour"] = np.where(
        y.to_numpy() == 1, rng.choice(["red", "blue"], len(y)), rng.choice(["green", "blue"], len(y))
    )
    X.loc[3, "colour"] = None
    return X, y


def extras_needed(yaml_path: Path) -> set[str]:
    """The optional extras a shipped space (or config, through its space) needs."""
    import yaml

    from strategy_search.slots import all_slots

    data = yaml.safe_load(yaml_path.read_text()) or {}
    space = (data.get("search") or {}).get("space") if "search" in data else None
    if isinstance(space, str) and not space.endswith((".yaml", ".yml")):
        data = yaml.safe_load((ROOT / "search_spaces" / f"{space}.yaml").read_text()) or {}
    needed = set()
    for slot in all_slots():
        for key in data.get(slot.section) or {}:
            if key in slot.registry:
                extra = slot.component(key).tag("needs_extra", None)
                needed |= {extra} if extra else set()
    return needed


def without_extra(extra: str) -> str | None:
    """Why tests of ``extra``'s components are skipped here; None when it is installed."""
    from strategy_search.components.registry import missing_extra

    missing = missing_extra(extra)
    return None if missing is None else f"the optional {extra!r} extra is not installed ({missing})"


def skip_without_extras(extras: set[str] | list[str]) -> list[pytest.MarkDecorator]:
    """Marks that skip a test, with the reason, where one of ``extras`` is not installed."""
    reasons = [r for r in map(without_extra, sorted(extras)) if r]
    return [pytest.mark.skip(reason="; ".join(reasons))] if reasons else []


def yaml_params(paths: list[Path]) -> list[Any]:
    """``paths`` as test parameters, each skipped where an extra it needs is missing."""
    return [pytest.param(p, id=p.name, marks=skip_without_extras(extras_needed(p))) for p in paths]
