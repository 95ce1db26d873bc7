"""Generate a synthetic card-fraud-like table: many rows, few positives, high-cardinality
categories and missing values, for trying the engine on big tables without downloading any.

    .venv/bin/python experiments/make_fraud_data.py                       # 1,000,000 rows
    .venv/bin/python experiments/make_fraud_data.py --rows 100000 --out experiments/data/fraud-100k.parquet

Columns (30 features and ``target``, 1 = fraud, last):

* ``amount`` (log-normal), ``hour`` (0-23), ``account_age_days`` (5 % missing),
  ``tx_last_24h`` (Poisson), ``distance_from_home_km`` (2 % missing), ``card_present`` (0/1),
  ``v01`` .. ``v20`` (correlated Gaussians, like the PCA components of the public card-fraud
  data; a few carry signal);
* ``merchant_category`` (300 levels), ``merchant_country`` (120 levels), ``device_type``
  (25 levels, 3 % missing) and ``merchant_id`` (5,000 levels): text categories whose levels
  have their own risk, most of them rare (Zipf-distributed counts).

The label comes from a logistic model with interactions (night x amount, new account x many
transactions, card not present x far from home, per-level risk of the categories), with its
intercept solved so that the positive share is ``--positive-rate`` (default 0.2 %). The Bayes
rate is well below 1: like real fraud, no model separates the classes perfectly. Everything
is drawn from one seed, so the same arguments give the same file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit

DEFAULT_OUT = Path(__file__).resolve().parent / "data" / "fraud-1m.parquet"
_CATEGORIES = {"merchant_category": 300, "merchant_country": 120, "device_type": 25, "merchant_id": 5000}
_N_LATENT = 20
# How strongly the features decide the label, against unit noise on the logit.
SIGNAL = 4.0


def _levels(rng: np.random.Generator, name: str, n_levels: int, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Level index per row (Zipf-like: a few common levels, a long tail) and each level's risk."""
    weights = 1.0 / np.arange(1, n_levels + 1) ** 1.1
    codes = rng.choice(n_levels, size=n_rows, p=weights / weights.sum())
    risk = rng.normal(0.0, 1.0, n_levels)
    risk[rng.random(n_levels) < 0.9] *= 0.2  # most levels are harmless; a few are risky
    return codes, risk


def make_fraud_table(n_rows: int = 1_000_000, *, positive_rate: float = 0.002, seed: int = 0) -> pd.DataFrame:
    """The table described in the module notes, as a DataFrame with ``target`` last."""
    rng = np.random.default_rng(seed)
    hour = rng.integers(0, 24, n_rows)
    amount = np.round(rng.lognormal(3.5, 1.2, n_rows), 2)
    account_age = rng.gamma(2.0, 400.0, n_rows)
    tx_24h = rng.poisson(2.0, n_rows)
    distance = rng.lognormal(2.0, 1.3, n_rows)
    card_present = (rng.random(n_rows) < 0.7).astype(np.int8)
    mixing = rng.normal(0.0, 1.0, (_N_LATENT, _N_LATENT)) / np.sqrt(_N_LATENT)
    latent = rng.normal(0.0, 1.0, (n_rows, _N_LATENT)) @ (np.eye(_N_LATENT) + 0.5 * mixing)

    night = ((hour <= 5) | (hour >= 23)).astype(float)
    log_amount = np.log1p(amount)
    logit = (
        0.8 * night * (log_amount - 3.5)
        + 1.2 * (account_age < 60) * np.log1p(tx_24h)
        + 1.0 * (1 - card_present) * (np.log1p(distance) > 3.5)
        + 0.6 * latent[:, 0]
        - 0.5 * latent[:, 3]
        + 0.4 * np.tanh(latent[:, 7] * latent[:, 11])
    )
    columns: dict[str, np.ndarray] = {}
    for name, n_levels in _CATEGORIES.items():
        codes, risk = _levels(rng, name, n_levels, n_rows)
        logit = logit + risk[codes]
        width = len(str(n_levels))
        columns[name] = np.asarray([f"{name[:3]}_{i:0{width}d}" for i in range(n_levels)], dtype=object)[codes]
    logit = SIGNAL * logit + rng.normal(0.0, 1.0, n_rows)  # the noise: what no feature explains
    intercept = brentq(lambda b: float(expit(logit + b).mean()) - positive_rate, -40.0, 20.0)
    target = (rng.random(n_rows) < expit(logit + intercept)).astype(np.int8)

    account_age[rng.random(n_rows) < 0.05] = np.nan
    distance[rng.random(n_rows) < 0.02] = np.nan
    columns["device_type"][rng.random(n_rows) < 0.03] = None
    frame = pd.DataFrame(
        {
            "amount": amount,
            "hour": hour.astype(np.int16),
            "account_age_days": np.round(account_age, 1),
            "tx_last_24h": tx_24h.astype(np.int16),
            "distance_from_home_km": np.round(distance, 2),
            "card_present": card_present,
            **{f"v{i + 1:02d}": latent[:, i].astype(np.float32) for i in range(_N_LATENT)},
        }
    )
    for name in _CATEGORIES:
        frame[name] = columns[name]
    frame["target"] = target
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--positive-rate", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="a .parquet or .csv path")
    args = parser.parse_args(argv)
    frame = make_fraud_table(args.rows, positive_rate=args.positive_rate, seed=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix == ".csv":
        frame.to_csv(args.out, index=False)
    else:
        frame.to_parquet(args.out, index=False)
    print(f"{args.out}: {len(frame):,} rows, {int(frame['target'].sum()):,} positive ({frame['target'].mean():.3%})")


if __name__ == "__main__":
    main()
