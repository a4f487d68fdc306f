"""Golden traces: save/load round trip, diffs against hand-built cases and a slow reference, the CLI."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ttfs_deploy.measure.trace import TraceError, diff_traces, load_trace, run_trace, save_trace
from ttfs_deploy.semantics.readout import classify

from .helpers import REPO, cli

T = 8


def _write(path, layers, early_stop=False, labels=None, steps=T):
    labels = np.zeros(len(layers[0]), dtype=np.int64) if labels is None else labels
    save_trace(path, run_trace(layers, classify(layers, labels, steps, "golden"), early_stop))
    return load_trace(path)


def _layers(seed=0, n=4):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, T + 1, size=(n, size)).astype(np.int64) for size in (6, 5, 3)]


def test_round_trip_keeps_every_spike_time(tmp_path):
    layers = _layers()
    trace = _write(tmp_path / "a.npz", layers, labels=np.array([0, 1, 2, 0]))
    assert all(np.array_equal(a, b) for a, b in zip(trace.layers, layers))
    assert trace.T == T and trace.target == "golden" and not trace.early_stop
    assert list(trace.labels) == [0, 1, 2, 0]
    assert diff_traces(trace, trace).equal


def test_diff_names_the_first_differing_spike_and_counts(tmp_path):
    layers = _layers()
    changed = [t.copy() for t in layers]
    changed[1][2, 3] = (changed[1][2, 3] + 1) % (T + 1)  # sample 2, layer 1, neuron 3
    changed[2][3, 0] = (changed[2][3, 0] + 1) % (T + 1)  # sample 3, output neuron 0
    changed[2][3, 1] = (changed[2][3, 1] + 1) % (T + 1)
    diff = diff_traces(_write(tmp_path / "a.npz", layers), _write(tmp_path / "b.npz", changed))
    assert diff.first == (2, 1, 3, int(layers[1][2, 3]), int(changed[1][2, 3]))
    assert diff.samples_differing == 2 and diff.spikes_differing == 3 and diff.n == 4
    assert "sample 2, layer 1, neuron 3" in diff.message()


def test_early_stop_trace_compares_equal_to_the_full_run_it_came_from(tmp_path):
    full = [np.array([[0, 3]]), np.array([[2, 6]]), np.array([[4, 7]])]  # decision at step 4
    stopped = [np.array([[0, 3]]), np.array([[2, T]]), np.array([[4, T]])]
    diff = diff_traces(_write(tmp_path / "a.npz", full), _write(tmp_path / "b.npz", stopped, early_stop=True))
    assert diff.equal
    moved = [np.array([[0, 3]]), np.array([[2, T]]), np.array([[5, T]])]  # decision moved to step 5
    diff = diff_traces(_write(tmp_path / "a.npz", full), _write(tmp_path / "c.npz", moved, early_stop=True))
    assert diff.first == (0, 2, 0, 4, 5) and diff.decision_steps_differing == 1


def test_different_shapes_are_reported_not_compared(tmp_path):
    a = _write(tmp_path / "a.npz", _layers(n=4))
    b = _write(tmp_path / "b.npz", _layers(n=3))
    diff = diff_traces(a, b)
    assert not diff.equal and "not comparable" in diff.message()


def _slow_diff(a, b):
    """Spike-by-spike loops: the obvious reading of 'first differing sample, layer, neuron'."""
    first, spikes, samples = None, 0, set()
    for s in range(len(a[0])):
        for k in range(len(a)):
            for i in range(a[k].shape[1]):
                if a[k][s, i] != b[k][s, i]:
                    spikes += 1
                    samples.add(s)
                    if first is None:
                        first = (s, k, i, int(a[k][s, i]), int(b[k][s, i]))
    return first, spikes, len(samples)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 10_000),
    st.integers(1, 6),
    st.lists(st.tuples(st.integers(0, 5), st.integers(0, 2), st.integers(0, 2)), max_size=6),
)
def test_diff_agrees_with_a_slow_loop(tmp_path_factory, seed, n, edits):
    layers = _layers(seed, n)
    changed = [t.copy() for t in layers]
    for s, k, i in edits:
        changed[k][s % n, i] = (changed[k][s % n, i] + 1 + s) % (T + 1)
    tmp = tmp_path_factory.mktemp("p")
    diff = diff_traces(_write(tmp / "a.npz", layers), _write(tmp / "b.npz", changed))
    assert (diff.first, diff.spikes_differing, diff.samples_differing) == _slow_diff(layers, changed)


@pytest.mark.parametrize("content", [b"", b"not a zip", None])
def test_bad_trace_files_raise_one_line(tmp_path, content):
    path = tmp_path / "bad.npz"
    if content is None:
        np.savez(path, something=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(TraceError, match="not a ttfs-deploy trace"):
        load_trace(path)
    with pytest.raises(TraceError, match="no such trace file"):
        load_trace(tmp_path / "missing.npz")


def test_trace_cli_record_and_diff(tmp_path):
    model = REPO / "models" / "mnist-s4nn.pt"
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    for out, extra in ((a, ()), (b, ("--early-stop",))):
        proc = cli("trace", "record", model, "--data", "mnist-5k:val", "--limit", "30", "-o", out, "--json", *extra)
        if proc.returncode == 2 and "mnist" in proc.stderr.lower():
            pytest.skip(proc.stderr.strip())
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["n"] == 30
    proc = cli("trace", "diff", a, b, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["equal"] is True
    trace = load_trace(a)
    layers = [t.copy() for t in trace.layers]
    layers[1][0, int(np.argmin(layers[1][0]))] += 1  # move the first hidden spike of sample 0 one step later
    changed = tmp_path / "changed.npz"
    _write(changed, layers, labels=trace.labels, steps=trace.T)
    proc = cli("trace", "diff", a, changed)
    assert proc.returncode == 1
    assert proc.stdout.startswith("first difference: sample 0, layer 1, neuron")


def test_trace_cli_bad_input_exits_2(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00" * 64)
    proc = cli("trace", "diff", junk, junk)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = cli("trace", "record", REPO / "models" / "missing.pt", "-o", tmp_path / "x.npz")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    proc = cli("trace", "record", REPO / "models" / "mnist-s4nn.pt", "--target", "tpu", "-o", tmp_path / "x.npz")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and "--target" in proc.stderr
    assert not (tmp_path / "x.npz").exists()
