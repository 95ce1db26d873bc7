"""Two small tables whose rows are not independent, for trying ``cv.groups`` and ``cv.time``:

* ``customers.csv``: 250 customers with 4 rows each, every row a near-copy of its customer's
  point; the label is a customer trait, so shuffled folds score a model that memorises
  customers (``experiments/customers.yaml`` keeps each customer on one side of every split);
* ``drifting.csv``: 1,500 rows over 2024, the rule that makes a positive turning with time
  (from feature f0 towards f1), with a ``day`` column (``experiments/drifting.yaml`` validates
  each block on later days).

    .venv/bin/python experiments/make_split_demo_data.py     # writes both into experiments/data/
    strategy-search run experiments/customers.yaml
    strategy-search run experiments/drifting.yaml

The same generators make the tables of ``tests/test_splits.py``, which measures how far each
CV's score lands from the score on customers (or later rows) the model never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parent / "data"


def customers(n_customers: int = 250, rows_each: int = 4, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    centre = rng.normal(size=(n_customers, 6))
    trait = ((centre[:, 0] + 0.5 * rng.normal(size=n_customers)) > 1.0).astype(int)
    owner = np.repeat(np.arange(n_customers), rows_each)
    X = centre[owner] + rng.normal(scale=0.05, size=(len(owner), 6))
    table = pd.DataFrame(X.round(4), columns=[f"f{i}" for i in range(6)])
    table.insert(0, "customer", [f"C{c:04d}" for c in owner])
    return table.assign(target=trait[owner])


def drifting(n: int = 1500, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    years = np.sort(rng.uniform(0.0, 1.0, n))
    X = rng.normal(size=(n, 5))
    angle = years * np.pi / 2
    y = ((X[:, 0] * np.cos(angle) + X[:, 1] * np.sin(angle) + 0.3 * rng.normal(size=n)) > 1.3).astype(int)
    table = pd.DataFrame(X.round(4), columns=[f"f{i}" for i in range(5)])
    day = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.floor(years * 365), unit="D")
    table.insert(0, "day", day.strftime("%Y-%m-%d"))
    return table.assign(target=y)


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    customers().to_csv(OUT / "customers.csv", index=False)
    drifting().to_csv(OUT / "drifting.csv", index=False)
    print(f"wrote {OUT / 'customers.csv'} and {OUT / 'drifting.csv'}")
