"""The one base class of every user error: bad input, unknown names, impossible sizes.

The CLI catches :class:`TtfsError` alone and prints its message as one line with exit status 2.
Each stage subclasses it (``IRError``, ``ProfileError``, ...) so callers can tell them apart, and
the message is written for the user: it names the file or option, the value and the limit.
"""

from __future__ import annotations

import reprlib

__all__ = ["TtfsError", "UsageError", "short"]


class TtfsError(ValueError):
    """A user error whose message is one line; the CLI exits with status 2."""

    def __str__(self) -> str:  # a message built from file contents could hold newlines
        return " ".join(super().__str__().split())


class UsageError(TtfsError):
    """A bad command-line value that argparse cannot catch itself."""


_SHORT = reprlib.Repr()
_SHORT.maxstring = 60
_SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxtuple = _SHORT.maxdict = 6
_SHORT.maxlevel = 2


def short(value: object) -> str:
    """A bounded ``repr`` of ``value`` for messages (a hostile file's value is never printed whole)."""
    return _SHORT.repr(value)
