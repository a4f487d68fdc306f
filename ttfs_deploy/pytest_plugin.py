"""pytest plugin for hardware-in-the-loop regression tests (registered through the ``pytest11`` entry point).

Options: ``--ttfs-target golden|loihi-sim|loihi-hw`` (default loihi-sim), ``--ttfs-profile NAME``
(default loihi2), ``--ttfs-update-golden`` (rewrite stored traces instead of comparing).

Fixtures: ``ttfs_target``, ``ttfs_profile``, ``ttfs_compile(model_path)`` → compiled ``.ttfs`` path
(cached per session), ``ttfs_run(compiled, data, limit=None, target=None)`` → :class:`ttfs_deploy.pipelines.run.Outcome`,
``ttfs_golden`` → object with ``.matches(outcome, trace_path)`` and ``.within_budget(outcome, budget_path)``.

Marker: ``@pytest.mark.loihi_hw`` — the test needs a Loihi board; it is skipped, with the reason,
when lava-loihi or a board is missing. Any test that runs on ``--ttfs-target loihi-hw`` is skipped the
same way, so one suite runs unchanged on the simulator and on hardware.

This module imports nothing heavy at load time: pytest loads it in every session of the environment.
"""

from __future__ import annotations

import pathlib

import pytest

__all__ = ["TraceMismatch"]

TARGETS = ("golden", "loihi-sim", "loihi-hw")


class TraceMismatch(AssertionError):
    """A run differs from its stored golden trace; the message names the first differing spike."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ttfs-deploy", "ttfs-deploy hardware-in-the-loop regression tests")
    group.addoption(
        "--ttfs-target",
        default="loihi-sim",
        choices=TARGETS,
        help="target the ttfs_run fixture runs on (default loihi-sim)",
    )
    group.addoption("--ttfs-profile", default="loihi2", help="hardware profile for compiling and energy")
    group.addoption(
        "--ttfs-update-golden",
        action="store_true",
        help="record the runs as the new golden traces instead of comparing with them",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "loihi_hw: needs a Loihi board through lava-loihi (skipped without one)")


def _hardware_missing() -> str | None:
    from ttfs_deploy.backends import loihi_hw

    return loihi_hw.missing()


def pytest_runtest_setup(item: pytest.Item) -> None:
    wants_hw = item.get_closest_marker("loihi_hw") is not None or (
        item.config.getoption("--ttfs-target") == "loihi-hw" and "ttfs_run" in getattr(item, "fixturenames", ())
    )
    if wants_hw:
        reason = _hardware_missing()
        if reason is not None:
            pytest.skip(f"Loihi hardware not available: {reason}")


@pytest.fixture(scope="session")
def ttfs_target(request: pytest.FixtureRequest) -> str:
    """The target chosen with ``--ttfs-target``."""
    return request.config.getoption("--ttfs-target")


@pytest.fixture(scope="session")
def ttfs_profile(request: pytest.FixtureRequest) -> str:
    """The hardware profile chosen with ``--ttfs-profile``."""
    return request.config.getoption("--ttfs-profile")


@pytest.fixture(scope="session")
def ttfs_compile(ttfs_target, ttfs_profile, tmp_path_factory):
    """``ttfs_compile(model_path)`` → path of the compiled artifact (one compile per model per session)."""
    from ttfs_deploy.compiler.pipeline import CALIBRATION_DATA, CALIBRATION_SAMPLES, compile_network, load_network
    from ttfs_deploy.ir import save_ir

    cache: dict[str, pathlib.Path] = {}

    def compile_model(
        model_path, calibration: str | None = CALIBRATION_DATA, calibration_limit: int = CALIBRATION_SAMPLES
    ):
        key = str(pathlib.Path(model_path).resolve())
        if key not in cache:
            from ttfs_deploy import data as data_mod

            cal = data_mod.load(calibration).head(calibration_limit) if calibration else None
            target = "loihi-sim" if ttfs_target == "golden" else ttfs_target
            result = compile_network(load_network(model_path), target, ttfs_profile, cal)
            out = tmp_path_factory.mktemp("ttfs") / (pathlib.Path(model_path).stem + ".ttfs")
            save_ir(result.ir, out)
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

    def __init__(self, update: bool, profile: str):
        self.update, self.profile = update, profile

    def matches(self, outcome, trace_path) -> None:
        """Assert the run equals the stored trace spike for spike (or record it with --ttfs-update-golden)."""
        from ttfs_deploy.measure.trace import diff_traces, load_trace, save_trace

        trace_path = pathlib.Path(trace_path)
        if self.update:
            trace_path.parent.mkdir(parents=True, exist_ok=True)
            save_trace(trace_path, outcome.trace())
            return
        if not trace_path.exists():
            pytest.fail(f"no golden trace at {trace_path}; record one with --ttfs-update-golden")
        diff = diff_traces(load_trace(trace_path), outcome.trace())
        if not diff.equal:
            raise TraceMismatch(f"run differs from golden trace {trace_path}: {diff.message()}")

    def within_budget(self, outcome, budget_path) -> None:
        """Assert every limit of a budget file holds for this run (profiled under --ttfs-profile)."""
        from ttfs_deploy.compiler.hardware import load_profile
        from ttfs_deploy.measure.budget import check_budget, load_budget
        from ttfs_deploy.measure.costs import profile_network

        prof = profile_network(
            outcome.times, outcome.ir, outcome.early_stop, outcome.result.target, load_profile(self.profile)
        ).to_json()
        failed = [c for c in check_budget(load_budget(budget_path), outcome.result.to_json(), prof) if not c.passed]
        if failed:
            raise AssertionError(
                "budget not met: "
                + "; ".join(f"{c.name} measured {c.measured:.4g}, limit {c.limit:.4g}" for c in failed)
            )


@pytest.fixture(scope="session")
def ttfs_golden(request: pytest.FixtureRequest, ttfs_profile) -> GoldenChecks:
    """Helpers comparing runs with stored golden traces and budgets (see :class:`GoldenChecks`)."""
    return GoldenChecks(request.config.getoption("--ttfs-update-golden"), ttfs_profile)
