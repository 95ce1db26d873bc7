"""Every bad-input row of the reliability table, fed through the real CLI: exit code, message,
no traceback, and no study storage created when the input is refused.

The same cases write ``docs/bad-input.md``; a test checks that each message shown there is the
one the CLI prints today. After changing a message, regenerate the page with
``python tests/test_bad_input.py``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from strategy_search.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "bad-input.md"
MESSAGE_PREFIXES = ("error:", "warning:", "note:", "data:")


# -- inputs -------------------------------------------------------------------------------------
def frame(n: int = 120, positives: int | None = None, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(int) if positives is None else np.r_[np.ones(positives), np.zeros(n - positives)]
    return pd.DataFrame({"a": rng.normal(size=n) + y, "b": rng.normal(size=n), "target": y.astype(int)})


def config(
    folder: Path, data: str = "table.csv", space: str = "fast", n_trials: int = 2, folds: int = 3, **data_keys
) -> list[str]:
    """Write config.yaml for ``data`` and return the ``run`` command line."""
    content = {
        "name": "bad-input",
        "data": {"path": data, "target": "target", **data_keys},
        "search": {"space": space, "n_trials": n_trials, "n_jobs": 1, "seed": 0},
        "cv": {"folds": folds},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(content))
    return ["run", str(folder / "config.yaml")]


def with_table(table: pd.DataFrame, **config_keys) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        table.to_csv(folder / "table.csv", index=False)
        return config(folder, **config_keys)

    return make


def with_file(name: str, content: bytes) -> Callable[[Path], list[str]]:
    def make(folder: Path) -> list[str]:
        (folder / name).write_bytes(content)
        return config(folder, data=name)

    return make


def labels(values: tuple) -> pd.DataFrame:
    table = frame()
    table["target"] = np.where(table["target"] == 1, values[1], values[0])
    return table


def three_classes(single_row_class: bool = False) -> pd.DataFrame:
    table = frame()
    table.loc[:9, "target"] = 2
    if single_row_class:
        table.loc[10, "target"] = 7
    return table


def with_inf() -> pd.DataFrame:
    table = frame()
    table.loc[5, "b"] = np.inf
    table.loc[7, "a"] = -np.inf
    return table


def with_nan() -> pd.DataFrame:
    table = frame()
    table.loc[[1, 4, 9, 30, 31], "b"] = np.nan
    return table


def mixed(n: int = 120) -> pd.DataFrame:
    table = frame(n)
    rng = np.random.default_rng(3)
    table.insert(0, "customer_id", [f"C{i:05d}" for i in range(n)])
    table.insert(
        1, "colour", np.where(table["target"] == 1, rng.choice(["red", "blue"], n), rng.choice(["green", "blue"], n))
    )
    return table


def redundant() -> pd.DataFrame:
    table = frame()
    table.insert(0, "constant", 7)
    table.insert(1, "a_copy", table["a"])
    return pd.concat([table, table.head(3)], ignore_index=True)


def duplicate_columns(folder: Path) -> list[str]:
    # pandas would rename a repeated header on read ("a.1"); write the file by hand.
    rows = ["a,b,a,target"] + [f"{i % 7},{i % 5},{i % 3},{int(i % 5 == 0)}" for i in range(60)]
    (folder / "table.csv").write_text("\n".join(rows) + "\n")
    return config(folder)


def tiny_minority_for_smote(folder: Path) -> list[str]:
    space = {
        "resamplers": {"smote": {"k_neighbors": 5, "sampling_strategy": 0.5}},
        "models": {"logistic_regression": {}},
    }
    (folder / "smote_only.yaml").write_text(yaml.safe_dump(space))
    frame(60, positives=6).to_csv(folder / "table.csv", index=False)
    return config(folder, space="smote_only.yaml", n_trials=1)


def config_mistakes(folder: Path) -> list[str]:
    frame().to_csv(folder / "table.csv", index=False)
    space = {"models": {"lightgbm": {"num_leaves": {"type": "int", "low": 64, "high": 8}}}}
    (folder / "space.yaml").write_text(yaml.safe_dump(space))
    content = {
        "name": "bad-input",
        "data": {"path": "table.csv", "target": "target"},
        "serch": {"n_trials": 5},
        "search": {"space": "space.yaml", "n_trials": "many"},
        "cv": {"folds": 3},
    }
    (folder / "config.yaml").write_text(yaml.safe_dump(content))
    return ["run", str(folder / "config.yaml")]


def python_tag(folder: Path) -> list[str]:
    (folder / "config.yaml").write_text("name: !!python/object/apply:os.system ['echo owned']\n")
    return ["run", str(folder / "config.yaml")]


def stray_strings() -> pd.DataFrame:
    table = frame().astype({"b": object})
    table.loc[[3, 8, 13], "b"] = "abc"
    table.loc[[20, 21, 22, 23, 24], "b"] = "?"  # a missing marker by default (data.na_values)
    return table


def validating(make: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    def validate(folder: Path) -> list[str]:
        return ["validate", make(folder)[1]]

    return validate


def trailing_delimiter(folder: Path) -> list[str]:
    text = frame().to_csv(index=False)
    (folder / "table.csv").write_text("".join(line + ",\n" for line in text.splitlines()))
    return config(folder)


def semicolons(folder: Path) -> list[str]:
    frame().to_csv(folder / "table.csv", index=False, sep=";")
    return config(folder)


def gzip_named_csv(folder: Path) -> list[str]:
    frame().to_csv(folder / "table.csv", index=False, compression="gzip")
    return config(folder)


def with_dates() -> pd.DataFrame:
    table = frame()
    table.insert(0, "signed_up", pd.date_range("2024-01-05", periods=len(table)).strftime("%Y-%m-%d"))
    return table


def regression_target() -> pd.DataFrame:
    return frame().assign(target=np.round(np.random.default_rng(1).gamma(2.0, 10.0, 120), 2))


def many_classes() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200), "target": np.repeat(np.arange(50), 4)})


def target_only(folder: Path) -> list[str]:
    frame()[["target"]].to_csv(folder / "table.csv", index=False)
    return config(folder)


def with_cv(
    table: pd.DataFrame, validate: bool = False, data_keys: dict | None = None, **cv_keys: object
) -> Callable[[Path], list[str]]:
    """A config whose ``cv`` section has ``cv_keys`` beside its folds (``data_keys``: and its ``data``)."""

    def make(folder: Path) -> list[str]:
        table.to_csv(folder / "table.csv", index=False)
        argv = config(folder, **(data_keys or {}))
        content = yaml.safe_load((folder / "config.yaml").read_text())
        content["cv"].update(cv_keys)
        (folder / "config.yaml").write_text(yaml.safe_dump(content))
        return ["validate", argv[1]] if validate else argv

    return make


def with_customers(positive_customers: int = 10) -> pd.DataFrame:
    """30 customers, the positive rows among the first ``positive_customers`` of them."""
    table = frame()
    customer = np.arange(len(table)) % 30
    owner = np.where(table["target"] == 1, customer % positive_customers, customer)
    table.insert(0, "customer", [f"K{c}" for c in owner])
    return table


def with_signup_text() -> pd.DataFrame:
    table = frame()
    table.insert(0, "day", pd.date_range("2024-01-05", periods=len(table)).strftime("%Y-%m-%d"))
    table.loc[[4, 9], "day"] = "soon"
    return table


# -- prediction inputs: an exported model on a table with a categorical column ----------------------
@pytest.fixture(scope="module")
def exported_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exported")
    return export_model_for_prediction(folder)


def export_model_for_prediction(folder: Path) -> Path:
    mixed().drop(columns="customer_id").to_csv(folder / "table.csv", index=False)
    argv = config(folder)
    with contextlib.chdir(folder):
        assert main(argv) == 0
        assert main(["export", argv[1], "--out", "model"]) == 0
    return folder / "model"


def predict_with(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path, Path], list[str]]:
    def make(folder: Path, model: Path) -> list[str]:
        change(mixed().drop(columns=["customer_id", "target"])).to_csv(folder / "new_rows.csv", index=False)
        return ["predict", str(model), "new_rows.csv", "--out", "predictions.csv"]

    return make


def new_level(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[:2, "colour"] = "purple"
    return table


def stray_predict_cells(table: pd.DataFrame) -> pd.DataFrame:
    table = table.astype({"b": object})
    table.loc[[0, 1], "b"] = "n/a?"
    return table


def infinite_predict_cells(table: pd.DataFrame) -> pd.DataFrame:
    table.loc[[0, 5], "a"] = np.inf
    return table


def tampered(folder: Path, model: Path) -> list[str]:
    import shutil

    copy = folder / "model"
    shutil.copytree(model, copy)
    meta = yaml.safe_load((copy / "strategy.yaml").read_text())
    target = copy / meta["model_file"]["path"]
    target.write_bytes(target.read_bytes()[:-10] + b"0123456789")
    mixed().drop(columns=["customer_id", "target"]).to_csv(folder / "new_rows.csv", index=False)
    return ["predict", "model", "new_rows.csv"]


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    id: str
    row: str  # the input, as the reliability table names it
    handling: str  # what the engine does, in one phrase
    make: Callable[..., list[str]]
    exit_code: int
    says: tuple[str, ...]  # fragments the output must contain; lines holding them are the docs' message
    needs_model: bool = False
    refuses: bool = field(default=False)  # refused before any study storage is created

    def __post_init__(self) -> None:
        object.__setattr__(self, "refuses", self.exit_code == 2 and not self.needs_model)


def identifiers_only() -> pd.DataFrame:
    table = frame()
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(len(table))],
            "channel": "web",
            "target": table["target"],
        }
    )


CASES = [
    Case(
        "missing-file",
        "data file missing",
        "error naming the path",
        with_table(frame(), data="nowhere.csv"),
        2,
        ("nowhere.csv", "not found"),
    ),
    Case(
        "unreadable-file",
        "data file unreadable",
        "error naming the path and the reader's complaint",
        with_file("table.parquet", b"these bytes are not parquet"),
        2,
        ("table.parquet",),
    ),
    Case(
        "empty-file", "data file empty", "error naming the path", with_file("table.csv", b""), 2, ("table.csv", "empty")
    ),
    Case(
        "wrong-extension",
        "data file with a wrong extension",
        "error naming the path and the formats read",
        with_file("table.txt", b"a,target\n1,0\n"),
        2,
        ("table.txt", ".csv"),
    ),
    Case(
        "identifiers-only",
        "no usable feature: every column an identifier or constant",
        "error naming the columns, before any trial runs",
        with_table(identifiers_only()),
        2,
        ("No feature column can inform a model", "['customer_id']", "['channel']"),
    ),
    Case(
        "missing-target",
        "target column missing",
        "error listing the available columns",
        with_table(frame(), target="label"),
        2,
        ("'label'", "a, b, target"),
    ),
    Case(
        "duplicate-columns",
        "duplicate column names",
        "error naming the duplicates",
        duplicate_columns,
        2,
        ("duplicate column names ['a']",),
    ),
    Case(
        "single-class",
        "a single class",
        "error with the class counts",
        with_table(frame().assign(target=0)),
        2,
        ("single class (0: 120)",),
    ),
    Case(
        "absent-positive-label",
        "positive_label not present in the target",
        "error with the class counts",
        with_table(frame(), positive_label=5),
        2,
        ("got 5", "(0: 96, 1: 24)"),
    ),
    Case(
        "single-row-class",
        "a class with a single row (more than two classes)",
        "error naming the class, with the class counts",
        with_table(three_classes(single_row_class=True)),
        2,
        ("classes with a single row (7: 1", "at least 2 rows of every class"),
    ),
    Case(
        "positive-label-multiclass",
        "positive_label set for a target with more than two classes",
        "error that says it applies to two classes, with the class counts",
        with_table(three_classes(), positive_label=1),
        2,
        ("data.positive_label", "has 3 classes", "2: 10", "applies to two-class targets"),
    ),
    Case(
        "positives-fewer-than-folds",
        "fewer positives than CV folds",
        "folds reduced with a warning; every validation fold holds a positive",
        with_table(frame(positives=4), folds=5),
        0,
        ("using 4 CV folds instead of 5",),
    ),
    Case(
        "positives-fewer-than-k",
        "fewer positives than k_neighbors + 1",
        "k_neighbors adapted down in that fold, noted on the console and in the trial's `notes` tag",
        tiny_minority_for_smote,
        0,
        ("k_neighbors 5 -> ",),
    ),
    Case(
        "nan-features",
        "NaN in features",
        "noted; kept for NaN-capable models, imputed inside the pipeline (training folds only) for the rest",
        with_table(with_nan()),
        0,
        ("missing values in b (5)",),
    ),
    Case(
        "inf-features",
        "+/-inf in features",
        "error naming the columns",
        with_table(with_inf()),
        2,
        ("['a', 'b']", "inf"),
    ),
    Case(
        "categorical-and-ids",
        "string / categorical features, high-cardinality IDs",
        "categorical columns encoded inside the pipeline (SMOTE becomes SMOTE-NC); ID-like columns noted",
        with_table(mixed()),
        0,
        ("look like identifiers", "customer_id"),
    ),
    Case(
        "yes-no-labels",
        'string labels ("yes"/"no")',
        "work; the positive label is printed",
        with_table(labels(("no", "yes"))),
        0,
        ("positive class 'yes'",),
    ),
    Case(
        "one-two-labels",
        "labels {1, 2}",
        "work; the larger label is positive unless `data.positive_label` says",
        with_table(labels((1, 2))),
        0,
        ("positive class 2",),
    ),
    Case(
        "redundant-data",
        "constant and duplicated columns; duplicated rows",
        "work; noted in the data profile",
        with_table(redundant()),
        0,
        ("constant columns", "identical to an earlier column", "3 duplicated"),
    ),
    Case(
        "config-mistakes",
        "a config with unknown keys, wrong types, bad ranges in a space file",
        "every error at once with the path of its key, exit 2",
        config_mistakes,
        2,
        ("3 error(s)", "serch", "search.n_trials", "num_leaves"),
    ),
    Case(
        "python-tag",
        "a config with a `!!python/object` tag",
        "refused (YAML is read with safe_load)",
        python_tag,
        2,
        ("config.yaml", "!!python/object"),
    ),
    Case(
        "stray-strings",
        "a numeric column with a few non-numeric cells ('?', 'abc')",
        "read as numeric; `?` is missing by default (`data.na_values`), other cells become missing, named in a note",
        with_table(stray_strings()),
        0,
        ("column 'b' is numeric but 3 cell(s) are not numbers ('abc': 3)",),
    ),
    Case(
        "validate-notes",
        "the same table, `validate`",
        "the same data checks and notes as `run`, then OK",
        validating(with_table(stray_strings())),
        0,
        ("column 'b' is numeric but 3 cell(s)", "config.yaml: OK"),
    ),
    Case(
        "trailing-delimiter",
        "a CSV with a delimiter at the end of every line",
        "the empty unnamed column dropped with a note (a model never requires it at predict time)",
        trailing_delimiter,
        0,
        ("dropped empty column(s) without a name: ['Unnamed: 3']",),
    ),
    Case(
        "semicolon-csv",
        "a CSV separated by semicolons",
        "the delimiter guessed from the header row (`data.sep` sets it)",
        semicolons,
        0,
        ("data: 120 rows, 2 features",),
    ),
    Case(
        "gzip-named-csv",
        "a gzip-compressed file named `.csv`",
        "error naming the cause and the name to give it",
        gzip_named_csv,
        2,
        ("gzip-compressed", "table.csv.gz"),
    ),
    Case(
        "target-only",
        "a table with only the target column",
        "error naming the file and what is missing (not `data.drop`, which was not set)",
        target_only,
        2,
        ("data.path", "no column but the target 'target'"),
    ),
    Case(
        "date-column",
        "a column of dates as text",
        "error naming the column with an example and what to do, before any store is created",
        with_table(with_dates()),
        2,
        ("['signed_up'] hold dates", "2024-01-05"),
    ),
    Case(
        "one-positive",
        "a two-class target with a single positive row",
        "error with the class counts, from `validate` and `run` alike, before any store is created",
        with_table(frame(positives=1)),
        2,
        ("classes with a single row (1: 1",),
    ),
    Case(
        "regression-target",
        "a target of fractional numbers (a regression target)",
        "error that says it looks like a quantity to predict",
        with_table(regression_target()),
        2,
        ("looks like a quantity to predict (regression)",),
    ),
    Case(
        "many-classes",
        "a target with 50 classes in 200 rows, `validate`",
        "a note before any long search: few rows per class, one model per class per trial",
        validating(with_table(many_classes())),
        0,
        ("50 classes in 200 rows",),
    ),
    Case(
        "groups-missing-column",
        "cv.groups (or cv.time) names no column, beside other mistakes",
        "every mistake at once, with the available columns",
        with_cv(frame(), data_keys={"drop": ["region"]}, groups="customer"),
        2,
        ("cv.groups", "'customer'", "available columns: a, b, target", "data.drop", "['region']"),
    ),
    Case(
        "groups-fewer-than-folds",
        "fewer groups holding the minority class than CV folds",
        "error with the count and the folds that would work, before any trial runs",
        with_cv(with_customers(positive_customers=2), groups="customer"),
        2,
        ("cv.folds", "hold the minority class, fewer than the 3 CV folds", "set cv.folds to 2 or fewer"),
    ),
    Case(
        "time-not-dates",
        "cv.time column with values that are neither dates nor numbers",
        "error naming the column, the count and a bad value",
        with_cv(with_signup_text(), time="day"),
        2,
        ("cv.time", "'day'", "2 value(s)", "'soon'"),
    ),
    Case(
        "groups-and-time",
        "both cv.groups and cv.time",
        "error: the splits keep one of them apart",
        with_cv(with_customers(), groups="customer", time="a"),
        2,
        ("cv.groups ('customer') and cv.time ('a') were both given",),
    ),
    Case(
        "gap-without-time",
        "cv.gap without cv.time",
        "error: a gap applies only to a time-ordered CV",
        with_cv(frame(), gap=5),
        2,
        ("cv.gap", "only to a time-ordered CV"),
    ),
    Case(
        "weight-missing-column",
        "data.weight names no column, beside other mistakes",
        "every mistake at once, with the available columns",
        with_table(frame(), weight="amount", drop=["region"]),
        2,
        ("data.weight", "'amount'", "available columns: a, b, target", "data.drop", "['region']"),
    ),
    Case(
        "weight-not-numbers",
        "data.weight column with negative, missing or non-numeric values",
        "error naming the column, the count and the first bad rows, before any trial runs",
        with_table(frame().assign(amount=[-1.0, np.nan, *([2.0] * 118)]), weight="amount"),
        2,
        ("data.weight", "'amount'", "2 rows do not", "row 0: -1.0"),
    ),
    Case(
        "weight-class-zero",
        "data.weight giving every row of a class a weight of 0",
        "error naming the class: it could be neither learned nor scored",
        with_table(frame().pipe(lambda t: t.assign(amount=np.where(t["target"] == 1, 0.0, 1.0))), weight="amount"),
        2,
        ("data.weight", "every row of the class(es) [1] weighs 0"),
    ),
    Case(
        "predict-missing-columns",
        "a prediction file with missing columns",
        "error naming the missing columns and listing the expected ones",
        predict_with(lambda t: t.drop(columns=["b"])),
        2,
        ("['b']",),
        needs_model=True,
    ),
    Case(
        "predict-extra-columns",
        "a prediction file with extra columns",
        "scored; the extra columns are noted and ignored",
        predict_with(lambda t: t.assign(comment="hi")),
        0,
        ("ignored: ['comment']",),
        needs_model=True,
    ),
    Case(
        "predict-new-levels",
        "a prediction file with new category levels",
        "scored; the unseen levels are noted and scored as one unknown level",
        predict_with(new_level),
        0,
        ("not seen in training ['purple']",),
        needs_model=True,
    ),
    Case(
        "predict-stray-cells",
        "a prediction file with text in a numeric column",
        "scored with those cells missing, as training read them; the column, values and count noted",
        predict_with(stray_predict_cells),
        0,
        ("column 'b' is numeric but 2 cell(s) are not numbers ('n/a?': 2)",),
        needs_model=True,
    ),
    Case(
        "predict-inf",
        "a prediction file with +/-inf in a numeric column",
        "error naming the column and the row count",
        predict_with(infinite_predict_cells),
        2,
        ("['a']", "+/-inf"),
        needs_model=True,
    ),
    Case(
        "predict-all-missing",
        "a prediction file with a column missing in every row",
        "scored as missing, with a note",
        predict_with(lambda t: t.assign(b=np.nan)),
        0,
        ("no value in any row", "['b']"),
        needs_model=True,
    ),
    Case(
        "predict-tampered-model",
        "a model file changed after export",
        "refused, nothing of it is loaded",
        tampered,
        2,
        ("changed after export",),
        needs_model=True,
    ),
]


# -- running a case -------------------------------------------------------------------------------
def run_case(case: Case, folder: Path, model: Path | None, read_output: Callable[[], str]) -> tuple[int, str]:
    argv = case.make(folder, model) if case.needs_model else case.make(folder)
    with contextlib.chdir(folder):
        code = main(argv)
    return code, read_output()


def message_lines(case: Case, output: str, folder: Path) -> list[str]:
    """The output lines that carry the case's message, with the temporary folder removed."""
    blocks: list[list[str]] = []
    for line in output.splitlines():
        if line.startswith(MESSAGE_PREFIXES):
            blocks.append([line])
        elif line.startswith("  ") and blocks and blocks[-1][0].startswith("error:"):
            blocks[-1].append(line.strip())  # the lines of a multi-line error
    shown = [line for block in blocks if any(f in " ".join(block) for f in case.says) for line in block]
    return [line.replace(str(folder) + "/", "").replace(str(folder), ".") for line in shown]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_bad_input_through_the_cli(case, tmp_path, capsys, request):
    model = request.getfixturevalue("exported_model") if case.needs_model else None
    capsys.readouterr()

    def read_output() -> str:
        captured = capsys.readouterr()
        return captured.out + captured.err

    code, output = run_case(case, tmp_path, model, read_output)
    assert "Traceback" not in output
    assert code == case.exit_code, output
    for fragment in case.says:
        assert fragment in output, f"{fragment!r} not in:\n{output}"
    if case.refuses:
        assert not (tmp_path / "optuna.db").exists() and not (tmp_path / "mlflow.db").exists()
    assert message_lines(case, output, tmp_path), "the message lines were not found in the output"
    row = doc_row(case, code, output, tmp_path)
    assert row in DOCS.read_text().splitlines(), (
        f"docs/bad-input.md is out of date; run `python tests/{Path(__file__).name}`"
    )


# Faults that take processes, mounts or two runs at once: each is a test of its own (named here),
# and the page lists what the user sees.
FAULTS = [
    (
        "two `run`s of one config started in the same second, on a new store",
        "a study each (`NAME-<time>`, `NAME-<time>-2`: the name is taken atomically) and an MLflow parent "
        "each; the new SQLite stores are created by one process at a time, so neither dies in MLflow's migration",
        "test_faults.py::test_two_runs_of_one_config_started_together_get_a_study_each",
    ),
    (
        "`kill -9` of a run",
        "its worker processes end within a second (each watches its parent); `--resume` fails the killed trial with "
        "the strategy it was trying (its MLflow run is named after it) and retries it once: the retry takes its "
        "place in the budget, so the budget is reached and every portfolio strategy tried",
        "test_faults.py::test_a_killed_search_leaves_no_worker_and_resumes_to_its_budget",
    ),
    (
        "`--resume` of a SQLite study that another live process is searching",
        "refused, naming that process (SQLite serves one searching process per study)",
        "test_faults.py::test_a_sqlite_study_held_by_a_live_process_is_refused_with_its_pid",
    ),
    (
        "a new MLflow store in a read-only folder; a read-only `mlartifacts/`",
        "refused within seconds, exit 2, naming the path and that it is read-only; no study and no run left behind",
        "test_faults.py::test_stores_that_cannot_be_written_are_named_with_their_cause_in_seconds",
    ),
    (
        "`search(storage=...)` in Python with a SQLite file in a missing (or read-only) folder",
        "`StorageError` naming the folder and the cause before any work, as the command line does; nothing created",
        "test_python_api.py::test_a_storage_that_cannot_be_written_is_named_before_any_work",
    ),
    (
        "a run whose work after the trials is long for its `search.timeout` (e.g. 50 classes in 200 rows)",
        "the timeout counts from the run's start; the trials end a tenth of it early and what follows gets what "
        "is left (the do-nothing comparison and the importance are skipped, saying so, when they would not fit; "
        "the figures of many classes are drawn without cell labels)",
        "test_cli.py::test_a_run_of_50_classes_in_200_rows_keeps_its_timeout",
    ),
    (
        "a run that still ends well past `search.timeout`",
        "a note says how long the run took and where the time went",
        "test_cli.py::test_a_run_well_past_its_timeout_says_where_the_time_went",
    ),
    (
        "`strategy_search.load_model(DIR)` in Python on rows with an extra column, text in a numeric column, or +/-inf",
        "read as `predict` reads them: the extra column ignored and the text cells missing, each with the note "
        "`predict` prints, as a `UserWarning`; +/-inf refused (`ExportError`) naming the column",
        "test_export.py::test_load_model_reads_new_rows_as_predict_does",
    ),
    (
        "a store copied to another folder",
        "a warning that the experiment's artifacts still go to the original folder, and how to keep them beside "
        "the copy (`tracking.experiment`)",
        "test_faults.py::test_a_copied_store_warns_that_its_artifacts_still_go_to_the_original_folder",
    ),
]


def test_every_fault_on_the_page_has_its_test():
    for _, _, test in FAULTS:
        module, name = test.split("::")
        assert f"def {name}(" in (ROOT / "tests" / module).read_text(), test
        assert f"`{test}`" in DOCS.read_text(), test


def fault_rows() -> list[str]:
    return [
        "",
        "## Faults",
        "",
        "| fault | what happens | test |",
        "|---|---|---|",
        *(f"| {fault} | {handling} | `{test}` |" for fault, handling, test in FAULTS),
    ]


def test_the_docs_table_has_every_case():
    documented = DOCS.read_text()
    for case in CASES:
        assert f"| {case.row} |" in documented, case.row


# -- the docs page --------------------------------------------------------------------------------
def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def doc_row(case: Case, code: int, output: str, folder: Path) -> str:
    """The case's row of docs/bad-input.md, from what the CLI printed."""
    message = "<br>".join(_cell(line) for line in message_lines(case, output, folder))
    return f"| {case.row} | {case.handling} | {code} | {message} |"


HEADER = """# Bad input: what the CLI says

Each row is a test in `tests/test_bad_input.py`, which feeds the input to the real CLI (mostly
`strategy-search run config.yaml`) and checks the exit code, the message, that no Python
traceback is printed (`--debug` shows one) and, for refused input, that no study or MLflow
store was created. The messages are copied from those runs, with paths shown relative to the
folder the command ran in (`python tests/test_bad_input.py` rewrites this page; a test fails
when a message here no longer matches).

Exit codes: 0 = done, 2 = input refused before any search work, 1 = the search itself failed.
"""


def write_docs() -> None:
    import io
    import tempfile

    rows = []
    model_folder = Path(tempfile.mkdtemp())
    model = export_model_for_prediction(model_folder)
    for case in CASES:
        folder = Path(tempfile.mkdtemp())
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            code, output = run_case(case, folder, model if case.needs_model else None, buffer.getvalue)
        rows.append(doc_row(case, code, output, folder))
        print(case.id, code, file=sys.stderr)
    table = ["| input | what happens | exit | message (verbatim) |", "|---|---|---|---|", *rows]
    DOCS.parent.mkdir(exist_ok=True)
    DOCS.write_text(HEADER + "\n" + "\n".join(table + fault_rows()) + "\n")


if __name__ == "__main__":
    write_docs()
