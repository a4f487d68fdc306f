"""What every command shares: the one-line-error parser, option types, output checks, run options."""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import sys

from ttfs_deploy.errors import UsageError, short
from ttfs_deploy.limits import DEFAULT_TIMEOUT_CAP_S, MAX_SEED, MAX_T, MAX_TIMEOUT_S

__all__ = [
    "kernels_in_use",
    "Parser",
    "limit",
    "run_model",
    "check_output",
    "check_output_folder",
    "print_json",
    "json_text",
    "int_in",
    "float_in",
    "POSITIVE",
    "NON_NEGATIVE",
    "SEED",
    "STEPS",
    "floats",
    "early_stop_args",
    "run_args",
    "ON_THE_FLY",
]


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except empty ones (None, False) and those the help states."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        empty = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if empty or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, like every other user error
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def limit(data, limit: int | None):
    if limit is None:
        return data
    if limit <= 0:
        raise UsageError(f"--limit must be a positive number of samples, got {limit}")
    return data.head(limit)


def run_model(args: argparse.Namespace, check=None):
    """Run ``args.model`` on ``args.target`` over ``args.data`` (first ``args.limit``): (dataset, Outcome).

    ``check(ir)`` is called with the deployed network before the run (see ``run_target``)."""
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.pipelines.run import run_target

    dataset = limit(data_mod.load(args.data), args.limit)
    calibration = None if args.calibration == "none" else args.calibration
    if args.calibration_limit <= 0:
        raise UsageError(f"--calibration-limit must be a positive number of samples, got {args.calibration_limit}")
    return dataset, run_target(
        args.model,
        args.target,
        dataset,
        profile=args.profile,
        early_stop=args.early_stop,
        progress=not args.json,
        calibration=calibration,
        calibration_samples=args.calibration_limit,
        timeout_s=getattr(args, "timeout", None),
        input_seed=getattr(args, "input_seed", None),
        lead=getattr(args, "lead", None),
        check=check,
    )


def check_output(path: str, inputs=()) -> pathlib.Path:
    """An output file checked before the job: writable folder, sane name, not a folder, not an input."""
    from ttfs_deploy.fileio import check_output_file

    return check_output_file(path, UsageError, inputs)


def check_output_folder(path: str, names=()) -> pathlib.Path:
    """A report folder checked before the job (creates nothing): see :func:`ttfs_deploy.fileio.check_output_dir`."""
    from ttfs_deploy.fileio import check_output_dir

    return check_output_dir(path, UsageError, names)


def json_text(value, **options) -> str:
    """``json.dumps`` that never writes NaN or infinity (they are not JSON): every command's JSON goes through it."""
    try:
        return json.dumps(value, allow_nan=False, **options)
    except ValueError:
        raise UsageError("the result holds NaN or infinite values; there was nothing to measure") from None


def print_json(value) -> None:
    """Print one JSON object (:func:`json_text`)."""
    print(json_text(value))


def _number(text: str, kind: type, low, high, what: str):
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"expected {what}, got {short(text)}") from None
    if kind is float and not math.isfinite(value) or not low <= value <= high:
        raise argparse.ArgumentTypeError(f"expected {what} in {low:g}..{high:g}, got {short(text)}")
    return value


def int_in(low: int, high: int, what: str = "an integer"):
    """An argparse type: an integer in ``low..high``."""
    return lambda text: _number(text, int, low, high, what)


def float_in(low: float, high: float, what: str = "a finite number"):
    """An argparse type: a finite number in ``low..high``."""
    return lambda text: _number(text, float, low, high, what)


POSITIVE = int_in(1, 2**31 - 1, "a positive integer")
NON_NEGATIVE = int_in(0, 2**31 - 1, "a non-negative integer")
SEED = int_in(0, MAX_SEED, "a seed")
STEPS = int_in(2, MAX_T, "a number of steps (ttfs_deploy.limits.MAX_T)")
LEAD = int_in(1, MAX_T, "a lead in output spikes")


def floats(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {short(text)}") from None
    if any(not 0 < v <= 1e12 for v in values):  # NaN fails this too
        raise argparse.ArgumentTypeError(f"values must be finite positive numbers, got {short(text)}")
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
    p: argparse.ArgumentParser, targets: tuple[str, ...], target: str, profile: str | None, profile_help: str
) -> None:
    """The options every command that runs a model shares: target, profile, calibration, data, limit, early stop, --json.

    ``profile`` None (every command): the artifact's own profile, else loihi2 (the compiler's default).
    """
    from ttfs_deploy.compiler.pipeline import CALIBRATION_DATA, CALIBRATION_SAMPLES, DEFAULT_PROFILE
    from ttfs_deploy.data import DATA_SPECS

    p.add_argument("--target", default=target, choices=targets, metavar="TARGET", help=" | ".join(targets))
    p.add_argument(
        "--profile",
        default=profile,
        help=f"{profile_help} (default: a .ttfs artifact's own profile, else {DEFAULT_PROFILE})",
    )
    p.add_argument(
        "--calibration",
        default=CALIBRATION_DATA,
        help="a .pt is compiled as `compile` does: data that choose its clipping ('none': no clipping)",
    )
    p.add_argument(
        "--calibration-limit",
        type=POSITIVE,
        default=CALIBRATION_SAMPLES,
        help="calibration samples when compiling a .pt",
    )
    p.add_argument("--data", default="mnist-5k:val", help=f"data: {DATA_SPECS}")
    p.add_argument("--limit", type=POSITIVE, help="only the first N samples (default: all)")
    p.add_argument(
        "--timeout",
        type=float_in(1.0, MAX_TIMEOUT_S, "seconds"),
        help="wall-clock limit of a loihi-sim/loihi-hw run in seconds (default: 60 s + 20 ms per sample "
        f"and step, at most {DEFAULT_TIMEOUT_CAP_S:.0f} s)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--input-seed",
        type=SEED,
        default=None,
        help="rate-coded (LIF) networks only: seed of the Poisson input spikes, the same on every target "
        "(default 0; recorded in --json)",
    )
    p.add_argument(
        "--lead",
        type=LEAD,
        default=None,
        help="rate-coded (LIF) classifiers only: the causal early-stop rule reported as `causal` decides "
        "once one output neuron's count leads every other by this many spikes (default 3)",
    )
    early_stop_args(p)


ON_THE_FLY = "hardware profile a .pt is compiled under and results are priced with"


def kernels_in_use() -> dict[str, str]:
    """PyTorch's CPU kernels as recorded in a checkpoint; warns (one stderr line) when they are not the pinned
    portable ones, because then a seeded training run repeats only on CPUs like this one.

    Call it after every input is validated, so that bad input still gives exactly one line."""
    from ttfs_deploy.reproducible import PINNED_KERNELS, cpu_kernels

    kernels = cpu_kernels()
    if kernels != PINNED_KERNELS:
        print(
            f"ttfs-deploy: warning: PyTorch runs its {kernels['aten']} kernels with MKL_CBWR="
            f"{kernels['mkl_cbwr'] or 'unset'} (environment); this run repeats only on CPUs like this one",
            file=sys.stderr,
        )
    return kernels
