"""pytest plugin for hardware-in-the-loop regression tests (registered through the ``pytest11`` entry point).

Options:

* ``--ttfs-target golden|loihi-sim|loihi-hw``: where ``ttfs_run`` runs (default loihi-sim; golden with
  ``--ttfs-update-golden``; loihi-hw with ``--ttfs-require-hw``);
* ``--ttfs-profile NAME``: hardware profile for compiling and energy (default: an artifact's own, else loihi2);
* ``--ttfs-model PATH`` (a file or a shipped model's name), ``--ttfs-trace PATH``, ``--ttfs-budget PATH``:
  what the suite tests, overriding its ``ttfs-suite.yaml``;
* ``--ttfs-update-golden``: record the runs as the new golden traces instead of comparing (a line in
  the terminal summary says which file was written from which target);
* ``--ttfs-require-hw``: a missing board fails the tests that need it instead of skipping them.

A suite folder may hold one ``ttfs-suite.yaml`` (``model``, ``data``, ``limit``, ``trace``, ``budget``;
paths relative to the folder); the trace defaults to ``golden/<model name>.npz`` and the budget to
``budget.yaml`` beside the test file, so a copied folder runs as it is.

Fixtures: ``ttfs_target``, ``ttfs_profile``, ``ttfs_suite`` (the :class:`Suite` of the test's folder),
``ttfs_compile(model)`` → compiled ``.ttfs`` path (compiled by
:func:`ttfs_deploy.compiler.pipeline.deploy`, as ``ttfs-deploy compile`` does; once per model per
session), ``ttfs_run(compiled, data, limit=None, early_stop=None, target=None)`` →
:class:`ttfs_deploy.pipelines.run.Outcome`, ``ttfs_golden`` → ``.matches(outcome, trace_path)`` and
``.within_budget(outcome, budget_path)``.

Marker: ``@pytest.mark.loihi_hw`` — the test needs a Loihi board; it is skipped, with the reason,
when lava-loihi or a board is missing (failed under ``--ttfs-require-hw``). Any test that runs on
``--ttfs-target loihi-hw`` is treated the same way, so one suite runs unchanged on the simulator and
on hardware.

This module imports nothing heavy at load time: pytest loads it in every session of the environment.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import pytest

from ttfs_deploy.targets import COMPILE_TARGETS

__all__ = ["TraceMismatch", "Suite", "SUITE_FILE"]

SUITE_FILE = "ttfs-suite.yaml"
_SUITE_KEYS = ("model", "data", "limit", "trace", "budget")
_WRITTEN = pytest.StashKey[list]()


class TraceMismatch(AssertionError):
    """A run differs from its stored golden trace; the message names the first differing spike."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ttfs-deploy", "ttfs-deploy hardware-in-the-loop regression tests")
    group.addoption(
        "--ttfs-target",
        default=None,
        choices=COMPILE_TARGETS,
        help="target the ttfs_run fixture runs on (default: loihi-sim; golden with --ttfs-update-golden; "
        "loihi-hw with --ttfs-require-hw)",
    )
    group.addoption(
        "--ttfs-profile",
        default=None,
        help="hardware profile for compiling and energy (default: an artifact's own, else loihi2)",
    )
    group.addoption("--ttfs-model", default=None, help="model the suite tests: a .pt/.ttfs path or a shipped name")
    group.addoption("--ttfs-trace", default=None, help="golden trace (default: golden/<model name>.npz in the suite)")
    group.addoption("--ttfs-budget", default=None, help="budget file (default: budget.yaml in the suite)")
    group.addoption(
        "--ttfs-update-golden",
        action="store_true",
        help="record the runs as the new golden traces instead of comparing with them (on golden unless "
        "--ttfs-target says otherwise)",
    )
    group.addoption(
        "--ttfs-require-hw",
        action="store_true",
        help="a board is required: tests that need one fail instead of skipping when it is missing",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "loihi_hw: needs a Loihi board through lava-loihi (skipped without one)")
    config.stash[_WRITTEN] = []


def _target(config: pytest.Config) -> str:
    chosen = config.getoption("--ttfs-target")
    if chosen:
        return chosen
    if config.getoption("--ttfs-require-hw"):
        return "loihi-hw"
    return "golden" if config.getoption("--ttfs-update-golden") else "loihi-sim"


def _hardware_missing() -> str | None:
    from ttfs_deploy.backends import loihi_hw

    reason = loihi_hw.missing()
    return None if reason is None else reason.replace("--target", "--ttfs-target")  # the pytest option here


def pytest_runtest_setup(item: pytest.Item) -> None:
    wants_hw = item.get_closest_marker("loihi_hw") is not None or (
        _target(item.config) == "loihi-hw" and "ttfs_run" in getattr(item, "fixturenames", ())
    )
    if wants_hw:
        reason = _hardware_missing()
        if reason is None:
            return
        if item.config.getoption("--ttfs-require-hw"):
            pytest.fail(f"Loihi board required (--ttfs-require-hw) but not available: {reason}", pytrace=False)
        pytest.skip(f"Loihi hardware not available: {reason} (--ttfs-require-hw makes this a failure)")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    written = config.stash.get(_WRITTEN, [])
    if not config.getoption("--ttfs-update-golden"):
        return
    if not written:
        terminalreporter.write_line("ttfs-deploy: --ttfs-update-golden given, but no golden trace was written")
    for line in written:
        terminalreporter.write_line(f"ttfs-deploy: {line}")


@dataclass(frozen=True)
class Suite:
    """What a suite folder tests: options first, then its ``ttfs-suite.yaml``, then the defaults."""

    folder: pathlib.Path
    model: pathlib.Path
    trace: pathlib.Path
    budget: pathlib.Path
    data: str = "mnist-5k:val"
    limit: int | None = None

    @property
    def min_accuracy(self) -> float:
        """The budget's ``min_accuracy``: the one place a suite writes its accuracy floor."""
        from ttfs_deploy.measure.budget import load_budget

        floor = load_budget(self.budget).limits.get("min_accuracy")
        if floor is None:
            pytest.fail(f"{self.budget} sets no min_accuracy", pytrace=False)
        return floor


def _suite_config(folder: pathlib.Path) -> dict:
    path = folder / SUITE_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        pytest.fail(f"{path}: not valid YAML ({type(err).__name__})", pytrace=False)
    unknown = set(data) - set(_SUITE_KEYS) if isinstance(data, dict) else {"(not a mapping)"}
    if unknown:
        pytest.fail(f"{path}: unknown keys {sorted(unknown)}; known: {', '.join(_SUITE_KEYS)}", pytrace=False)
    limit = data.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0):
        pytest.fail(f"{path}: limit must be a positive number of samples, got {limit!r}", pytrace=False)
    return data


@pytest.fixture(scope="module")
def ttfs_suite(request: pytest.FixtureRequest) -> Suite:
    """The :class:`Suite` of the requesting test's folder (model, trace, budget, data, limit)."""
    from ttfs_deploy.models import resolve_model

    folder = request.path.parent
    config = _suite_config(folder)
    option = request.config.getoption

    def path(option_name: str, key: str, default: pathlib.Path | None) -> pathlib.Path | None:
        if option(option_name):
            return pathlib.Path(option(option_name)).resolve()
        return folder / config[key] if key in config else default

    model_text = option("--ttfs-model") or config.get("model")
    if not model_text:
        pytest.fail(f"no model to test: pass --ttfs-model PATH or set model: in {folder / SUITE_FILE}", pytrace=False)
    base = pathlib.Path.cwd() if option("--ttfs-model") else folder
    model = resolve_model(base / model_text if (base / model_text).exists() else model_text)
    if not model.is_file():
        pytest.fail(f"model {model_text!r} is neither a file nor a shipped model's name", pytrace=False)
    trace = path("--ttfs-trace", "trace", folder / "golden" / f"{model.stem}.npz")
    budget = path("--ttfs-budget", "budget", folder / "budget.yaml")
    return Suite(folder, model, trace, budget, str(config.get("data", "mnist-5k:val")), config.get("limit"))


@pytest.fixture(scope="session")
def ttfs_target(request: pytest.FixtureRequest) -> str:
    """The target runs go to: ``--ttfs-target``, else golden when updating traces, else loihi-sim."""
    return _target(request.config)


@pytest.fixture(scope="session")
def ttfs_profile(request: pytest.FixtureRequest) -> str | None:
    """The hardware profile chosen with ``--ttfs-profile`` (None: the artifact's own, else loihi2)."""
    return request.config.getoption("--ttfs-profile")


@pytest.fixture(scope="session")
def ttfs_compile(ttfs_target, ttfs_profile, tmp_path_factory):
    """``ttfs_compile(model)`` → path of the compiled artifact, built as ``ttfs-deploy compile`` builds it."""
    from ttfs_deploy.compiler.pipeline import CALIBRATION_DATA, CALIBRATION_SAMPLES, deploy
    from ttfs_deploy.ir import save_ir
    from ttfs_deploy.models import resolve_model

    cache: dict[tuple, pathlib.Path] = {}

    def compile_model(model, calibration: str | None = CALIBRATION_DATA, calibration_limit: int = CALIBRATION_SAMPLES):
        path = resolve_model(model)
        key = (str(path.resolve()), calibration, calibration_limit)
        if key not in cache:
            deployed = deploy(path, ttfs_target, ttfs_profile, calibration, calibration_limit)
            out = tmp_path_factory.mktemp("ttfs") / (path.stem + ".ttfs")
            save_ir(deployed.ir, out)
            cache[key] = out
        return cache[key]

    return compile_model


@pytest.fixture(scope="session")
def ttfs_run(ttfs_target, ttfs_profile):
    """``ttfs_run(compiled, data_spec, limit=None)`` → Outcome of running on ``--ttfs-target``."""
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.pipelines.run import run_target

    def run(
        compiled,
        data: str = "mnist-5k:val",
        limit: int | None = None,
        early_stop: bool | None = None,
        target: str | None = None,
    ):
        """``target`` overrides ``--ttfs-target`` (e.g. a test that always compares the board with golden)."""
        dataset = data_mod.load(data).head(limit)
        return run_target(str(compiled), target or ttfs_target, dataset, profile=ttfs_profile, early_stop=early_stop)

    return run


class GoldenChecks:
    """Comparisons of a run against stored golden traces and budget files."""

    def __init__(self, update: bool, profile: str | None, record_target: str, written: list[str]):
        self.update, self.profile, self.record_target, self.written = update, profile, record_target, written

    def matches(self, outcome, trace_path) -> None:
        """Assert the run equals the stored trace spike for spike.

        With ``--ttfs-update-golden`` a run on the recording target is written as the new trace
        instead (and listed in the terminal summary); runs on other targets are still compared.
        """
        from ttfs_deploy.measure.trace import diff_traces, load_trace, save_trace

        trace_path = pathlib.Path(trace_path)
        if self.update and outcome.result.target == self.record_target:
            trace_path.parent.mkdir(parents=True, exist_ok=True)
            save_trace(trace_path, outcome.trace())
            self.written.append(
                f"wrote golden trace {trace_path} from target {outcome.result.target} "
                f"({outcome.result.n} samples, early stop {outcome.early_stop}, profile {outcome.profile})"
            )
            return
        if not trace_path.exists():
            pytest.fail(f"no golden trace at {trace_path}; record one with --ttfs-update-golden", pytrace=False)
        diff = diff_traces(load_trace(trace_path), outcome.trace())
        if not diff.equal:
            raise TraceMismatch(f"run differs from golden trace {trace_path}: {diff.message()}")

    def within_budget(self, outcome, budget_path) -> None:
        """Assert every limit of a budget file holds for this run (priced under the run's profile)."""
        from ttfs_deploy.compiler.hardware import load_profile
        from ttfs_deploy.measure.budget import check_budget, load_budget
        from ttfs_deploy.measure.costs import network_costs

        hw = load_profile(self.profile or outcome.profile)
        costs = network_costs(outcome.times, outcome.ir, outcome.early_stop, outcome.result.target, hw)
        failed = [c for c in check_budget(load_budget(budget_path), outcome.result, costs) if not c.passed]
        if failed:
            raise AssertionError(
                f"budget {budget_path} not met (target {outcome.result.target}, profile {hw.name}, "
                f"n = {outcome.result.n}): "
                + "; ".join(
                    f"{c.name} measured {'unknown' if c.measured is None else f'{c.measured:.4g}'}, limit {c.limit:.4g}"
                    for c in failed
                )
            )


@pytest.fixture(scope="session")
def ttfs_golden(request: pytest.FixtureRequest, ttfs_profile, ttfs_target) -> GoldenChecks:
    """Helpers comparing runs with stored golden traces and budgets (see :class:`GoldenChecks`)."""
    config = request.config
    return GoldenChecks(config.getoption("--ttfs-update-golden"), ttfs_profile, ttfs_target, config.stash[_WRITTEN])
