"""Decision rule, tie handling and spike counting on hand-checked spike times."""

import numpy as np

from ttfs_deploy.semantics.readout import classify

T = 10


def test_decision_ties_and_counts():
    # 3 samples, 4 inputs, 2 hidden, 3 outputs (T = 10 means no spike)
    inputs = np.array([[0, 3, 10, 10], [1, 1, 1, 9], [2, 10, 10, 10]])
    hidden = np.array([[2, 5], [3, 10], [10, 10]])
    outputs = np.array([[6, 4, 10], [5, 5, 8], [10, 10, 10]])
    labels = np.array([1, 1, 0])
    result = classify([inputs, hidden, outputs], labels, T, "float")
    s = result.samples
    # sample 0: output 1 first at step 4 → correct; spikes at or before 4: inputs 0,3 + hidden 2 + output 4
    assert (s[0].prediction, s[0].decision_step, s[0].spikes_until_decision, s[0].spikes_total) == (1, 4, 4, 6)
    # sample 1: outputs 0 and 1 tie at 5 → lowest index (0) wins → wrong; counted as a tie
    assert (s[1].prediction, s[1].decision_step, s[1].spikes_until_decision, s[1].spikes_total) == (0, 5, 6, 8)
    # sample 2: no output spike → no decision (-1), decision step T, all spikes counted
    assert (s[2].prediction, s[2].decision_step, s[2].spikes_until_decision, s[2].spikes_total) == (-1, 10, 1, 1)
    assert result.ties == 1 and result.ties_correct == 0
    assert result.accuracy == 1 / 3
    summary = result.to_json()
    assert summary["n"] == 3 and summary["mean_decision_step"] == (4 + 5 + 10) / 3
    assert summary["mean_spikes_total"] == (6 + 8 + 1) / 3
    assert set(summary["samples"][0]) == {
        "label",
        "prediction",
        "decision_step",
        "spikes_until_decision",
        "spikes_total",
    }


def test_strict_accuracy_counts_resolved_ties_as_wrong():
    outputs = np.array([[3, 3], [3, 3], [2, 5]])
    result = classify([np.zeros((3, 1), int), outputs], np.array([0, 1, 0]), T, "float")
    assert result.accuracy == 2 / 3  # the lowest-index rule picks label 0 in sample 0
    assert result.accuracy_strict == 1 / 3
