"""Hardware-in-the-loop regression suite for the shipped MNIST model: copy this folder for your model.

    pytest examples/hil --ttfs-target loihi-sim          # Lava's Loihi CPU simulator (default)
    pytest examples/hil --ttfs-target golden             # the integer golden simulator (fast)
    pytest examples/hil --ttfs-target loihi-hw           # a Loihi board (skipped, with the reason, without one)
    pytest examples/hil --ttfs-update-golden             # re-record the golden trace after an intended change

The ttfs_* fixtures come from ttfs-deploy's pytest plugin (registered on install; no conftest needed).
"""

import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
MODEL = HERE.parents[1] / "models" / "mnist-s4nn.pt"
GOLDEN_TRACE = HERE / "golden" / "mnist-s4nn.npz"
DIGITS = 100  # held-out digits from mnist-5k:val per run


@pytest.fixture(scope="module")
def outcome(ttfs_compile, ttfs_run):
    """One compile and one run per session, shared by the checks below.

    Early stop is asked for on every target (the deployed model stops at its decision), so the budget
    below holds the same on golden, loihi-sim and a board."""
    return ttfs_run(ttfs_compile(MODEL), "mnist-5k:val", limit=DIGITS, early_stop=True)


def test_spike_trace_matches_golden(outcome, ttfs_golden):
    ttfs_golden.matches(outcome, GOLDEN_TRACE)


def test_accuracy_holds(outcome):
    assert outcome.result.accuracy >= 0.92, outcome.result.to_json()["accuracy"]


def test_spike_budget(outcome, ttfs_golden):
    ttfs_golden.within_budget(outcome, HERE / "budget.yaml")


@pytest.mark.loihi_hw
def test_board_matches_golden(ttfs_compile, ttfs_run, ttfs_golden):
    """Runs only where lava-loihi and a board are present (skipped with the reason elsewhere), whatever
    --ttfs-target says: the same artifact, streamed on Loihi, must equal the golden trace."""
    board = ttfs_run(ttfs_compile(MODEL), "mnist-5k:val", limit=DIGITS, early_stop=True, target="loihi-hw")
    ttfs_golden.matches(board, GOLDEN_TRACE)
