"""The lines every benchmark report starts with: the command, the commit and the machine."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def provenance_lines(command: str) -> list[str]:
    """``Command: ... at commit ..., date`` and ``Machine: ...``, each followed by a blank line."""
    import strategy_search

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    return [
        f"Command: `{command}` at commit `{commit.strip()}`, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"Machine: `nproc` = {os.cpu_count()}, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}; strategy-search {strategy_search.__version__}.",
        "",
    ]
