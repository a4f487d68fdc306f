"""Clean interruption: SIGTERM/SIGHUP/SIGINT end a command through its ``finally`` blocks, and no
worker process outlives the command.

* :func:`terminable` (the CLI wraps every command in it): SIGTERM and SIGHUP raise
  :class:`Terminated` (a ``KeyboardInterrupt``) in the main thread, as Ctrl-C does, so temporary
  files are removed and Lava's runtime is stopped; the CLI then prints one line and exits with
  ``128 + signal`` (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
* :func:`worker_children`: processes forked while it is active (Lava's runtime workers and shared
  memory manager) ignore Ctrl-C (the parent stops them; no worker tracebacks), take SIGTERM's
  default action, and are killed by the kernel when their parent dies (``PR_SET_PDEATHSIG``), even
  by SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading

__all__ = ["Terminated", "terminable", "worker_children", "exit_status"]

_CATCH = (signal.SIGTERM, signal.SIGHUP)
_PR_SET_PDEATHSIG = 1
_children_guarded = 0


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM or SIGHUP; raised where the main thread was."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise(signum, frame) -> None:
    for sig in _CATCH:  # the first signal ends the command; later ones must not interrupt the clean-up
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def terminable():
    """While the block runs (main thread only), SIGTERM and SIGHUP raise :class:`Terminated`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {sig: signal.signal(sig, _raise) for sig in _CATCH}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """The shell's status for a command ended by ``interrupt``: 128 + the signal number."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the parent's clean-up still terminates its workers
        pass


def _after_fork_in_child() -> None:
    if not _children_guarded:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    _die_with_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextlib.contextmanager
def worker_children():
    """Processes forked inside the block ignore Ctrl-C and die with their parent (see the module doc)."""
    global _children_guarded
    _children_guarded += 1
    try:
        yield
    finally:
        _children_guarded -= 1
