"""Small tables whose rows are not independent or not alike, for trying ``cv.groups``,
``cv.time`` and ``data.weight``:

* ``customers.csv``: 250 customers with 4 rows each, every row a near-copy of its customer's
  point; the label is a customer trait, so shuffled folds score a model that memorises
  customers (``experiments/customers.yaml`` keeps each customer on one side of every split);
* ``drifting.csv``: 1,500 rows over 2024, the rule that makes a positive turning with time
  (from feature f0 towards f1), with a ``day`` column (``experiments/drifting.yaml`` validates
  each block on later days);
* ``payments.csv`` and ``payments-later.csv``: 900 payments each, frauds of two kinds: many
  small ones a model finds easily (high f0) and a few large ones hidden among ordinary payments
  (middle f0, where most payments are not fraud), with an ``amount`` column
  (``experiments/payments.yaml`` weighs each row by it).

    .venv/bin/python experiments/make_split_demo_data.py     # writes them into experiments/data/
    strategy-search run experiments/customers.yaml
    strategy-search run experiments/drifting.yaml
    strategy-search run experiments/payments.yaml

The same generators make the tables of ``tests/test_splits.py``, which measures how far each
CV's score lands from the score on customers (or later rows) the model never saw, and of
``tests/test_row_weights.py``, which measures how many of the large frauds are caught.
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


def payments(n: int = 900, *, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f0 = rng.uniform(0, 1, n)
    easy, hidden = f0 > 0.85, (f0 > 0.3) & (f0 < 0.5)
    fraud = np.where(easy, rng.random(n) < 0.9, hidden & (rng.random(n) < 0.15)).astype(int)
    amount = np.where(fraud & hidden, 500.0, 5.0)
    return pd.DataFrame({"f0": f0.round(4), "f1": rng.normal(size=n).round(4), "amount": amount, "target": fraud})


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    written = {
        "customers.csv": customers(),
        "drifting.csv": drifting(),
        "payments.csv": payments(seed=0),
        "payments-later.csv": payments(seed=1),
    }
    for name, table in written.items():
        table.to_csv(OUT / name, index=False)
    print(f"wrote {', '.join(written)} into {OUT}")
