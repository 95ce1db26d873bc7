"""What the PyTorch estimators (the ``deep`` extra) share: importing PyTorch only when one is
fitted, with an error that says how to install it, and running it on the threads it is given."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from strategy_search.components.registry import require_extra


def import_torch() -> Any:
    """PyTorch, or an error that says how to install it."""
    require_extra("deep")
    import torch

    return torch


@contextlib.contextmanager
def torch_threads(torch: Any, n: int) -> Iterator[None]:
    # The setting is process-wide: put it back so a user's own PyTorch work is unaffected.
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
