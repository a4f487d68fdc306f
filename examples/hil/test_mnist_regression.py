"""Hardware-in-the-loop regression suite: a template. Copy the folder, edit ttfs-suite.yaml, run.

    pytest examples/hil                                   # Lava's Loihi CPU simulator (the default target)
    pytest examples/hil --ttfs-target golden              # the integer golden simulator (fast)
    pytest examples/hil --ttfs-target loihi-hw            # a Loihi board (skipped, with the reason, without one)
    pytest examples/hil --ttfs-require-hw                 # a board job: a missing board fails instead
    pytest examples/hil --ttfs-update-golden              # re-record the golden trace (on golden) after an intended change
    pytest mysuite --ttfs-model my.pt --ttfs-update-golden   # a copied suite for another model: record its trace

What is tested comes from ttfs-suite.yaml (or the --ttfs-* options); the trace and the budget live
beside this file, and the accuracy floor is the budget's min_accuracy. Write a budget from a measured
run with `ttfs-deploy budget init MODEL --target golden --early-stop --limit 100 --margin 10% -o budget.yaml`.
The ttfs_* fixtures come from ttfs-deploy's pytest plugin (registered on install; no conftest needed).
"""

import pytest


@pytest.fixture(scope="module")
def outcome(ttfs_suite, ttfs_compile, ttfs_run):
    """One compile and one run per module, shared by the checks below.

    Early stop is asked for on every target (the deployed model stops at its decision), so the budget
    holds the same on golden, loihi-sim and a board."""
    return ttfs_run(ttfs_compile(ttfs_suite.model), ttfs_suite.data, limit=ttfs_suite.limit, early_stop=True)


def test_spike_trace_matches_golden(outcome, ttfs_suite, ttfs_golden):
    ttfs_golden.matches(outcome, ttfs_suite.trace)


def test_accuracy_holds(outcome, ttfs_suite):
    floor = ttfs_suite.min_accuracy  # from the budget file: the one place the floor is written
    assert outcome.result.accuracy >= floor, f"accuracy {outcome.result.accuracy:.2%} below the budget's {floor:.2%}"


def test_spike_budget(outcome, ttfs_suite, ttfs_golden):
    ttfs_golden.within_budget(outcome, ttfs_suite.budget)


@pytest.mark.loihi_hw
def test_board_matches_golden(ttfs_suite, ttfs_compile, ttfs_run, ttfs_golden):
    """Runs only where lava-loihi and a board are present (skipped with the reason elsewhere, failed
    under --ttfs-require-hw), whatever --ttfs-target says: the same artifact on Loihi must equal the
    golden trace."""
    board = ttfs_run(
        ttfs_compile(ttfs_suite.model), ttfs_suite.data, limit=ttfs_suite.limit, early_stop=True, target="loihi-hw"
    )
    ttfs_golden.matches(board, ttfs_suite.trace)
