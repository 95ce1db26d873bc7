"""What the commands' parsers share: the table each group of commands adds its commands to
(every command takes ``--debug`` after its name too; a config command takes the run config and
``--set``), and the argparse types that check a value before any work."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from strategy_search.thresholds import ThresholdRule

__all__ = ["CommandTable", "at_least_one", "threshold_rule"]

Handler = Callable[[argparse.Namespace], int]
Options = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class _Command:
    name: str
    help: str
    handler: Handler
    options: Options | None
    takes_config: bool


class CommandTable:
    """The commands, as each group of them adds its own; :meth:`attach` makes them the
    parser's subcommands in the order the help lists them."""

    def __init__(self) -> None:
        self._commands: list[_Command] = []

    def add(
        self, name: str, help_text: str, handler: Handler, *, options: Options | None = None, config: bool = False
    ) -> None:
        """``options(parser)`` adds the command's own arguments; ``config``: it reads a run config."""
        self._commands.append(_Command(name, help_text, handler, options, config))

    def attach(self, parser: argparse.ArgumentParser, *, order: Sequence[str]) -> None:
        """Subcommands of ``parser``, those named in ``order`` first, in that order."""
        # The same flag after the command name; SUPPRESS keeps it from resetting one given before.
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks")
        subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
        listed = sorted(self._commands, key=lambda c: order.index(c.name) if c.name in order else len(order))
        for command in listed:
            sub = subparsers.add_parser(command.name, help=command.help, description=command.help, parents=[common])
            if command.takes_config:
                _add_config_arguments(sub)
            if command.options is not None:
                command.options(sub)
            sub.set_defaults(handler=command.handler)


def _add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="run config YAML")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a config value (repeatable), e.g. --set search.n_trials=8",
    )


def at_least_one(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1; got {text!r}")
    return value


def threshold_rule(text: str) -> str:
    """argparse type: a threshold rule checked at once, so a typo fails before any work."""
    try:
        return str(ThresholdRule.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
