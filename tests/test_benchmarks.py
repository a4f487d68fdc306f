"""The benchmark scripts still run and still check what they claim (tiny sizes; speed is not asserted)."""

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["784-400-10", "784-30-20-10"])
def test_bench_train_runs_and_both_implementations_agree(arch):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_train.py"), "--arch", arch, "--ref-samples", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["arch"] == arch and result["images"] == 4500
    assert result["max_weight_difference_batch1_20_images"] < 1e-9
    # the reported speed-up is the ratio of the two measured times (rounding allowed for), not a constant
    ratio = result["stepwise_reference_epoch_s"] / result["batched_epoch_s"]
    assert abs(result["speedup_vs_stepwise"] - ratio) <= 0.06 * ratio + 0.1


@pytest.mark.slow
@pytest.mark.requires_lava
def test_bench_lif_runs_and_golden_equals_lava():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_lif.py"), "--lava-samples", "5", "--skip-training", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["backends"]
    assert result["equal_spike_for_spike"] and result["golden_all_equal_first"] and result["n"] == 5
    assert (
        abs(result["speedup_same_samples"] - result["loihi_sim_s"] / result["golden_s"])
        < 1e-6 * result["speedup_same_samples"]
    )
