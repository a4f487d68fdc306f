"""Atomic file writes: nothing half-written is ever left at the output path."""

from __future__ import annotations

import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import BinaryIO

__all__ = ["atomic_write"]


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> pathlib.Path:
    """Call ``write(stream)`` on a temporary file beside ``path``, then rename it over ``path``.

    The file gets the usual permissions (0666 minus the umask; ``mkstemp`` alone would give 0600).
    On any error the temporary file is removed and the error propagates.
    """
    path = pathlib.Path(path)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
    return path
