"""Issue 16: examples/hil is a template — a copied suite runs, names its model from the command line,
records its golden trace on golden and says so, and fails (not skips) when a required board is missing."""

import pathlib
import shutil

import torch  # noqa: F401  imported before pytester snapshots sys.modules: re-importing torch in-process crashes

from ttfs_deploy.measure.trace import load_trace

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "hil"


def _copy(pytester, limit=30):
    suite = pytester.path / "mysuite"
    shutil.copytree(EXAMPLE, suite)
    config = suite / "ttfs-suite.yaml"
    config.write_text(config.read_text().replace("limit: 100", f"limit: {limit}"))
    (suite / "golden" / "mnist-s4nn.npz").unlink()  # recorded for 100 digits; this copy runs fewer
    return suite


def test_copied_suite_records_on_golden_then_passes_and_says_what_it_wrote(pytester):
    suite = _copy(pytester)
    recorded = pytester.runpytest_subprocess(str(suite), "--ttfs-update-golden")  # no --ttfs-target given
    recorded.assert_outcomes(passed=3, skipped=1)
    trace = suite / "golden" / "mnist-s4nn.npz"
    recorded.stdout.fnmatch_lines(
        [f"ttfs-deploy: wrote golden trace {trace} from target golden (30 samples, early stop True*"]
    )
    stored = load_trace(trace)
    assert stored.target == "golden" and stored.early_stop and stored.layers[0].shape == (30, 784)
    pytester.runpytest_subprocess(str(suite), "--ttfs-target", "golden").assert_outcomes(passed=3, skipped=1)


def test_model_from_the_command_line_and_the_floor_from_the_budget(pytester):
    suite = _copy(pytester)
    other = pytester.path / "agg.pt"
    shutil.copy(REPO / "models" / "mnist-aggressive.pt", other)
    args = (str(suite), "--ttfs-target", "golden", "--ttfs-model", str(other))
    result = pytester.runpytest_subprocess(*args, "--ttfs-update-golden")
    assert (suite / "golden" / "agg.npz").is_file()  # the trace is named after the model given
    budget = suite / "budget.yaml"
    budget.write_text(budget.read_text().replace("min_accuracy: 0.92", "min_accuracy: 0.99"))
    result = pytester.runpytest_subprocess(*args)
    result.stdout.fnmatch_lines(["*accuracy * below the budget's 99.00%*"])
    result.assert_outcomes(passed=1, failed=2, skipped=1)  # accuracy test and budget both read min_accuracy


def test_missing_board_skips_with_the_pytest_option_and_fails_when_required(pytester):
    suite = _copy(pytester)
    skipped = pytester.runpytest_subprocess(str(suite), "--ttfs-target", "loihi-hw", "-rs")
    skipped.assert_outcomes(skipped=4)
    from ttfs_deploy.backends import missing

    skipped.stdout.fnmatch_lines([f"*Loihi hardware not available: {missing('loihi-hw')[:20]}*"])
    if "loihi-sim" in missing("loihi-hw"):  # with Lava but without lava-loihi, the advice names the pytest option
        skipped.stdout.fnmatch_lines(["*--ttfs-target loihi-sim*"])
    assert "--target loihi-sim" not in skipped.stdout.str().replace("--ttfs-target", "")
    required = pytester.runpytest_subprocess(str(suite), "--ttfs-require-hw")
    required.assert_outcomes(errors=4)
    assert required.ret != 0
    required.stdout.fnmatch_lines(["*Loihi board required (--ttfs-require-hw) but not available*"])


def test_within_budget_names_an_unknown_measurement(tmp_path):
    import pytest

    from ttfs_deploy import data
    from ttfs_deploy.compiler.hardware import PROFILE_DIR
    from ttfs_deploy.pipelines.run import run_target
    from ttfs_deploy.pytest_plugin import GoldenChecks

    profile = tmp_path / "noenergy.yaml"  # loihi1 without the idle-update energy: energy is unknown
    lines = (PROFILE_DIR / "loihi1.yaml").read_text().splitlines()
    profile.write_text("\n".join(line for line in lines if "neuron_update_inactive: {value: 52" not in line) + "\n")
    budget = tmp_path / "budget.yaml"
    budget.write_text("budget: {max_energy_nj: 5000}\n")
    outcome = run_target("mnist-s4nn", "golden", data.load("mnist-5k:val").head(5), profile="loihi1")
    with pytest.raises(AssertionError, match="max_energy_nj measured unknown, limit 5000"):
        GoldenChecks(False, str(profile), "golden", []).within_budget(outcome, budget)
