"""``ttfs-deploy`` command line: parse arguments, call the library, print. No logic lives here.

Every user error (bad file, unknown name, impossible size) becomes one line on stderr and exit
status 2; nothing is half-written.
"""

from __future__ import annotations

import argparse
import signal
import sys

from ttfs_deploy.cli.common import Parser
from ttfs_deploy.errors import TtfsError, short

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``ttfs-deploy`` parser: one sub-command group per module of this package."""
    from ttfs_deploy.cli import demo_cmd, deploy_cmds, gan_cmds, interop_cmds, measure_cmds, rate_cmds, train_cmds

    parser = Parser(prog="ttfs-deploy", description="Train time-to-first-spike networks and deploy them.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in (train_cmds, rate_cmds, deploy_cmds, measure_cmds, demo_cmd, gan_cmds, interop_cmds):
        module.add_parsers(sub)
    return parser


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("ttfs-deploy")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``ttfs-deploy`` console script; returns the exit status.

    Ctrl-C, SIGTERM and SIGHUP at any point (start-up included) end the command through its clean-up
    with one line and status 128 + signal (:mod:`ttfs_deploy.signals`).
    """
    from ttfs_deploy.signals import Terminated, exit_status, terminable

    try:
        with terminable():
            return _main(argv)
    except KeyboardInterrupt as interrupt:
        if isinstance(interrupt, Terminated):
            name = signal.Signals(interrupt.signum).name
            sys.stderr.write(f"ttfs-deploy: terminated by {name}; stopped cleanly, nothing half-written\n")
        else:
            sys.stderr.write("ttfs-deploy: interrupted\n")
        return exit_status(interrupt)


def _main(argv: list[str] | None) -> int:
    from ttfs_deploy.reproducible import pin_cpu_kernels

    pin_cpu_kernels()  # before any tensor operation: a seeded run gives the same bits on any CPU
    from ttfs_deploy.backends.lava_sim import LavaRunError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TtfsError as err:
        sys.stderr.write(f"ttfs-deploy: error: {err}\n")
        return 2
    except LavaRunError as err:  # the simulator failed or hung: not the user's input, but no traceback either
        sys.stderr.write(f"ttfs-deploy: Lava run failed: {err}\n")
        return 1
    except BrokenPipeError:  # `ttfs-deploy ... | head`: the reader left; say nothing more
        _silence_stdout()
        return 141
    except (OSError, MemoryError, RecursionError) as err:  # the safety net: still one line, no traceback
        sys.stderr.write(f"ttfs-deploy: error: {_one_line(err)}\n")
        return 2


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    if isinstance(err, MemoryError):
        return "out of memory (an input claims a size this machine cannot hold)"
    if isinstance(err, RecursionError):
        return "input nested too deeply"
    return short(str(err))


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at /dev/null so that flush cannot raise
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    raise SystemExit(main())
