"""The HIL pytest plugin, exercised with pytester: passing suite, changed model, golden update, hw skips."""

import pathlib
import shutil

import pytest
import torch  # imported before pytester snapshots sys.modules: re-importing torch in-process crashes

from ttfs_deploy.measure.trace import diff_traces, load_trace

REPO = pathlib.Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "mnist-s4nn.pt"

SUITE = """
import pathlib
import pytest

MODEL = pathlib.Path(r"{model}")
TRACE = pathlib.Path(__file__).parent / "golden.npz"

@pytest.fixture(scope="module")
def outcome(ttfs_compile, ttfs_run):
    return ttfs_run(ttfs_compile(MODEL, calibration=None), "mnist-5k:val", limit=12)

def test_trace(outcome, ttfs_golden):
    ttfs_golden.matches(outcome, TRACE)

def test_budget(outcome, ttfs_golden):
    ttfs_golden.within_budget(outcome, pathlib.Path(__file__).parent / "budget.yaml")

@pytest.mark.loihi_hw
def test_board():
    pass
"""


@pytest.fixture
def suite(pytester, tmp_path):
    model = tmp_path / "model.pt"
    shutil.copy(MODEL, model)
    pytester.makepyfile(test_suite=SUITE.format(model=model))
    (pytester.path / "budget.yaml").write_text("budget: {max_spikes_per_inference: 400, min_accuracy: 0.5}\n")
    return pytester, model


def test_record_then_pass(suite):
    pytester, _ = suite
    first = pytester.runpytest_subprocess("--ttfs-target", "golden", "--ttfs-update-golden")
    first.assert_outcomes(passed=2, skipped=1)
    trace = pytester.path / "golden.npz"
    assert trace.exists() and load_trace(trace).layers[0].shape == (12, 784)
    again = pytester.runpytest_subprocess("--ttfs-target", "golden")
    again.assert_outcomes(passed=2, skipped=1)


def test_missing_golden_trace_fails_with_advice(suite):
    pytester, _ = suite
    result = pytester.runpytest_subprocess("--ttfs-target", "golden")
    result.assert_outcomes(failed=1, passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*no golden trace at*--ttfs-update-golden*"])


def test_changed_model_names_the_first_differing_spike(suite):
    pytester, model = suite
    pytester.runpytest_subprocess("--ttfs-target", "golden", "--ttfs-update-golden").assert_outcomes(
        passed=2, skipped=1
    )
    data = torch.load(model, weights_only=True)
    data["state_dict"]["weights.0"][:50] *= 1.5  # a "retrained" model: 50 hidden neurons fire earlier
    torch.save(data, model)
    result = pytester.runpytest_subprocess("--ttfs-target", "golden")
    result.assert_outcomes(failed=1, passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*first difference: sample *, layer 1, neuron *: spike time * vs *"])


def test_update_golden_rewrites_the_trace(suite):
    pytester, model = suite
    pytester.runpytest_subprocess("--ttfs-target", "golden", "--ttfs-update-golden")
    before = load_trace(pytester.path / "golden.npz")
    data = torch.load(model, weights_only=True)
    data["state_dict"]["weights.0"][:50] *= 1.5
    torch.save(data, model)
    pytester.runpytest_subprocess("--ttfs-target", "golden", "--ttfs-update-golden").assert_outcomes(
        passed=2, skipped=1
    )
    assert not diff_traces(before, load_trace(pytester.path / "golden.npz")).equal
    pytester.runpytest_subprocess("--ttfs-target", "golden").assert_outcomes(passed=2, skipped=1)


def test_hardware_target_skips_with_the_reason(suite):
    pytester, _ = suite
    result = pytester.runpytest_subprocess("--ttfs-target", "loihi-hw", "-rs")
    result.assert_outcomes(skipped=3)
    from ttfs_deploy.backends import missing

    # what is missing depends on the machine (lava-nc, then lava-loihi, then a board): the reason says which
    result.stdout.fnmatch_lines([f"*Loihi hardware not available: {missing('loihi-hw')[:20]}*"])


@pytest.mark.requires_lava
def test_same_suite_runs_on_the_lava_simulator(suite):
    pytester, _ = suite
    pytester.runpytest_subprocess("--ttfs-target", "golden", "--ttfs-update-golden").assert_outcomes(
        passed=2, skipped=1
    )
    result = pytester.runpytest_subprocess("--ttfs-target", "loihi-sim", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, skipped=1)
