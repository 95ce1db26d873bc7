"""What the commands read, checked as a search checks it: a config's table as the search's
prepared data, a data file named on the command line, the stores a reading command needs to
exist, and the MLflow tag that leads from a search's parent run to its study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strategy_search.config import RunConfig, missing_store
from strategy_search.config_table import load_data
from strategy_search.errors import ConfigError, UsageError
from strategy_search.prepared import PreparedData
from strategy_search.table_file import read_table

__all__ = ["STUDY_NAME_TAG", "prepared", "read_data", "require_stores"]

STUDY_NAME_TAG = "strategy_search.study_name"


def prepared(config: RunConfig) -> PreparedData:
    """The config's table with every check the search makes of it and of the settings, so a
    mistake is refused before any store is opened."""
    return load_data(config, check_settings=True)


def read_data(path: str) -> Any:
    """A data file named on the command line, with the same checks and messages as data.path."""
    try:
        return read_table(Path(path).resolve(), path)
    except ConfigError as exc:
        raise UsageError(exc.errors[0][1]) from None


def require_stores(config: RunConfig, *uris: str) -> None:
    """Commands that read a search's stores never create them: a missing file is a mistake
    (usually another config, or a store written before paths started at the config's folder)."""
    for uri in uris:
        missing = missing_store(uri)
        if missing is not None:
            raise UsageError(
                f"no search has written {missing} yet (relative store paths start at the config's folder, "
                f"{config.base_folder}); run `strategy-search run {config.source_path}` first"
            )
