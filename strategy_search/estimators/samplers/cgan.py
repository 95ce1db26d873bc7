"""Generative oversampling with a small conditional GAN (the ``deep`` extra)."""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from numpy.typing import NDArray
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import Interval

from strategy_search.estimators._torch import import_torch, torch_threads
from strategy_search.estimators.samplers._oversampling import ClassWiseOverSampler


class ConditionalGANOverSampler(ClassWiseOverSampler):
    """Oversample with rows from a conditional GAN trained on the rows of the classes to grow
    (in a pipeline: the training part of a fold only; the majority class is never seen).

    The generator maps noise and a condition to the continuous columns; the discriminator
    tells real rows from generated ones under the same condition. The condition is the class
    and the categorical codes of a real row of that class (one-hot): each new row takes its
    categorical columns from a real row, never interpolated, and its continuous columns are
    generated to go with them. Continuous columns are standardised on the training rows and
    put back on their scale. Nothing of PyTorch stays in the fitted sampler.

    Parameters
    ----------
    sampling_strategy:
        As in imbalanced-learn (a float is the minority/majority ratio after resampling).
    latent_dim, hidden_units:
        The noise's size; the width of the generator's and discriminator's two hidden layers.
    n_steps, batch_size, learning_rate:
        Adam steps (one discriminator and one generator update each), rows per step, step size.
    categorical_features:
        Column indices copied from real rows, never generated.
    n_jobs:
        PyTorch threads while fitting.
    random_state:
        Seed or ``RandomState``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **BaseOverSampler._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "hidden_units": [Interval(Integral, 1, None, closed="left")],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "categorical_features": [list, tuple, None],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        sampling_strategy: Any = "auto",
        latent_dim: int = 16,
        hidden_units: int = 64,
        n_steps: int = 500,
        batch_size: int = 64,
        learning_rate: float = 2e-4,
        categorical_features: Any = None,
        n_jobs: int = 1,
        random_state: Any = None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.latent_dim = latent_dim
        self.hidden_units = hidden_units
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.categorical_features = categorical_features
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit_resample(self, X: Any, y: NDArray[Any], **params: Any) -> tuple[Any, NDArray[Any]]:
        self._torch: Any = import_torch()
        self._model: _Trained | None = None
        try:
            with torch_threads(self._torch, self.n_jobs):
                return super()._fit_resample(X, y, **params)
        finally:
            # PyTorch objects are never part of the fitted state.
            self._torch, self._model = None, None

    def _prepare(self, dense: np.ndarray, y: NDArray[Any], continuous: np.ndarray, rng: np.random.RandomState) -> None:
        growing = [label for label, n_new in self.sampling_strategy_.items() if n_new > 0]
        rows = np.isin(y, growing)
        if not growing or not continuous.any() or rows.sum() < 2:
            return  # nothing to generate: new rows are copies of real ones
        trained = _Trained.fit(self, self._torch, dense[rows], y[rows], growing, continuous, rng)
        self._model = trained
        self.generator_loss_, self.discriminator_loss_ = trained.losses

    def _new_rows(
        self,
        rows: np.ndarray,
        n_new: int,
        continuous: np.ndarray,
        rng: np.random.RandomState,
        every_row: np.ndarray,
        label: Any,
    ) -> np.ndarray:
        new = rows[rng.randint(0, len(rows), size=n_new)].copy()  # categorical columns: real ones
        if self._model is not None:
            new[:, continuous] = self._model.generate(self._torch, new, label, rng)
        return new


class _Trained:
    """A trained generator with what it needs to make rows: the condition's encoding and the
    continuous columns' scale."""

    def __init__(self, rows: np.ndarray, classes: list[Any], continuous: np.ndarray, latent_dim: int):
        self.classes, self.continuous, self.latent_dim = classes, continuous, latent_dim
        values = np.nan_to_num(rows[:, continuous])
        self.mean, self.std = values.mean(axis=0), values.std(axis=0)
        self.std[self.std == 0] = 1.0
        self.encoder = None
        if not continuous.all():
            self.encoder = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(rows[:, ~continuous])
        self.generator: Any = None
        self.losses: tuple[float, float] = (np.nan, np.nan)

    def condition(self, rows: np.ndarray, labels: NDArray[Any]) -> np.ndarray:
        """The class, one-hot, and the rows' categorical codes, one-hot."""
        parts = [(labels[:, None] == np.asarray(self.classes)[None, :]).astype(np.float32)]
        if self.encoder is not None:
            parts.append(np.asarray(self.encoder.transform(rows[:, ~self.continuous]), dtype=np.float32))
        return np.hstack(parts)

    def scaled(self, rows: np.ndarray) -> np.ndarray:
        return ((np.nan_to_num(rows[:, self.continuous]) - self.mean) / self.std).astype(np.float32)

    @classmethod
    def fit(
        cls,
        sampler: ConditionalGANOverSampler,
        torch: Any,
        rows: np.ndarray,
        labels: NDArray[Any],
        classes: list[Any],
        continuous: np.ndarray,
        rng: np.random.RandomState,
    ) -> _Trained:
        torch.manual_seed(int(rng.randint(2**31 - 1)))
        trained = cls(rows, classes, continuous, sampler.latent_dim)
        conditions = torch.from_numpy(trained.condition(rows, labels))
        real = torch.from_numpy(trained.scaled(rows))
        width, n_out, n_condition = sampler.hidden_units, real.shape[1], conditions.shape[1]
        generator = _mlp(torch, sampler.latent_dim + n_condition, width, n_out)
        discriminator = _mlp(torch, n_out + n_condition, width, 1)
        adam = {"lr": sampler.learning_rate, "betas": (0.5, 0.999)}
        g_opt = torch.optim.Adam(generator.parameters(), **adam)
        d_opt = torch.optim.Adam(discriminator.parameters(), **adam)
        bce = torch.nn.BCEWithLogitsLoss()
        batch = min(sampler.batch_size, len(rows))
        ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)
        g_loss = d_loss = torch.tensor(np.nan)
        for _ in range(sampler.n_steps):
            picked = torch.from_numpy(rng.randint(0, len(rows), size=batch))
            condition = conditions[picked]
            fake = generator(torch.cat([torch.randn(batch, sampler.latent_dim), condition], dim=1))
            d_opt.zero_grad()
            d_loss = bce(discriminator(torch.cat([real[picked], condition], dim=1)), ones) + bce(
                discriminator(torch.cat([fake.detach(), condition], dim=1)), zeros
            )
            d_loss.backward()
            d_opt.step()
            g_opt.zero_grad()
            g_loss = bce(discriminator(torch.cat([fake, condition], dim=1)), ones)
            g_loss.backward()
            g_opt.step()
        generator.eval()
        trained.generator = generator
        trained.losses = (float(g_loss.detach()), float(d_loss.detach()))
        return trained

    def generate(self, torch: Any, rows: np.ndarray, label: Any, rng: np.random.RandomState) -> np.ndarray:
        condition = torch.from_numpy(self.condition(rows, np.full(len(rows), label)))
        noise = torch.from_numpy(rng.standard_normal((len(rows), self.latent_dim)).astype(np.float32))
        with torch.no_grad():
            made = self.generator(torch.cat([noise, condition], dim=1)).numpy()
        return made * self.std + self.mean


def _mlp(torch: Any, n_in: int, width: int, n_out: int) -> Any:
    return torch.nn.Sequential(
        torch.nn.Linear(n_in, width),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Linear(width, width),
        torch.nn.LeakyReLU(0.2),
        torch.nn.Linear(width, n_out),
    )
