"""Columns typed as a user reads them: mostly numeric text, dates, empty unnamed columns, the
CSV delimiter; training and predict alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategy_search.column_types import MOSTLY_NUMERIC_SHARE, numeric_cells, typed_columns
from strategy_search.errors import DataError
from strategy_search.table_file import guess_delimiter


def test_a_mostly_numeric_text_column_is_numeric_and_the_note_names_the_stray_cells():
    values = [str(v) for v in np.arange(95.0)] + ["abc"] * 3 + ["n/a?"] * 2
    X, notes = typed_columns(pd.DataFrame({"x": pd.Series(values, dtype=object), "t": ["a", "b"] * 50}))
    assert pd.api.types.is_float_dtype(X["x"]) and X["x"].isna().sum() == 5 and X["x"].iloc[7] == 7.0
    assert X["t"].tolist() == ["a", "b"] * 50  # real text stays text
    assert notes == [
        "column 'x' is numeric but 5 cell(s) are not numbers ('abc': 3, 'n/a?': 2): they are read as missing "
        "values (list such markers in data.na_values, or fix the cells)"
    ]


def test_a_column_with_too_many_words_stays_text_and_a_users_categorical_is_left_alone():
    share = int(MOSTLY_NUMERIC_SHARE * 100) - 5
    mixed = pd.Series([str(i) for i in range(share)] + ["word"] * (100 - share), dtype=object)
    categories = pd.Series(pd.Categorical(["1", "2"] * 50))
    X, notes = typed_columns(pd.DataFrame({"mixed": mixed, "codes": categories}))
    assert X["mixed"].equals(mixed) and isinstance(X["codes"].dtype, pd.CategoricalDtype) and notes == []


def test_empty_unnamed_columns_are_dropped_and_dates_refused_with_an_example():
    X, notes = typed_columns(pd.DataFrame({"a": [1.0, 2.0], "Unnamed: 1": [np.nan, np.nan]}))
    assert list(X.columns) == ["a"] and "['Unnamed: 1']" in notes[0]
    kept, _ = typed_columns(pd.DataFrame({"a": [1.0, 2.0], "named_but_empty": [np.nan, np.nan]}))
    assert "named_but_empty" in kept.columns  # a named column is the user's: noted as constant elsewhere
    for dates in (["2024-01-05", "2024-02-11"], ["05/01/2024 10:30", "11/02/2024 09:00"]):
        with pytest.raises(DataError, match=r"\['when'\] hold dates \(e\.g\. \{'when': '"):
            typed_columns(pd.DataFrame({"when": dates, "a": [1, 2]}))
    with pytest.raises(DataError, match="hold dates"):
        typed_columns(pd.DataFrame({"when": pd.to_datetime(["2024-01-05", "2024-02-11"]), "a": [1, 2]}))


def test_predict_reads_a_numeric_column_as_training_did():
    numbers, stray = numeric_cells(pd.Series(["1.5", "x", None, "3"], dtype=object))
    assert numbers.tolist()[0] == 1.5 and np.isnan(numbers.iloc[1]) and stray.tolist() == ["x"]
    already, none = numeric_cells(pd.Series([1.0, np.nan]))
    assert already.equals(pd.Series([1.0, np.nan])) and none.empty


@pytest.mark.parametrize(
    ("header", "expected"),
    [("a,b,target", ","), ("a;b;target", ";"), ("a\tb\ttarget", "\t"), ("a|b|target", "|"), ("target", ",")],
)
def test_the_delimiter_is_the_one_the_header_row_uses(header, expected):
    assert guess_delimiter(header + "\n") == expected
