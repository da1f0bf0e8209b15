"""What every example's command line shares: help with defaults, checked arguments, and user
errors printed as one line with exit status 2 instead of a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["device", "parser", "positive_int", "run"]


class _Formatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (unless it is None or False, which the help text explains)
    and keeps the description's line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose ``--help`` shows every option's default."""
    return argparse.ArgumentParser(prog=prog, description=description, formatter_class=_Formatter)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (the error names the value)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {value}")
    return value


def device(text: str) -> str:
    """An argparse type: a device idrak can use here (``cpu``, ``cuda``, ``cuda:1``, ...)."""
    import idrak
    from idrak.errors import IdrakError

    try:
        idrak.zeros(1, device=text).numpy()
    except (IdrakError, ValueError, RuntimeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise argparse.ArgumentTypeError(f"{text!r} cannot be used here: {first}") from None
    return text


def run(main: Callable[[list[str] | None], Any], prog: str) -> None:
    """Call ``main()``; a user error (missing data, a bad file) prints ``prog: error: ...`` on one
    line and exits with status 2."""
    from idrak.errors import IdrakError

    try:
        main(None)
    except (IdrakError, FileNotFoundError, ValueError) as exc:
        message = " ".join(str(exc).split())
        print(f"{prog}: error: {message}", file=sys.stderr)
        sys.exit(2)
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a message for the user: the same one-line form
            print(f"{prog}: error: {' '.join(exc.code.split())}", file=sys.stderr)
            sys.exit(2)
        raise
    except KeyboardInterrupt:
        sys.exit(130)
