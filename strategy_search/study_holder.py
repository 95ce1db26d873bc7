"""Which process holds a SQLite study: one at a time.

A SQLite store serves one searching process per study (README, "Scaling out"); a second one
resuming the study while the first still runs would fail the first's running trials as
interrupted and split its budget. The process that opens a SQLite study to search it records
itself on the study; another that finds that process still alive on the same machine is refused
with its process id. A process is named by its id and its start time (``/proc``), so a process
id reused after the holder died does not count as the holder.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import optuna

from strategy_search.errors import StorageError
from strategy_search.trial_record import StudyAttr, set_study_attr, study_attr

__all__ = ["hold_sqlite_study"]


def hold_sqlite_study(study: optuna.Study) -> None:
    """Record this process as the study's holder; refuse (:class:`StorageError`) when another
    process that is still running holds it."""
    holder = study_attr(study, StudyAttr.HOLDER)
    me = _this_process()
    if holder and holder != me and _running(holder):
        raise StorageError(
            f"Study {study.study_name!r} is being searched by process {holder['pid']} on this machine, and a "
            "SQLite store serves one searching process at a time. Wait for that search to end (or stop it), then "
            'run with --resume again; for several processes on one study, use PostgreSQL (README, "Scaling out").'
        )
    set_study_attr(study, StudyAttr.HOLDER, me)


def _this_process() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _start_time(os.getpid())}


def _running(holder: dict[str, Any]) -> bool:
    """Whether the recorded holder is a live process of this machine (another machine's: the
    file is shared over a network, which SQLite does not support anyway; taken as gone)."""
    if holder.get("host") != socket.gethostname():
        return False
    started = _start_time(int(holder.get("pid", -1)))
    return started is not None and started == holder.get("started")


def _start_time(pid: int) -> int | None:
    """A process's start time in clock ticks since boot (None: no such process)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count from its end.
    return int(stat[stat.rindex(")") + 2 :].split()[19])
