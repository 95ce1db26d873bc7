"""A multi-layer perceptron trained in PyTorch with an imbalance-aware loss (the ``deep`` extra).

PyTorch is needed to *train* only. The fitted network is kept as NumPy arrays and predicts with
NumPy, so a saved model is plain arrays in the safe model format (no pickled PyTorch module, no
code run at load) and predicting needs no PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from strategy_search.estimators._torch import import_torch, torch_threads

LOSSES = ("cross_entropy", "weighted_cross_entropy", "class_balanced", "focal")


def class_weights(counts: NDArray[np.int64], *, loss: str, beta: float) -> NDArray[np.float64]:
    """Per-class loss weights, scaled to average 1 over the classes.

    ``weighted_cross_entropy``: inverse class frequency. ``class_balanced``: the inverse
    effective number of samples, (1 - beta) / (1 - beta ** n_c) (Cui et al. 2019). The others:
    all 1 (focal loss down-weights the easy rows instead).
    """
    counts = np.maximum(counts, 1).astype(float)
    if loss == "weighted_cross_entropy":
        weights = 1.0 / counts
    elif loss == "class_balanced":
        weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    else:
        weights = np.ones_like(counts)
    return weights * len(weights) / weights.sum()


class TorchMLPClassifier(ClassifierMixin, BaseEstimator):
    """Feed-forward network (ReLU, dropout) with a softmax output, trained with AdamW on
    mini-batches; the last ``validation_fraction`` of the training rows (stratified) decides
    when to stop: the weights of the epoch with the lowest validation loss are kept.

    Parameters
    ----------
    hidden_units, n_layers:
        Width and number of the hidden layers.
    dropout:
        Dropout after each hidden layer, while training.
    loss:
        ``"cross_entropy"``, ``"weighted_cross_entropy"`` (inverse class frequency),
        ``"class_balanced"`` (effective number of samples, ``beta``) or ``"focal"`` (``gamma``).
    gamma, beta:
        The focal loss's focusing parameter; the class-balanced loss's beta.
    learning_rate, weight_decay, batch_size:
        AdamW's step size and decoupled weight decay; rows per step.
    max_epochs, patience, validation_fraction:
        At most ``max_epochs`` passes; stop after ``patience`` epochs without a lower validation
        loss. With ``validation_fraction=0`` (or a class too small to split) all epochs run.
    n_jobs:
        PyTorch threads while fitting (the search runs one fit per process).
    random_state:
        Seed for the weights' initialisation, the split and the batches.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_units": [Interval(Integral, 1, None, closed="left")],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "loss": [StrOptions(set(LOSSES))],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "n_jobs": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        hidden_units: int = 64,
        n_layers: int = 2,
        dropout: float = 0.1,
        loss: str = "focal",
        gamma: float = 2.0,
        beta: float = 0.999,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 100,
        patience: int = 10,
        validation_fraction: float = 0.15,
        n_jobs: int = 1,
        random_state: Any = None,
    ):
        self.hidden_units = hidden_units
        self.n_layers = n_layers
        self.dropout = dropout
        self.loss = loss
        self.gamma = gamma
        self.beta = beta
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_jobs = n_jobs
        self.random_state = random_state

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TorchMLPClassifier:
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float32)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        weights = _check_sample_weight(sample_weight, X, dtype=np.float32)
        return self._fit(X, codes, weights)

    def _fit(self, X: Any, codes: NDArray[np.int64], sample_weight: NDArray[np.float32]) -> TorchMLPClassifier:
        torch = import_torch()
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        train, held = _inner_split(codes, self.validation_fraction, seed)
        n_classes = len(self.classes_)
        per_class = class_weights(np.bincount(codes[train], minlength=n_classes), loss=self.loss, beta=self.beta)
        with torch_threads(torch, self.n_jobs):
            generator = torch.Generator().manual_seed(seed)
            torch.manual_seed(seed)
            network = _network(torch, X.shape[1], n_classes, self.hidden_units, self.n_layers, self.dropout)
            optimiser = torch.optim.AdamW(network.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay)
            criterion = _Loss(torch, per_class, self.loss, self.gamma)
            best, best_state, waited = np.inf, None, 0
            self.loss_curve_: list[float] = []
            self.validation_loss_curve_: list[float] = []
            for _ in range(self.max_epochs):
                network.train()
                order = train[torch.randperm(len(train), generator=generator).numpy()]
                epoch = [
                    _step(torch, network, optimiser, criterion, X, codes, sample_weight, rows)
                    for rows in _batches(order, self.batch_size)
                ]
                self.loss_curve_.append(float(np.mean(epoch)))
                if not len(held):
                    continue
                network.eval()
                with torch.no_grad():
                    logits = _forward(torch, network, X, held, self.batch_size)
                    observed = float(criterion(logits, codes[held], sample_weight[held]))
                self.validation_loss_curve_.append(observed)
                if observed < best - 1e-7:
                    best, waited = observed, 0
                    best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                else:
                    waited += 1
                    if waited >= self.patience:
                        break
            if best_state is not None:
                network.load_state_dict(best_state)
            linear = [m for m in network if isinstance(m, torch.nn.Linear)]
            self.coefs_ = [m.weight.detach().numpy().T.astype(np.float64) for m in linear]
            self.intercepts_ = [m.bias.detach().numpy().astype(np.float64) for m in linear]
        self.n_epochs_ = len(self.loss_curve_)
        return self

    def predict_proba(self, X: Any) -> NDArray[np.float64]:
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        activation: Any = X
        for layer, (weight, bias) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            activation = activation @ weight + bias
            if layer < len(self.coefs_) - 1:
                activation = np.maximum(activation, 0.0)
        activation = np.asarray(activation)
        activation -= activation.max(axis=1, keepdims=True)
        exponentials = np.exp(activation)
        return exponentials / exponentials.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> NDArray[Any]:
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]


def _inner_split(codes: NDArray[np.int64], fraction: float, seed: int) -> tuple[NDArray[Any], NDArray[Any]]:
    """Rows to train on and rows that decide when to stop (none when a class cannot be split)."""
    rows = np.arange(len(codes))
    counts = np.bincount(codes)
    n_held = round(fraction * len(codes))
    if fraction == 0 or counts[counts > 0].min() < 2 or n_held < len(counts) or len(codes) - n_held < len(counts):
        return rows, rows[:0]
    train, held = train_test_split(rows, test_size=n_held, stratify=codes, random_state=seed)
    return np.sort(train), np.sort(held)


def _network(torch: Any, n_in: int, n_out: int, width: int, depth: int, dropout: float) -> Any:
    layers: list[Any] = []
    for k in range(depth):
        layers += [torch.nn.Linear(n_in if k == 0 else width, width), torch.nn.ReLU(), torch.nn.Dropout(dropout)]
    layers.append(torch.nn.Linear(width if depth else n_in, n_out))
    return torch.nn.Sequential(*layers)


def _batches(order: NDArray[Any], size: int) -> Iterator[NDArray[Any]]:
    for start in range(0, len(order), size):
        yield order[start : start + size]


def _tensor(torch: Any, X: Any, rows: NDArray[Any]) -> Any:
    # Sparse input (one-hot categories) is made dense a batch at a time.
    part = X[rows]
    return torch.from_numpy(np.asarray(part.toarray() if sparse.issparse(part) else part, dtype=np.float32))


def _forward(torch: Any, network: Any, X: Any, rows: NDArray[Any], size: int) -> Any:
    return torch.cat([network(_tensor(torch, X, batch)) for batch in _batches(rows, size)])


def _step(
    torch: Any,
    network: Any,
    optimiser: Any,
    criterion: _Loss,
    X: Any,
    codes: NDArray[np.int64],
    sample_weight: NDArray[np.float32],
    rows: NDArray[Any],
) -> float:
    optimiser.zero_grad()
    value = criterion(network(_tensor(torch, X, rows)), codes[rows], sample_weight[rows])
    value.backward()
    optimiser.step()
    return float(value.detach())


class _Loss:
    """The training loss: per-row (focal or plain) cross-entropy times the row's class weight
    and sample weight, averaged over those weights."""

    def __init__(self, torch: Any, per_class: NDArray[np.float64], loss: str, gamma: float):
        self.torch, self.loss, self.gamma = torch, loss, gamma
        self.per_class = torch.as_tensor(per_class, dtype=torch.float32)

    def __call__(self, logits: Any, codes: NDArray[np.int64], sample_weight: NDArray[np.float32]) -> Any:
        torch = self.torch
        target = torch.as_tensor(codes, dtype=torch.long)
        log_p = torch.log_softmax(logits, dim=1).gather(1, target[:, None])[:, 0]
        terms = -log_p
        if self.loss == "focal":
            terms = terms * (1.0 - log_p.exp()).clamp(min=0.0) ** self.gamma
        weights = self.per_class[target] * torch.as_tensor(sample_weight, dtype=torch.float32)
        return (terms * weights).sum() / weights.sum().clamp(min=1e-12)
