"""Print the MLflow UI's links once its server answers (``strategy-search ui``).

The ui command becomes the MLflow server process (``os.execve``), and MLflow takes tens of
seconds to start on a small machine: a link printed at once answers "connection refused" for
that long. So the command starts this small process first; it polls the server's ``/health``
and prints the lines it was given when the server answers, or says that it did not. It stops
as soon as its parent (the server) is gone, so it never outlives the command.

    python -m strategy_search.cli.ui_link HEALTH_URL SECONDS LINE [LINE ...]
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request

__all__ = ["main", "wait_and_print"]

POLL_SECONDS = 0.5


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(200 <= response.status < 300)
    except OSError:
        return False


def wait_and_print(health_url: str, seconds: float, lines: list[str], *, parent: int) -> int:
    """Poll ``health_url`` until it answers (then print ``lines``, return 0), the ``parent``
    process is gone (return 1) or ``seconds`` pass (say so on stderr, return 1)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.getppid() != parent:
            return 1  # the server (our parent) stopped: nothing to link to
        if _answers(health_url):
            print("\n".join(lines), flush=True)
            return 0
        time.sleep(POLL_SECONDS)
    print(f"the MLflow UI did not answer at {health_url} within {seconds:.0f} s; see its log above", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    health_url, seconds, *lines = argv if argv is not None else sys.argv[1:]
    return wait_and_print(health_url, float(seconds), lines, parent=os.getppid())


if __name__ == "__main__":
    raise SystemExit(main())
