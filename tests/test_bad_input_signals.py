"""Family 1 of the bad-input matrix: a loihi-sim run ended by a signal leaves no Lava process behind.

The command runs in its own session; the test finds its processes through ``/proc`` (session id),
waits until Lava's workers are up, signals the command and then checks: the exit status
(143 for SIGTERM to the main process, 130 for Ctrl-C to the process group, death by SIGKILL), at
most one line on stderr and no traceback, and that no process of the session outlives it.
"""

from __future__ import annotations

import os
import pathlib
import signal
import time

import pytest

from .helpers import MODELS, spawn_cli

MODEL = MODELS / "mnist-s4nn.pt"

pytestmark = [pytest.mark.slow, pytest.mark.requires_lava]  # skipped with the reason where Lava is missing


def _session(sid: int) -> dict[int, str]:
    """pid -> state of every live (not zombie) process in session ``sid``."""
    found = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == sid and state not in "ZX":
            found[int(entry.name)] = state
    return found


def _wait(condition, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


@pytest.fixture(autouse=True)
def _needs_proc():
    if not pathlib.Path("/proc/self/stat").exists():
        pytest.skip("needs /proc")


@pytest.mark.parametrize(
    "how, expected",
    [("sigterm-main", 143), ("sigint-group", 130), ("sighup-main", 129), ("sigkill-main", -signal.SIGKILL)],
)
def test_signal_stops_lava_and_its_workers(how, expected):
    argv = "--target loihi-sim --data mnist-5k:val --limit 100 --no-early-stop --calibration none --json".split()
    proc = spawn_cli("run", MODEL, *argv)
    try:
        started = _wait(lambda: len(_session(proc.pid)) >= 6 or proc.poll() is not None, 120)
        assert started and proc.poll() is None, "the Lava workers never started"
        time.sleep(1.0)
        seen = set(_session(proc.pid))
        if how == "sigint-group":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            sig = {"sigterm-main": signal.SIGTERM, "sighup-main": signal.SIGHUP, "sigkill-main": signal.SIGKILL}[how]
            os.kill(proc.pid, sig)
        _, err = proc.communicate(timeout=60)
        survivors = {}
        _wait(lambda: not _session(proc.pid), 15)
        survivors = _session(proc.pid)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        for pid in _session(proc.pid):
            os.kill(pid, signal.SIGKILL)
    text = err.decode(errors="replace")
    assert proc.returncode == expected, text[-3000:]
    assert not survivors, f"processes outlived the command: {survivors} (of {sorted(seen)})"
    assert "Traceback" not in text, text[-3000:]
    if how != "sigkill-main":
        lines = text.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("ttfs-deploy"), text[-3000:]
