"""What every command shares: the one-line-error parser, option types, output checks, run options."""

from __future__ import annotations

import argparse
import pathlib
import sys

from ttfs_deploy.errors import UsageError

__all__ = ["Parser", "limit", "run_model", "check_output", "floats", "early_stop_args", "run_args", "ON_THE_FLY"]


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def limit(data, limit: int | None):
    if limit is None:
        return data
    if limit <= 0:
        raise UsageError(f"--limit must be a positive number of samples, got {limit}")
    return data.head(limit)


def run_model(args: argparse.Namespace):
    """Run ``args.model`` on ``args.target`` over ``args.data`` (first ``args.limit``): (dataset, Outcome)."""
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.pipelines.run import run_target

    dataset = limit(data_mod.load(args.data), args.limit)
    return dataset, run_target(
        args.model, args.target, dataset, profile=args.profile, early_stop=args.early_stop, progress=not args.json
    )


def check_output(path: str) -> pathlib.Path:
    out = pathlib.Path(path)
    if out.is_dir():
        raise UsageError(f"output {out} is a directory; give a file name such as {out / 'model.pt'}")
    if not out.parent.exists():
        raise UsageError(f"output directory {out.parent} does not exist")
    return out


def floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError(f"values must be positive, got {text!r}")
    return values


def early_stop_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--early-stop",
        dest="early_stop",
        action="store_true",
        default=None,
        help="end each sample at its first output spike (default on loihi-sim/loihi-hw)",
    )
    group.add_argument(
        "--no-early-stop",
        dest="early_stop",
        action="store_false",
        help="simulate all T steps of every sample (default on golden)",
    )


def run_args(
    p: argparse.ArgumentParser, targets: tuple[str, ...], target: str, profile: str, profile_help: str
) -> None:
    """The options every command that runs a model shares: target, profile, data, limit, early stop, --json."""
    from ttfs_deploy.data import DATA_SPECS

    p.add_argument("--target", default=target, choices=targets, metavar="TARGET", help=" | ".join(targets))
    p.add_argument("--profile", default=profile, help=profile_help)
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=int, help="only the first N samples")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    early_stop_args(p)


ON_THE_FLY = "hardware profile when a .pt is compiled on the fly"
