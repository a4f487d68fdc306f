"""Hostile and malformed input to the command line: the matrix the CLI's promise is held to.

The promise (README, ``ttfs_deploy.cli``): bad input -- missing, corrupt or hostile files, unknown
names, impossible sizes, bad option values -- gets exactly ONE line on stderr and exit status 2: no
traceback, nothing half-written (no output file or temporary file left behind, no input overwritten),
no code executed from a file, no hang, bounded memory.

Organised by the families of the issue (family 1, Lava workers outliving their parent on SIGTERM, is
tested elsewhere). Each family is one test function parametrised over named cases; cases that can
hang or eat memory without bound (FIFOs, ``/dev/zero``, YAML alias bombs, a closed stdout) run as
subprocesses with a timeout and an address-space limit, all of them concurrently in one module
fixture; everything else calls ``main(argv)`` in this process under an address-space cap
(:func:`cli`). Files that lie about their sizes are small and hand-made (IDX, npy and zip headers,
sparse files, gzip members of zeros), so the whole file stays fast and light.

Cases that fail today are kept as ordinary tests: they are the specification for the fixes.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import gzip
import io
import os
import pathlib
import re
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import traceback
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ttfs_deploy.cli import main

from .helpers import spawn_cli

GiB = 2**30
GOLDEN = ("--target", "golden")
FAST = ("--data", "digits:test", "--limit", "20", "--calibration", "none")  # 8x8 digits for the 64-input model
FIVE = ("--data", "digits:test", "--limit", "5")
NOCAL = ("--calibration", "none")  # a .pt on an integer target is compiled; mnist calibration does not fit 64 inputs
PWNED = "PWNED-by-ttfs-bad-input"  # a file that hostile input tries to create (code execution)


def fuzz_settings(max_examples: int) -> settings:
    """Hypothesis, repeatable and without a database; the first failing example is reported as found
    (shrinking a failure here costs a minute)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=(Phase.explicit, Phase.reuse, Phase.generate),
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- command lines ------------------------------------------------------------------------------------


def run_cmd(model, *extra, target: str = "golden") -> list:
    return ["run", model, "--target", target, *extra]


def run_fast(model, target: str = "golden") -> list:
    """``run`` on 20 digits, uncalibrated."""
    return run_cmd(model, *FAST, target=target)


def run_data(model, spec: str, target: str = "golden") -> list:
    return run_cmd(model, "--data", spec, *NOCAL, target=target)


def compile_cmd(model, out, *extra, calibration: str = "none", data: str = "none") -> list:
    """``compile`` for golden: ``extra`` (e.g. ``--profile``), calibration and validation data, ``-o out``."""
    return ["compile", model, *GOLDEN, *extra, "--calibration", calibration, "--data", data, "-o", out]


def train_cmd(out, *extra, arch="64-10-10", data="digits:train", val_data="digits:test", ann_epochs=1) -> list:
    """``train`` on the 8x8 digits for one epoch: ``extra`` options, then ``-o out``."""
    return [
        *f"train --arch {arch} --data {data} --val-data {val_data} --epochs 1 --ann-epochs {ann_epochs}".split(),
        *extra,
        "-o",
        out,
    ]


def budget_cmd(budget, model, data=FAST) -> list:
    return ["budget", "check", budget, model, *GOLDEN, "--profile", "loihi1", *data]


def profile_cmd(model, out, *extra) -> list:
    return ["profile", model, *extra, "--out", out]


def claims_cmd(out, *extra, limit: str = "3") -> list:
    return ["claims", "--limit", limit, *extra, "--out", out]


def diff_cmd(a, b) -> list:
    return ["trace", "diff", a, b]


# --- in-process harness ---------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    code: int | str  # exit status, or "hang"
    out: str
    err: str
    seconds: float = 0.0


def _vm_size() -> int | None:
    try:
        for line in pathlib.Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


@contextlib.contextmanager
def memory_cap(extra: int = 2 * GiB):
    """Limit this process's address space to its current size plus ``extra`` while the block runs.

    A command that tries to allocate what a lying header claims then fails at once (MemoryError)
    instead of swapping the machine to death; the correct behaviour is to refuse before allocating.
    """
    vm = _vm_size()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if vm is None:
        yield
        return
    limit = vm + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _print_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def _call_main(argv: list[str]) -> int:
    """``main(argv)`` as the console script runs it: an escaping exception is a traceback and status 1."""
    try:
        return main(argv)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        sys.stderr.write(f"{exc.code}\n")
        return 1
    except KeyboardInterrupt:
        raise
    except BaseException:
        sys.stderr.write(traceback.format_exc())
        return 1


def _unblock(fifo: pathlib.Path) -> None:
    """Let a reader stuck in open() on ``fifo`` go on: open the writing end and close it (EOF)."""
    try:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def cli(argv, capsys, memory: int = 2 * GiB, timeout: float | None = None, fifos=()) -> Result:
    """Run ``main(argv)`` here as the console script would: (exit status, stdout, stderr).

    Warnings print to stderr under Python's default filters, as they would outside pytest.
    ``timeout``: run in a thread; if it has not finished by then the result is "hang", and readers
    blocked on any of ``fifos`` are released so that the thread can end.
    """
    argv = [str(a) for a in argv]
    capsys.readouterr()
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.simplefilter("always")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        warnings.showwarning = _print_warning
        with memory_cap(memory):
            if timeout is None:
                code: int | str = _call_main(argv)
            else:
                box: dict = {}
                worker = threading.Thread(target=lambda: box.update(code=_call_main(argv)), daemon=True)
                worker.start()
                worker.join(timeout)
                code = box.get("code", "hang")
                for _ in range(20):
                    if not worker.is_alive():
                        break
                    for fifo in fifos:
                        _unblock(fifo)
                    worker.join(0.25)
    out, err = capsys.readouterr()
    return Result(code, out, err, time.perf_counter() - start)


def _tree(root: pathlib.Path) -> dict[str, tuple]:
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath) / name
            st_ = path.lstat()
            tree[str(path.relative_to(root))] = (st_.st_mode, st_.st_size, st_.st_mtime_ns)
    return tree


def _paths_in(argv) -> list[str]:
    paths = []
    for arg in map(str, argv):
        for part in arg.removeprefix("idx:").split(","):
            if "/" in part:
                paths.append(part)
    return paths


class Guard:
    """What must not change: the case's folder (no new, half-written or overwritten files), every
    path on the command line that did not exist, and the code-execution sentinel."""

    def __init__(self, root: pathlib.Path, argv):
        self.root = root
        self.before = _tree(root)
        self.absent = [p for p in _paths_in(argv) if not os.path.lexists(p)]

    def problems(self) -> list[str]:
        found = []
        after = _tree(self.root)
        new = sorted(set(after) - set(self.before))
        changed = sorted(k for k in self.before if k in after and after[k] != self.before[k])
        gone = sorted(set(self.before) - set(after))
        if new:
            found.append(f"left behind: {new}")
        if changed:
            found.append(f"modified: {changed}")
        if gone:
            found.append(f"removed: {gone}")
        created = [p for p in self.absent if os.path.lexists(p)]
        if created:
            found.append(f"created: {created}")
        if any(PWNED in name for name in after):
            found.append("code from the input file was executed")
        return found


def refusal_problems(result: Result) -> list[str]:
    problems = []
    lines = result.err.strip().splitlines()
    if result.code == "hang":
        problems.append(f"hung (killed after {result.seconds:.0f} s)")
    elif result.code != 2:
        problems.append(f"exit status {result.code}, expected 2")
    if "Traceback" in result.err:
        problems.append("traceback on stderr")
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected 1")
    elif not lines[0].startswith("ttfs-deploy"):
        problems.append(f"stderr line does not start with 'ttfs-deploy': {lines[0][:120]!r}")
    elif "unrecognized arguments" in lines[0]:  # the case's command line is stale, not its input refused
        problems.append(f"refused for an unknown option, not for the bad input: {lines[0][:200]!r}")
    return problems


def traceback_summary(err: str) -> str:
    """'raised EXC at FILE:LINE (FUNCTION)': the last traceback's exception and innermost project frame."""
    lines = err.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if not starts:
        return ""
    block = lines[starts[-1] + 1 :]
    exc = next((line for line in block if line and not line.startswith(" ")), "?")
    frames = [m for m in (re.match(r'\s*File "([^"]+)", line (\d+), in (\S+)', line) for line in block) if m]
    ours = [m for m in frames if "ttfs_deploy" in m.group(1) and "/tests/" not in m.group(1)]
    where = ours[-1] if ours else (frames[-1] if frames else None)
    at = f"{where.group(1).split('/ttfs_deploy/')[-1]}:{where.group(2)} ({where.group(3)})" if where else "?"
    return f"raised {exc[:300]} at {at}"


def explain(problems: list[str], result: Result, argv) -> str:
    summary = traceback_summary(result.err)
    return (
        "; ".join(problems)
        + (f"\n{summary}" if summary else "")
        + f"\ncommand: ttfs-deploy {' '.join(map(str, argv))}\n--- stderr (tail) ---\n"
        + result.err[-4000:]
        + "\n--- stdout (tail) ---\n"
        + result.out[-600:]
    )


def _is_fifo(path: str) -> bool:
    try:
        return stat.S_ISFIFO(os.lstat(path).st_mode)
    except OSError:  # missing, name too long, ...
        return False


def check_refused(argv, root: pathlib.Path, capsys, memory: int = 2 * GiB, timeout: float | None = None) -> Result:
    """Run ``argv`` in-process and assert the whole promise."""
    guard = Guard(root, argv)
    fifos = [pathlib.Path(p) for p in _paths_in(argv) if _is_fifo(p)]
    result = cli(argv, capsys, memory, timeout, fifos)
    assert_refused(result, guard, argv)
    return result


def assert_refused(result: Result, guard: Guard, argv) -> None:
    problems = refusal_problems(result) + guard.problems()
    assert not problems, explain(problems, result, argv)


# --- files ------------------------------------------------------------------------------------------


class Evil:
    """Pickles to a call that creates the PWNED file: loading it with pickle enabled runs code."""

    def __init__(self, folder: pathlib.Path):
        self.folder = folder

    def __reduce__(self):
        return (os.system, (f"touch {self.folder / PWNED}",))


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array)
    return (
        bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    )


def idx_header(*dims: int) -> bytes:
    return bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _write(path: pathlib.Path, content: bytes) -> pathlib.Path:
    path.write_bytes(content)
    return path


def _labels_file(tmp) -> pathlib.Path:
    return _write(tmp / "labels.idx", idx_bytes(np.zeros(20, np.uint8)))


def _images_file(tmp) -> pathlib.Path:
    return _write(tmp / "images.idx", idx_bytes(np.zeros((20, 8, 8), np.uint8)))


def _idx_pair(tmp, images_file: pathlib.Path) -> str:
    """An idx: spec of ``images_file`` with 20 zero labels."""
    return f"idx:{images_file},{_labels_file(tmp)}"


def write_idx_pair(folder: pathlib.Path, images: np.ndarray, labels: np.ndarray, stem: str = "d") -> str:
    images_path, labels_path = folder / f"{stem}-images.idx", folder / f"{stem}-labels.idx"
    images_path.write_bytes(idx_bytes(images))
    labels_path.write_bytes(idx_bytes(labels))
    return f"idx:{images_path},{labels_path}"


def npy_bytes(array: np.ndarray | None = None, *, header: dict | None = None, data: bytes = b"") -> bytes:
    """An .npy member: a real array, or a hand-made header (which may claim any shape) plus ``data``."""
    buf = io.BytesIO()
    if header is None:
        np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    else:
        np.lib.format.write_array_header_1_0(buf, header)
        buf.write(data)
    return buf.getvalue()


def huge_npy(shape: tuple, descr: str = "<i8") -> bytes:
    """An .npy member whose header claims ``shape`` but which holds 64 bytes."""
    return npy_bytes(header={"descr": descr, "fortran_order": False, "shape": shape}, data=bytes(64))


def write_npz(path: pathlib.Path, members: dict[str, bytes]) -> pathlib.Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(f"{name}.npy", content)
    return path


def npz_members(path: pathlib.Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def npz_with(source: pathlib.Path, path: pathlib.Path, **replace: bytes) -> pathlib.Path:
    """A copy of the archive ``source`` at ``path`` with the .npy members ``replace`` put in (or added)."""
    members = {name: npy_bytes(array) for name, array in npz_members(source).items()}
    return write_npz(path, {**members, **replace})


def sparse_file(path: pathlib.Path, size: int = 8 * GiB, head: bytes = b"") -> pathlib.Path:
    """A file that is ``size`` bytes long but occupies (almost) no disk: ``head`` then zeros."""
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def gzip_bomb(path: pathlib.Path, header: bytes, zeros: int) -> pathlib.Path:
    """``header`` then ``zeros`` zero bytes, as concatenated gzip members: a few MB on disk."""
    block = 16 * 2**20
    member = gzip.compress(bytes(block), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(header))
        for _ in range(zeros // block):
            f.write(member)
    return path


def yaml_file(path: pathlib.Path, text: str | bytes) -> pathlib.Path:
    """``text`` written to ``path``; in a str, ``@PWNED@`` stands for the code-execution sentinel beside it."""
    return _write(path, text if isinstance(text, bytes) else text.replace("@PWNED@", str(path.parent / PWNED)).encode())


def bomb_yaml(key: str) -> str:
    """Billion laughs: nine nested lists of nine aliases, ~10^9 strings once expanded."""
    levels = ["&l0 [" + ", ".join(['"lol"'] * 9) + "]"]
    levels += [f"&l{k} [" + ", ".join([f"*l{k - 1}"] * 9) + "]" for k in range(1, 9)]
    return f"{key}: [{', '.join(levels)}]\n"


PROFILE_YAML = """\
name: testprof
description: a copy of the shipped loihi2 profile
bit_widths:
  weight: {value: 8, signed: true, source: "Lava Dense fixed_pt"}
  weight_exponent: {min: -8, max: 7, source: "Lava Dense weight_exp range"}
  threshold: {value: 24, source: "24-bit membrane"}
  membrane: {value: 24, signed: true, source: "Lava LIF fixed_pt"}
limits:
  cores: {value: 128, source: "Loihi 2 brief"}
  neurons_per_core: {value: 8192, source: "Loihi 2 brief"}
  fan_in_per_neuron: {value: null, source: "unknown"}
  fan_out_per_core: {value: null, source: "unknown"}
  synapse_memory_bits_per_core: {value: null, source: "unknown"}
fire_once:
  mechanism: microcode
  detail: "a fired state bit gates further spikes"
  source: "Loihi 2 brief"
timing:
  stage_delay_steps: {value: 1, source: "Lava Dense"}
  barrier_sync_ns: {value: null, source: "unknown"}
energy_pj:
  estimate_of: loihi1
  note: "ESTIMATE"
  synaptic_spike_op: {value: 23.6, source: "ESTIMATE"}
  neuron_update_active: {value: 81, source: "ESTIMATE"}
  neuron_update_inactive: {value: 52, source: "ESTIMATE"}
time_ns:
  synaptic_spike_op: {value: 3.5, source: "ESTIMATE"}
  neuron_update_active: {value: 8.4, source: "ESTIMATE"}
  neuron_update_inactive: {value: 5.3, source: "ESTIMATE"}
"""

BUDGET_YAML = """\
budget:
  max_spikes_per_inference: 100000
  max_decision_steps: 256
  min_accuracy: 0.0
  layers:
    fc1: {max_spikes: 100000}
"""


# --- shared artefacts -------------------------------------------------------------------------------


@dataclasses.dataclass
class Ctx:
    folder: pathlib.Path
    model: pathlib.Path  # trained 64-20-10 checkpoint (digits)
    checkpoint: dict  # its contents (torch.load, weights_only)
    model784: pathlib.Path  # a synthetic 784-10 checkpoint (mnist)
    checkpoint784: dict
    ttfs: pathlib.Path  # the 64-20-10 model compiled for golden
    trace: pathlib.Path  # its golden trace on 10 digits
    idx: str  # a good idx:IMAGES,LABELS spec of 20 8x8 images


def _main_ok(argv) -> None:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    assert code == 0, argv


@pytest.fixture(scope="module")
def ctx(tmp_path_factory) -> Ctx:
    folder = tmp_path_factory.mktemp("shared")
    model = folder / "digits.pt"
    _main_ok([*train_cmd(model, *"--limit 300 --shift 0 --seed 1".split(), arch="64-20-10", ann_epochs=2), "--json"])
    checkpoint = torch.load(model, weights_only=True)
    ck784 = copy.deepcopy(checkpoint)
    ck784["arch"], ck784["thresholds"] = [784, 10], [100.0]
    ck784["coding"]["image_shape"] = [28, 28]
    ck784["state_dict"] = {"weights.0": torch.rand(10, 784, generator=torch.Generator().manual_seed(0)) * 5}
    model784 = folder / "mnist784.pt"
    torch.save(ck784, model784)
    ttfs = folder / "digits.ttfs"
    _main_ok([*compile_cmd(model, ttfs), "--json"])
    trace = folder / "good.npz"
    _main_ok(
        ["trace", "record", model, *GOLDEN, "--data", "digits:test", "--limit", "10", *NOCAL, "-o", trace, "--json"]
    )
    rng = np.random.default_rng(0)
    idx = write_idx_pair(folder, rng.integers(0, 256, (20, 8, 8)), rng.integers(0, 10, 20), "good")
    return Ctx(folder, model, checkpoint, model784, ck784, ttfs, trace, idx)


def test_controls_succeed(ctx, tmp_path, capsys):
    """The unmutated inputs the cases below start from are accepted: each case's failure is its own."""
    profile = yaml_file(tmp_path / "p.yaml", PROFILE_YAML)
    budget = yaml_file(tmp_path / "b.yaml", BUDGET_YAML)
    commands = [
        run_fast(ctx.model, "float"),
        run_fast(ctx.model),
        run_cmd(ctx.ttfs, "--data", ctx.idx),
        run_cmd(ctx.model784, "--data", "mnist-5k:val", "--limit", "5"),
        compile_cmd(ctx.model, tmp_path / "ok.ttfs", "--profile", profile),
        ["profile", ctx.model, *GOLDEN, "--profile", profile, *FAST],
        budget_cmd(budget, ctx.model),
        diff_cmd(ctx.trace, ctx.trace),
    ]
    for argv in commands:
        result = cli(argv, capsys)
        assert result.code == 0 and "Traceback" not in result.err, explain(["control failed"], result, argv)


# --- subprocess harness (hangs, FIFOs, /dev/zero, alias bombs, closed stdout) ------------------------

SUBPROCESS_TIMEOUT = 45  # s; a refusal takes ~3 s (start-up and imports), far more on a loaded machine
SUBPROCESS_MEMORY = 2 * GiB + GiB // 2  # address space per child; these commands need < 2 GiB


def _limit_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (SUBPROCESS_MEMORY, SUBPROCESS_MEMORY))


def run_subprocess(argv, close_stdout: bool = False, timeout: float = SUBPROCESS_TIMEOUT) -> Result:
    """``python -m ttfs_deploy ARGV`` in the repo, killed (whole process group) after ``timeout``.

    ``close_stdout``: the reading end of stdout is closed before the child writes (``| head``).
    """
    start = time.perf_counter()
    proc = spawn_cli(*argv, preexec_fn=_limit_child)
    if close_stdout:
        proc.stdout.close()
        proc.stdout = None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        code: int | str = proc.returncode
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        code = "hang"
    out = (stdout or b"").decode(errors="replace")
    return Result(code, out, stderr.decode(errors="replace"), time.perf_counter() - start)


def _sub_budget_bomb(tmp, ctx):
    path = yaml_file(tmp / "bomb.yaml", "budget:\n  " + bomb_yaml("max_spikes_per_inference"))
    return budget_cmd(path, ctx.model)


def _sub_profile_bomb(key):
    def build(tmp, ctx):
        lines = [line for line in PROFILE_YAML.splitlines() if not line.startswith(f"{key}:")]
        path = yaml_file(tmp / "bomb.yaml", "\n".join(lines) + "\n" + bomb_yaml(key))
        return compile_cmd(ctx.model, tmp / "out.ttfs", "--profile", path)

    return build


# YAML alias bombs of families 6 and 7 (CPU and memory without end: subprocesses)
SUBPROCESS_CASES = {
    "budget-billion-laughs": _sub_budget_bomb,
    "profile-billion-laughs-description": _sub_profile_bomb("description"),
}

# BrokenPipe: stdout's reader is gone before the command writes (``ttfs-deploy ... | head``)
BROKEN_PIPE_CASES = {
    "run-json": lambda tmp, ctx: run_cmd(ctx.model, "--data", "digits:test", *NOCAL, "--json"),
    "run-text": lambda tmp, ctx: run_cmd(ctx.model, "--data", "digits:test", *NOCAL),
    "targets-json": lambda tmp, ctx: ["targets", "--json"],
    "trace-diff-text": lambda tmp, ctx: diff_cmd(ctx.trace, ctx.trace),
    "help": lambda tmp, ctx: ["run", "--help"],
}


@pytest.fixture(scope="module")
def subprocess_results(ctx, tmp_path_factory) -> dict[str, tuple[list, pathlib.Path, Guard, Result]]:
    """Build every subprocess case, run them four at a time (the bombs first), collect."""
    jobs = []
    for group, cases in (("sub", SUBPROCESS_CASES), ("pipe", BROKEN_PIPE_CASES)):
        for name, build in cases.items():
            tmp = tmp_path_factory.mktemp(f"{group}-{name}")
            argv = build(tmp, ctx)
            jobs.append((f"{group}:{name}", argv, tmp, Guard(tmp, argv), group == "pipe"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {key: pool.submit(run_subprocess, argv, close) for key, argv, _, _, close in jobs}
    return {key: (argv, tmp, guard, futures[key].result()) for key, argv, tmp, guard, _ in jobs}


def check_subprocess_refused(subprocess_results, key: str) -> None:
    argv, tmp, guard, result = subprocess_results[key]
    assert_refused(result, guard, argv)


# --- family 2: non-regular files -------------------------------------------------------------------


def _fifo(path: pathlib.Path) -> pathlib.Path:
    os.mkfifo(path)
    return path


def _socket_file(path: pathlib.Path) -> pathlib.Path:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()
    return path


def _loop_link(path: pathlib.Path) -> pathlib.Path:
    path.symlink_to(path.name)  # points at itself: ELOOP
    return path


def _dir(path: pathlib.Path) -> pathlib.Path:
    path.mkdir()
    return path


def _link(target: str):
    """Makes a symbolic link to ``target``."""

    def make(path: pathlib.Path) -> pathlib.Path:
        path.symlink_to(target)
        return path

    return make


# where the odd file stands: slot -> build(tmp, ctx, make) -> argv, where make(path) creates the file
SLOTS = {
    "ttfs": lambda tmp, ctx, make: run_fast(make(tmp / "m.ttfs")),
    "checkpoint": lambda tmp, ctx, make: run_fast(make(tmp / "m.pt"), "float"),
    "compile-input": lambda tmp, ctx, make: compile_cmd(make(tmp / "m.pt"), tmp / "o.ttfs"),
    "idx-images": lambda tmp, ctx, make: run_cmd(ctx.model, "--data", _idx_pair(tmp, make(tmp / "i.idx"))),
    "idx-labels": lambda tmp, ctx, make: run_cmd(ctx.model, "--data", f"idx:{_images_file(tmp)},{make(tmp / 'l.idx')}"),
    "budget": lambda tmp, ctx, make: budget_cmd(make(tmp / "b.yaml"), ctx.model),
    "profile-yaml": lambda tmp, ctx, make: compile_cmd(ctx.model, tmp / "o.ttfs", "--profile", make(tmp / "p.yaml")),
    "trace": lambda tmp, ctx, make: diff_cmd(make(tmp / "t.npz"), ctx.trace),
    "trace-second": lambda tmp, ctx, make: diff_cmd(ctx.trace, make(tmp / "t.npz")),
    "init-from": lambda tmp, ctx, make: _train_from(tmp, make(tmp / "m.pt")),
    "calibration-idx": lambda tmp, ctx, make: compile_cmd(
        ctx.model, tmp / "o.ttfs", calibration=_idx_pair(tmp, make(tmp / "i.idx"))
    ),
}


def _as(kind: str, make, slots: str) -> dict:
    """Cases ``KIND-as-SLOT`` (``trace-second`` is ``trace``, the odd file second): ``make``'s file in each slot."""
    return {
        f"{kind}-as-{slot.removesuffix('-second')}": functools.partial(SLOTS[slot], make=make) for slot in slots.split()
    }


# Family 2, files that block or never end: id -> build(tmp, ctx) -> argv (run in a thread with a timeout)
BLOCKING_FILES = {
    **_as("fifo", _fifo, "ttfs checkpoint compile-input idx-images idx-labels budget profile-yaml trace init-from"),
    **_as(
        "devzero",
        _link("/dev/zero"),
        "ttfs checkpoint idx-images idx-labels budget profile-yaml trace-second calibration-idx",
    ),
}

# in-process: things that fail at once on open() or read nothing
NON_REGULAR_IN_PROCESS = {
    **_as("directory", _dir, "ttfs checkpoint idx-images budget profile-yaml trace"),
    **_as("devnull", _link("/dev/null"), "ttfs checkpoint idx-images budget"),
    **_as("socket", _socket_file, "ttfs idx-images"),
    **_as("symlink-loop", _loop_link, "ttfs checkpoint"),
    **_as("dangling-symlink", _link("nowhere"), "ttfs"),
    **_as("proc-file", _link("/proc/self/status"), "ttfs"),
}


@pytest.mark.parametrize("case", [*BLOCKING_FILES, *NON_REGULAR_IN_PROCESS])
def test_family2_non_regular_files(case, ctx, tmp_path, capsys):
    """FIFOs, /dev/zero, folders, sockets, links: refused at once (in a thread: 10 s means it hangs)."""
    argv = {**BLOCKING_FILES, **NON_REGULAR_IN_PROCESS}[case](tmp_path, ctx)
    check_refused(argv, tmp_path, capsys, memory=1 * GiB, timeout=10)


# --- family 3: sizes that lie ----------------------------------------------------------------------


def _ckpt(tmp, ctx, mutate, base=None) -> pathlib.Path:
    ck = copy.deepcopy(base if base is not None else ctx.checkpoint)
    mutate(ck)
    path = tmp / "m.pt"
    torch.save(ck, path)
    return path


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def mutate(ck):
        node = ck
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value(node) if callable(value) else value

    return mutate


def _arch(arch: list, thresholds: int | None = None):
    def mutate(ck):
        ck["arch"] = arch
        ck["thresholds"] = [100.0] * (len(arch) - 1 if thresholds is None else thresholds)

    return mutate


def _train_from(tmp, init) -> list:
    """Training of the 64-20-10 shape that starts from the checkpoint ``init``."""
    return train_cmd(tmp / "o.pt", "--init-from", init, arch="64-20-10")


def _run_images(tmp, ctx, images_file: pathlib.Path) -> list:
    return run_data(ctx.model, _idx_pair(tmp, images_file))


def _diff_with(tmp, ctx, **replace: bytes) -> list:
    """``trace diff`` of the good trace and a copy with members replaced."""
    return diff_cmd(ctx.trace, npz_with(ctx.trace, tmp / "t.npz", **replace))


def _ttfs_with(tmp, ctx, **replace: bytes) -> pathlib.Path:
    return npz_with(ctx.ttfs, tmp / "m.ttfs", **replace)


SIZE_CASES = {
    # checkpoints whose arch claims what the weights do not have (refuse before allocating the model)
    "ckpt-arch-1e9-hidden-run-golden": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([64, 10**9, 10]))),
    "ckpt-arch-1e9-hidden-run-float": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([64, 10**9, 10])), "float"),
    "ckpt-arch-1e9-hidden-compile": lambda tmp, ctx: compile_cmd(
        _ckpt(tmp, ctx, _arch([64, 10**9, 10])), tmp / "o.ttfs"
    ),
    "ckpt-arch-1e9-inputs": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([10**9, 20, 10]))),
    "ckpt-arch-2pow62": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([64, 2**62, 10]))),
    "ckpt-arch-2pow70": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([64, 2**70, 10]))),
    "ckpt-arch-20000-layers": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _arch([64] + [10] * 20000))),
    "ckpt-T-1e12": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _set("coding", "T", 10**12))),
    "ckpt-T-1e12-float": lambda tmp, ctx: run_fast(_ckpt(tmp, ctx, _set("coding", "T", 10**12)), "float"),
    "ckpt-sparse-8GiB-file": lambda tmp, ctx: run_fast(sparse_file(tmp / "m.pt"), "float"),
    # IDX files whose headers claim more than they hold, or that hold more than is sane
    "idx-gzip-bomb-header-claims-4e9": lambda tmp, ctx: _run_images(
        tmp, ctx, gzip_bomb(tmp / "i.idx.gz", idx_header(2**26, 8, 8), 1 * GiB + GiB // 2)
    ),
    "idx-gzip-bomb-header-claims-20": lambda tmp, ctx: _run_images(
        tmp, ctx, gzip_bomb(tmp / "i.idx.gz", idx_header(20, 8, 8), 1 * GiB + GiB // 2)
    ),
    "idx-gzip-small-claims-1e8-images": lambda tmp, ctx: _run_images(
        tmp, ctx, _write(tmp / "i.idx.gz", gzip.compress(idx_header(10**8, 8, 8) + bytes(64)))
    ),
    "idx-raw-claims-2pow32-cubed": lambda tmp, ctx: _run_images(
        tmp, ctx, _write(tmp / "i.idx", idx_header(2**32 - 1, 2**32 - 1, 2**32 - 1) + bytes(64))
    ),
    "idx-255-dimensions": lambda tmp, ctx: _run_images(
        tmp, ctx, _write(tmp / "i.idx", idx_header(*([1] * 255)) + bytes(1))
    ),
    "idx-sparse-8GiB-file": lambda tmp, ctx: _run_images(
        tmp, ctx, sparse_file(tmp / "i.idx", head=idx_header(20, 8, 8))
    ),
    "idx-sparse-8GiB-calibration": lambda tmp, ctx: compile_cmd(
        ctx.model, tmp / "o.ttfs", calibration=_idx_pair(tmp, sparse_file(tmp / "i.idx", head=idx_header(20, 8, 8)))
    ),
    # trace archives whose members claim huge shapes
    "trace-labels-claim-2pow40": lambda tmp, ctx: _diff_with(tmp, ctx, labels=huge_npy((2**40,))),
    "trace-layer-claims-2pow20-squared": lambda tmp, ctx: _diff_with(tmp, ctx, layer_1=huge_npy((2**20, 2**20))),
    "trace-predictions-claim-2pow40": lambda tmp, ctx: _diff_with(tmp, ctx, predictions=huge_npy((2**40,))),
    "trace-T-claims-2pow40": lambda tmp, ctx: _diff_with(tmp, ctx, T=huge_npy((2**40,))),
    "trace-sparse-8GiB-file": lambda tmp, ctx: diff_cmd(ctx.trace, sparse_file(tmp / "t.npz")),
    # compiled artefacts: unused members, metadata and weights that claim huge shapes
    "ttfs-unused-member-claims-2pow40": lambda tmp, ctx: run_fast(_ttfs_with(tmp, ctx, junk=huge_npy((2**40,)))),
    "ttfs-unused-member-claims-1.5GiB": lambda tmp, ctx: run_fast(
        _ttfs_with(tmp, ctx, junk=huge_npy((3 * GiB // 2,), "|u1"))
    ),
    "ttfs-metadata-claims-2pow40": lambda tmp, ctx: run_fast(_ttfs_with(tmp, ctx, metadata=huge_npy((2**40,), "|u1"))),
    "ttfs-weight-claims-2pow20-squared": lambda tmp, ctx: run_fast(
        _ttfs_with(tmp, ctx, weight_0=huge_npy((2**20, 2**20), "<i4"))
    ),
    "ttfs-sparse-8GiB-file": lambda tmp, ctx: run_fast(sparse_file(tmp / "m.ttfs", head=b"PK\x03\x04")),
    # YAML files of absurd size
    "budget-sparse-8GiB-file": lambda tmp, ctx: budget_cmd(sparse_file(tmp / "b.yaml", head=b"budget:"), ctx.model),
    "profile-sparse-8GiB-file": lambda tmp, ctx: compile_cmd(
        ctx.model, tmp / "o.ttfs", "--profile", sparse_file(tmp / "p.yaml", head=b"name: x\n")
    ),
}


@pytest.mark.parametrize("case", list(SIZE_CASES))
def test_family3_sizes_that_lie(case, ctx, tmp_path, capsys):
    argv = SIZE_CASES[case](tmp_path, ctx)
    # 1 GiB of headroom: the 1.5 GiB bombs and claims cannot be met by accident
    check_refused(argv, tmp_path, capsys, memory=1 * GiB)


# --- family 4: checkpoint fields not validated ---------------------------------------------------


def _weights(transform):
    def mutate(ck):
        ck["state_dict"]["weights.0"] = transform(ck["state_dict"]["weights.0"])

    return mutate


def _bool_hidden(ck):
    ck["arch"] = [64, True, 10]
    ck["state_dict"] = {"weights.0": torch.full((1, 64), 10.0), "weights.1": torch.full((10, 1), 200.0)}


CHECKPOINT_MUTATIONS = {
    "thresholds-numeric-strings": _set("thresholds", ["100", "100"]),
    "thresholds-words": _set("thresholds", ["abc", "abc"]),
    "thresholds-nested-lists": _set("thresholds", [[100.0], [100.0]]),
    "thresholds-nan": _set("thresholds", [float("nan"), 100.0]),
    "thresholds-inf": _set("thresholds", [float("inf"), 100.0]),
    "thresholds-negative": _set("thresholds", [-100.0, 100.0]),
    "thresholds-booleans": _set("thresholds", [True, True]),
    "thresholds-1e300": _set("thresholds", [1e300, 100.0]),
    "thresholds-tensors": _set("thresholds", [torch.tensor(100.0), torch.tensor(100.0)]),
    "thresholds-none-entries": _set("thresholds", [None, 100.0]),
    "norm-unknown": _set("norm", "l3"),
    "norm-int": _set("norm", 2),
    "norm-null": _set("norm", None),
    "image_shape-one-element": _set("coding", "image_shape", [64]),
    "image_shape-numeric-strings": _set("coding", "image_shape", ["8", "8"]),
    "image_shape-words": _set("coding", "image_shape", ["a", "b"]),
    "image_shape-zero": _set("coding", "image_shape", [0, 0]),
    "image_shape-negative": _set("coding", "image_shape", [-8, -8]),
    "image_shape-three-elements": _set("coding", "image_shape", [8, 8, 1]),
    "image_shape-fractional": _set("coding", "image_shape", [8.5, 8.0]),
    "image_shape-dict": _set("coding", "image_shape", {"h": 8, "w": 8}),
    "image_shape-string": _set("coding", "image_shape", "8x8"),
    "arch-boolean-hidden-size": _bool_hidden,
    "weights-sparse": _weights(lambda w: w.to_sparse()),
    "weights-complex": _weights(lambda w: w.to(torch.complex64) * (1 + 1j)),
    "weights-overflow-float32": _weights(lambda w: w.double() * 1e300),
    "T-1e12": _set("coding", "T", 10**12),
    "T-2pow62": _set("coding", "T", 2**62),
    "T-2pow70": _set("coding", "T", 2**70),
}

CHECKPOINT_COMMANDS = {
    "run-float": lambda path, tmp: run_fast(path, "float"),
    "run-golden": lambda path, tmp: run_fast(path),
    "compile": lambda path, tmp: compile_cmd(path, tmp / "out.ttfs"),
}


def _image_shape_784(ck):
    ck["coding"]["image_shape"] = [8, 8]


@pytest.mark.parametrize("command", list(CHECKPOINT_COMMANDS))
@pytest.mark.parametrize("mutation", [*CHECKPOINT_MUTATIONS, "image_shape-8x8-for-784-inputs"])
def test_family4_checkpoint_fields(mutation, command, ctx, tmp_path, capsys):
    if mutation == "image_shape-8x8-for-784-inputs":
        path = _ckpt(tmp_path, ctx, _image_shape_784, base=ctx.checkpoint784)
        argv = CHECKPOINT_COMMANDS[command](path, tmp_path)
        argv = [a if a != "digits:test" else "mnist-5k:val" for a in argv]
    else:
        path = _ckpt(tmp_path, ctx, CHECKPOINT_MUTATIONS[mutation])
        argv = CHECKPOINT_COMMANDS[command](path, tmp_path)
    check_refused(argv, tmp_path, capsys)


THRESHOLD_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.lists(st.floats(0, 500), max_size=2),
)


def _valid_threshold(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and np.isfinite(value)
        and value >= 0
        and value < 1e30
    )


@fuzz_settings(max_examples=40)
@given(thresholds=st.lists(THRESHOLD_VALUES, min_size=0, max_size=3))
def test_family4_fuzz_thresholds(ctx, tmp_path, capsys, thresholds):
    """Any thresholds field: exit 0 only when every value is a finite non-negative number, else exit 2."""
    path = _ckpt(tmp_path, ctx, _set("thresholds", thresholds))
    argv = ["run", path, "--target", "golden", "--data", "digits:test", "--limit", "5", *NOCAL, "--json"]
    result = cli(argv, capsys)
    valid = len(thresholds) == 2 and all(_valid_threshold(v) for v in thresholds)
    if valid and result.code == 0:
        return
    problems = refusal_problems(result)
    assert not problems, explain(problems + [f"thresholds={thresholds!r}"], result, argv)


# --- family 5: training, baseline and demo options -------------------------------------------------


def _train(tmp, *extra):
    return train_cmd(tmp / "m.pt", "--limit", "100", "--shift", "0", *extra)


def _baseline(*extra):
    return ["baseline", *"--arch 64-10-10 --data digits:train --val-data digits:test --epochs 1".split(), *extra]


def _demo(tmp, *extra):
    return ["demo", "--out", tmp / "demo-out", "--limit", "5", "--lava-limit", "2", *extra]


def _bad_profile_file(tmp) -> pathlib.Path:
    return yaml_file(tmp / "bad-profile.yaml", PROFILE_YAML.replace("weight: {value: 8", "weight: {value: 1"))


OPTION_CASES = {
    "train-seed-negative": lambda tmp: _train(tmp, "--seed", "-1"),
    "train-seed-2pow70": lambda tmp: _train(tmp, "--seed", str(2**70)),
    "train-T-0": lambda tmp: _train(tmp, "--T", "0"),
    "train-T-1": lambda tmp: _train(tmp, "--T", "1"),
    "train-T-negative": lambda tmp: _train(tmp, "--T", "-5"),
    "train-T-1e12": lambda tmp: _train(tmp, "--T", str(10**12)),
    "train-T-1e12-init-s4nn": lambda tmp: _train(tmp, "--T", str(10**12), "--init", "s4nn"),
    "train-shift-negative": lambda tmp: _train(tmp, "--shift", "-1"),
    "train-lr-nan": lambda tmp: _train(tmp, "--lr", "nan"),
    "train-lr-inf": lambda tmp: _train(tmp, "--lr", "inf"),
    "train-lr-per-layer-nan": lambda tmp: _train(tmp, "--lr", "0.2,nan"),
    "train-decay-nan": lambda tmp: _train(tmp, "--decay", "nan"),
    "train-decay-inf": lambda tmp: _train(tmp, "--decay", "inf"),
    "train-decay-negative": lambda tmp: _train(tmp, "--decay", "-1"),
    "train-threshold-nan": lambda tmp: _train(tmp, "--threshold", "nan"),
    "train-threshold-inf": lambda tmp: _train(tmp, "--threshold", "inf"),
    "train-lr-final-negative": lambda tmp: _train(tmp, "--lr-final", "-5"),
    "train-lr-final-nan": lambda tmp: _train(tmp, "--lr-final", "nan"),
    "train-gamma-negative": lambda tmp: _train(tmp, "--gamma", "-1"),
    "train-batch-size-zero": lambda tmp: _train(tmp, "--batch-size", "0"),
    "train-epochs-zero": lambda tmp: _train(tmp, "--epochs", "0"),
    "train-limit-negative": lambda tmp: _train(tmp, "--limit", "-3"),
    "train-arch-too-wide": lambda tmp: _train(tmp, "--arch", "64-100001-10"),
    "baseline-epochs-zero": lambda tmp: _baseline("--epochs", "0"),
    "baseline-epochs-negative": lambda tmp: _baseline("--epochs", "-1"),
    "baseline-shift-negative": lambda tmp: _baseline("--shift", "-1"),
    "baseline-seed-negative": lambda tmp: _baseline("--seed", "-1"),
    "baseline-seed-2pow70": lambda tmp: _baseline("--seed", str(2**70)),
    "demo-limit-zero": lambda tmp: _demo(tmp, "--limit", "0"),
    "demo-limit-negative": lambda tmp: _demo(tmp, "--limit", "-5"),
    "demo-lava-limit-zero": lambda tmp: _demo(tmp, "--lava-limit", "0"),
    "demo-lava-limit-negative": lambda tmp: _demo(tmp, "--lava-limit", "-1"),
    "demo-profile-unknown": lambda tmp: _demo(tmp, "--profile", "loihi9"),
    "demo-profile-bad-file": lambda tmp: _demo(tmp, "--profile", _bad_profile_file(tmp)),
    "claims-limit-zero": lambda tmp: claims_cmd(tmp / "claims-out", limit="0"),
    "claims-profile-unknown": lambda tmp: claims_cmd(tmp / "claims-out", "--profiles", "loihi9"),
    "claims-missing-model": lambda tmp: claims_cmd(tmp / "claims-out", "--models", tmp / "nope.pt"),
}


@pytest.mark.parametrize("case", list(OPTION_CASES))
def test_family5_options(case, tmp_path, capsys):
    check_refused(OPTION_CASES[case](tmp_path), tmp_path, capsys)


# --- family 6: hardware profile YAML (--profile PATH) ----------------------------------------------


def _profile_edit(old: str, new: str):
    def text():
        assert old in PROFILE_YAML, old
        return PROFILE_YAML.replace(old, new)

    return text


def _profile_section(section: str, replacement: str):
    """Replace a whole top-level section (its line and the indented lines under it)."""

    def text():
        lines, out, skipping = PROFILE_YAML.splitlines(), [], False
        for line in lines:
            if line.startswith(f"{section}:"):
                out.append(f"{section}: {replacement}")
                skipping = True
            elif skipping and line.startswith(" "):
                continue
            else:
                skipping = False
                out.append(line)
        return "\n".join(out) + "\n"

    return text


PROFILE_CASES = {
    "weight-bits-1": _profile_edit("weight: {value: 8", "weight: {value: 1"),
    "weight-bits-64": _profile_edit("weight: {value: 8", "weight: {value: 64"),
    "weight-bits-string": _profile_edit("weight: {value: 8", "weight: {value: '8'"),
    "weight-bits-nan": _profile_edit("weight: {value: 8", "weight: {value: .nan"),
    "weight-exponent-5000": _profile_edit("{min: -8, max: 7", "{min: -8, max: 5000"),
    "weight-exponent-minus-5000": _profile_edit("{min: -8, max: 7", "{min: -5000, max: -4000"),
    "weight-exponent-booleans": _profile_edit("{min: -8, max: 7", "{min: false, max: true"),
    "weight-exponent-nan": _profile_edit("{min: -8, max: 7", "{min: .nan, max: 7"),
    "membrane-bits-1": _profile_edit("membrane: {value: 24", "membrane: {value: 1"),
    "membrane-bits-10000": _profile_edit("membrane: {value: 24", "membrane: {value: 10000"),
    "limits-is-a-list": _profile_section("limits", "[1, 2, 3]"),
    "limits-is-a-string": _profile_section("limits", "lots"),
    "energy-is-a-string": _profile_section("energy_pj", "cheap"),
    "energy-is-a-list": _profile_section("energy_pj", "[1, 2]"),
    "time-is-a-number": _profile_section("time_ns", "5"),
    "fire-once-is-a-string": _profile_section("fire_once", "microcode"),
    "fire-once-is-a-list": _profile_section("fire_once", "[1, 2]"),
    "bit-widths-is-a-list": _profile_section("bit_widths", "[8, 24]"),
    "timing-is-a-list": _profile_section("timing", "[1]"),
    "cores-nan": _profile_edit("cores: {value: 128", "cores: {value: .nan"),
    "cores-inf": _profile_edit("cores: {value: 128", "cores: {value: .inf"),
    "cores-list": _profile_edit("cores: {value: 128", "cores: {value: [1, 2]"),
    "cores-fractional": _profile_edit("cores: {value: 128", "cores: {value: 0.5"),
    "neurons-per-core-nan": _profile_edit("neurons_per_core: {value: 8192", "neurons_per_core: {value: .nan"),
    "neurons-per-core-list": _profile_edit("neurons_per_core: {value: 8192", "neurons_per_core: {value: [1]"),
    "energy-nan": _profile_edit("synaptic_spike_op: {value: 23.6", "synaptic_spike_op: {value: .nan"),
    "energy-inf": _profile_edit("synaptic_spike_op: {value: 23.6", "synaptic_spike_op: {value: .inf"),
    "energy-list": _profile_edit("synaptic_spike_op: {value: 23.6", "synaptic_spike_op: {value: [23.6]"),
    "time-nan": _profile_edit("synaptic_spike_op: {value: 3.5", "synaptic_spike_op: {value: .nan"),
    "stage-delay-huge": _profile_edit("stage_delay_steps: {value: 1", "stage_delay_steps: {value: 1000000000000"),
    "unknown-top-level-key": lambda: PROFILE_YAML + "colour: red\n",
    "misspelled-section-limts": _profile_edit("limits:", "limts:"),
    "misspelled-energy-key": _profile_edit("synaptic_spike_op: {value: 23.6", "synaptic_spike_opp: {value: 23.6"),
    "misspelled-limit-key": _profile_edit("neurons_per_core:", "neuron_per_core:"),
    "duplicate-key": lambda: PROFILE_YAML.replace("bit_widths:\n", "bit_widths:\n  weight: {value: 4}\n"),
    "deep-nesting-100k-lists": lambda: "name: x\ndescription: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-nesting-100k-mappings": lambda: "name: x\ndescription: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n",
    "python-object-tag": lambda: PROFILE_YAML.replace(
        "name: testprof", "name: !!python/object/apply:os.system ['touch @PWNED@']"
    ),
    "empty-file": lambda: "",
    "top-level-list": lambda: "- 1\n- 2\n",
    "invalid-utf8": lambda: b"name: \xff\xfe\n",
}

PROFILE_COMMANDS = {
    "compile": lambda p, ctx, tmp: compile_cmd(ctx.model, tmp / "out.ttfs", "--profile", p),
    "profile": lambda p, ctx, tmp: profile_cmd(ctx.model, tmp / "report", *GOLDEN, "--profile", p, *FAST),
}


@pytest.mark.parametrize("command", list(PROFILE_COMMANDS))
@pytest.mark.parametrize("case", list(PROFILE_CASES))
def test_family6_profile_yaml(case, command, ctx, tmp_path, capsys):
    path = yaml_file(tmp_path / "profile.yaml", PROFILE_CASES[case]())
    check_refused(PROFILE_COMMANDS[command](path, ctx, tmp_path), tmp_path, capsys)


@pytest.mark.parametrize("case", [c for c in SUBPROCESS_CASES if c.startswith("profile-")])
def test_family6_profile_yaml_bombs(case, subprocess_results):
    check_subprocess_refused(subprocess_results, f"sub:{case}")


# --- family 7: budget YAML -------------------------------------------------------------------------

BUDGET_CASES = {
    "nan-limit": BUDGET_YAML.replace("max_spikes_per_inference: 100000", "max_spikes_per_inference: .nan"),
    "nan-min-accuracy": BUDGET_YAML.replace("min_accuracy: 0.0", "min_accuracy: .nan"),
    "nan-layer-limit": BUDGET_YAML.replace("fc1: {max_spikes: 100000}", "fc1: {max_spikes: .nan}"),
    "huge-integer-limit": BUDGET_YAML.replace("max_decision_steps: 256", "max_decision_steps: 1" + "0" * 400),
    "duplicate-key": BUDGET_YAML.replace(
        "  max_decision_steps: 256\n", "  max_decision_steps: 256\n  max_decision_steps: 1\n"
    ),
    "duplicate-layer": BUDGET_YAML.replace(
        "    fc1: {max_spikes: 100000}\n", "    fc1: {max_spikes: 100000}\n    fc1: {max_spikes: 1}\n"
    ),
    "duplicate-top-level": BUDGET_YAML + "budget:\n  min_accuracy: 0.99\n",
    "deep-nesting-100k-lists": "budget:\n  max_decision_steps: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "deep-nesting-100k-mappings": "budget:\n  layers: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n",
    "python-object-tag": "budget:\n  max_decision_steps: !!python/object/apply:os.system ['touch @PWNED@']\n",
    "unknown-key": BUDGET_YAML + "  max_joules: 5\n",
    "string-limit": BUDGET_YAML.replace("max_decision_steps: 256", "max_decision_steps: '256'"),
    "boolean-limit": BUDGET_YAML.replace("max_decision_steps: 256", "max_decision_steps: true"),
    "negative-limit": BUDGET_YAML.replace("max_decision_steps: 256", "max_decision_steps: -1"),
    "unknown-layer": BUDGET_YAML.replace("fc1:", "fc9:"),
    "layer-name-is-a-list": BUDGET_YAML.replace(
        "    fc1: {max_spikes: 100000}", "    ? [fc1, fc2]\n    : {max_spikes: 100000}"
    ),
    "empty-file": "",
    "invalid-utf8": b"budget:\n  max_decision_steps: \xff\n",
    "alias-to-itself": "budget: &b\n  layers: *b\n",
}


@pytest.mark.parametrize("case", list(BUDGET_CASES))
def test_family7_budget_yaml(case, ctx, tmp_path, capsys):
    path = yaml_file(tmp_path / "budget.yaml", BUDGET_CASES[case])
    check_refused(budget_cmd(path, ctx.model), tmp_path, capsys)


def test_family7_budget_billion_laughs(subprocess_results):
    check_subprocess_refused(subprocess_results, "sub:budget-billion-laughs")


# --- family 8: trace files -------------------------------------------------------------------------


def _tr(edit):
    """A trace built from the good one with ``edit(arrays)`` applied (which may add/remove keys)."""

    def build(tmp, ctx):
        arrays = npz_members(ctx.trace)
        edit(arrays)
        path = tmp / "bad.npz"
        np.savez(path, **arrays)
        return path

    return build


def _rename(old, new):
    def edit(a):
        a[new] = a.pop(old)

    return edit


def _put(key, fn):
    def edit(a):
        a[key] = fn(a)

    return edit


def _evil_trace(tmp, ctx):
    return _tr(_put("labels", lambda a: np.array([Evil(tmp)] * len(a["labels"]), dtype=object)))(tmp, ctx)


TRACE_CASES = {
    "T-vector": _tr(_put("T", lambda a: np.array([256, 256]))),
    "T-negative": _tr(_put("T", lambda a: np.array(-5))),
    "T-zero": _tr(_put("T", lambda a: np.array(0))),
    "T-nan": _tr(_put("T", lambda a: np.array(np.nan))),
    "T-string": _tr(_put("T", lambda a: np.array("many"))),
    "predictions-short": _tr(_put("predictions", lambda a: a["predictions"][:3])),
    "predictions-2d": _tr(_put("predictions", lambda a: a["predictions"][:, None])),
    "labels-2d": _tr(_put("labels", lambda a: a["labels"][:, None])),
    "empty-hidden-layer": _tr(_put("layer_1", lambda a: a["layer_1"][:, :0])),
    "empty-output-layer": _tr(_put("layer_2", lambda a: a["layer_2"][:, :0])),
    "gap-in-layer-numbers": _tr(lambda a: a.pop("layer_1")),
    "layer-number-huge": _tr(_rename("layer_2", "layer_" + "9" * 30)),
    "layer-number-negative": _tr(_rename("layer_2", "layer_-1")),
    "layer-number-not-a-number": _tr(_rename("layer_2", "layer_x")),
    "times-nan": _tr(
        _put("layer_1", lambda a: np.where(a["layer_1"] == a["layer_1"].min(), np.nan, a["layer_1"].astype(float)))
    ),
    "times-fractional": _tr(_put("layer_1", lambda a: a["layer_1"] + 0.5)),
    "times-negative": _tr(_put("layer_1", lambda a: a["layer_1"] - 1000)),
    "times-beyond-T": _tr(_put("layer_1", lambda a: a["layer_1"] + 1000)),
    "times-complex": _tr(_put("layer_1", lambda a: a["layer_1"] + 1j)),
    "times-3d": _tr(_put("layer_1", lambda a: a["layer_1"][:, :, None])),
    "early-stop-vector": _tr(_put("early_stop", lambda a: np.array([True, False]))),
    "only-one-layer": _tr(lambda a: (a.pop("layer_1"), a.pop("layer_2"))),
    "labels-missing": _tr(lambda a: a.pop("labels")),
    "pickled-object-array": _evil_trace,
    "not-a-zip": lambda tmp, ctx: _write(tmp / "bad.npz", b"PK\x03\x04 this is not a zip archive"),
    "plain-npy-not-npz": lambda tmp, ctx: _write(tmp / "bad.npz", npy_bytes(np.arange(10))),
}


@pytest.mark.parametrize("order", ["good-bad", "bad-bad"])
@pytest.mark.parametrize("case", list(TRACE_CASES))
def test_family8_trace_files(case, order, ctx, tmp_path, capsys):
    """A malformed trace is bad input (2), never 'different' (1) nor 'equal' (0)."""
    bad = TRACE_CASES[case](tmp_path, ctx)
    check_refused(diff_cmd(ctx.trace if order == "good-bad" else bad, bad), tmp_path, capsys)


# --- family 9: data ----------------------------------------------------------------------------------


def _zero_images(tmp) -> str:
    return write_idx_pair(tmp, np.zeros((0, 8, 8), np.uint8), np.zeros(0, np.uint8), "empty")


def _labels(*values):
    def spec(tmp) -> str:
        rng = np.random.default_rng(1)
        labels = rng.integers(0, 10, 20)
        labels[: len(values)] = values
        return write_idx_pair(tmp, rng.integers(0, 256, (20, 8, 8)), labels, "labels")

    return spec


def _idx_case(build_spec, command):
    def build(tmp, ctx):
        return command(ctx, tmp, build_spec(tmp))

    return build


def _cmd_run(target):
    return lambda ctx, tmp, spec: run_data(ctx.model, spec, target)


def _cmd_compile_calibration(ctx, tmp, spec):
    return compile_cmd(ctx.model, tmp / "o.ttfs", calibration=spec)


def _cmd_compile_validation(ctx, tmp, spec):
    return compile_cmd(ctx.model, tmp / "o.ttfs", data=spec)


def _cmd_train(which):
    """Training with ``spec`` as its ``which`` (``data`` or ``val_data``)."""
    return lambda ctx, tmp, spec: train_cmd(tmp / "m.pt", "--shift", "0", **{which: spec})


def _cmd_profile(ctx, tmp, spec):
    return profile_cmd(ctx.model, tmp / "rep", *GOLDEN, "--profile", "loihi1", "--data", spec, *NOCAL)


def _raw_pair(images: bytes, labels: bytes):
    def spec(tmp) -> str:
        i, lab = _write(tmp / "i.idx", images), _write(tmp / "l.idx", labels)
        return f"idx:{i},{lab}"

    return spec


DATA_CASES = {
    "zero-images-run-golden": _idx_case(_zero_images, _cmd_run("golden")),
    "zero-images-run-float": _idx_case(_zero_images, _cmd_run("float")),
    "zero-images-compile-calibration": _idx_case(_zero_images, _cmd_compile_calibration),
    "zero-images-compile-validation": _idx_case(_zero_images, _cmd_compile_validation),
    "zero-images-train-data": _idx_case(_zero_images, _cmd_train("data")),
    "zero-images-train-val-data": _idx_case(_zero_images, _cmd_train("val_data")),
    "zero-images-profile": _idx_case(_zero_images, _cmd_profile),
    "label-10-run-golden": _idx_case(_labels(10), _cmd_run("golden")),
    "label-10-run-float": _idx_case(_labels(10), _cmd_run("float")),
    "label-200-run-golden": _idx_case(_labels(200), _cmd_run("golden")),
    "label-200-compile-validation": _idx_case(_labels(200), _cmd_compile_validation),
    "label-200-compile-calibration": _idx_case(_labels(200), _cmd_compile_calibration),
    "label-200-profile": _idx_case(_labels(200), _cmd_profile),
    "label-200-train-val-data": _idx_case(_labels(200), _cmd_train("val_data")),
    "label-255-train-data": _idx_case(_labels(255), _cmd_train("data")),
    "images-28x28-for-64-inputs": _idx_case(
        lambda tmp: write_idx_pair(tmp, np.zeros((5, 28, 28), np.uint8), np.zeros(5, np.uint8)), _cmd_run("golden")
    ),
    "images-zero-height": _idx_case(_raw_pair(idx_header(5, 0, 8), idx_bytes(np.zeros(5))), _cmd_run("golden")),
    "images-2d": _idx_case(_raw_pair(idx_bytes(np.zeros((5, 64))), idx_bytes(np.zeros(5))), _cmd_run("golden")),
    "labels-count-mismatch": _idx_case(
        _raw_pair(idx_bytes(np.zeros((5, 8, 8))), idx_bytes(np.zeros(4))), _cmd_run("golden")
    ),
    "labels-2d": _idx_case(_raw_pair(idx_bytes(np.zeros((5, 8, 8))), idx_bytes(np.zeros((5, 1)))), _cmd_run("golden")),
    "type-float32": _idx_case(
        _raw_pair(b"\0\0\x0d\x03" + struct.pack(">3I", 1, 8, 8) + bytes(256), idx_bytes(np.zeros(1))),
        _cmd_run("golden"),
    ),
    "trailing-bytes": _idx_case(
        _raw_pair(idx_bytes(np.zeros((5, 8, 8))) + b"xx", idx_bytes(np.zeros(5))), _cmd_run("golden")
    ),
    "truncated-gzip": _idx_case(
        _raw_pair(gzip.compress(idx_bytes(np.zeros((5, 8, 8))))[:30], idx_bytes(np.zeros(5))), _cmd_run("golden")
    ),
    "empty-files": _idx_case(_raw_pair(b"", b""), _cmd_run("golden")),
    "spec-without-comma": lambda tmp, ctx: run_cmd(ctx.model, "--data", f"idx:{tmp}/x"),
    "spec-empty-paths": lambda tmp, ctx: run_cmd(ctx.model, "--data", "idx: , "),
    "spec-unknown": lambda tmp, ctx: run_cmd(ctx.model, "--data", "digits:val"),
    "limit-zero": lambda tmp, ctx: run_cmd(ctx.model, "--data", "digits:test", "--limit", "0"),
    "calibration-limit-negative": lambda tmp, ctx: compile_cmd(
        ctx.model, tmp / "o.ttfs", "--calibration-limit", "-5", calibration="digits:train"
    ),
}


@pytest.mark.parametrize("case", list(DATA_CASES))
def test_family9_data(case, ctx, tmp_path, capsys):
    check_refused(DATA_CASES[case](tmp_path, ctx), tmp_path, capsys)


# --- family 10: outputs ------------------------------------------------------------------------------


@pytest.fixture
def readonly_dir(tmp_path):
    """A folder nobody may write into. As root (permissions do not bind) that is sysfs."""
    if os.geteuid() == 0:
        yield pathlib.Path("/sys")
        return
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    yield folder
    folder.chmod(0o755)


def _file(path: pathlib.Path) -> pathlib.Path:
    path.write_text("precious")
    return path


def _copy_model(tmp, ctx) -> pathlib.Path:
    return _write(tmp / "model.pt", ctx.model.read_bytes())


def _report_dir_blocking(tmp: pathlib.Path, name: str) -> pathlib.Path:
    folder = tmp / "report"
    (folder / name).mkdir(parents=True)  # a folder where the file should go: writing it fails
    return folder


def _record(ctx, out) -> list:
    return ["trace", "record", ctx.model, *FAST, "-o", out]


def _demo_out(out) -> list:
    return ["demo", "--limit", "3", "--lava-limit", "1", "--out", out]


OUTPUT_CASES = {
    # read-only output directory: refuse before the (long) job, not after it
    "readonly-train-o": lambda tmp, ctx, ro: _train(tmp)[:-1] + [ro / "ttfs-bad-input-m.pt"],
    "readonly-compile-o": lambda tmp, ctx, ro: compile_cmd(
        ctx.model, ro / "ttfs-bad-input.ttfs", calibration="digits:train"
    ),
    "readonly-trace-record-o": lambda tmp, ctx, ro: _record(ctx, ro / "ttfs-bad-input.npz"),
    "readonly-run-trace": lambda tmp, ctx, ro: run_cmd(ctx.model, *FAST, "--trace", ro / "ttfs-bad-input.npz"),
    "readonly-profile-out": lambda tmp, ctx, ro: profile_cmd(ctx.model, ro / "ttfs-bad-input-rep", *FAST),
    "readonly-claims-out": lambda tmp, ctx, ro: claims_cmd(ro / "ttfs-bad-input-claims"),
    "readonly-demo-out": lambda tmp, ctx, ro: _demo_out(ro / "ttfs-bad-input-demo"),
    # --out naming an existing file
    "profile-out-is-a-file": lambda tmp, ctx, ro: profile_cmd(ctx.model, _file(tmp / "f"), *FAST),
    "claims-out-is-a-file": lambda tmp, ctx, ro: claims_cmd(_file(tmp / "f")),
    "demo-out-is-a-file": lambda tmp, ctx, ro: _demo_out(_file(tmp / "f")),
    # -o whose parent is a file
    "train-o-parent-is-a-file": lambda tmp, ctx, ro: _train(tmp)[:-1] + [_file(tmp / "f") / "m.pt"],
    "compile-o-parent-is-a-file": lambda tmp, ctx, ro: compile_cmd(ctx.model, _file(tmp / "f") / "m.ttfs"),
    "trace-record-o-parent-is-a-file": lambda tmp, ctx, ro: _record(ctx, _file(tmp / "f") / "t.npz"),
    "run-trace-parent-is-a-file": lambda tmp, ctx, ro: run_cmd(ctx.model, *FAST, "--trace", _file(tmp / "f") / "t.npz"),
    "profile-out-parent-is-a-file": lambda tmp, ctx, ro: profile_cmd(ctx.model, _file(tmp / "f") / "rep", *FAST),
    "claims-out-parent-is-a-file": lambda tmp, ctx, ro: claims_cmd(_file(tmp / "f") / "c"),
    # names the file system refuses
    "train-o-name-too-long": lambda tmp, ctx, ro: _train(tmp)[:-1] + [tmp / ("m" * 300 + ".pt")],
    "compile-o-name-too-long": lambda tmp, ctx, ro: compile_cmd(ctx.model, tmp / ("m" * 300 + ".ttfs")),
    "profile-out-name-too-long": lambda tmp, ctx, ro: profile_cmd(ctx.model, tmp / ("r" * 300), *FAST),
    # an output that is one of the inputs
    "run-trace-overwrites-the-model": lambda tmp, ctx, ro: run_cmd((m := _copy_model(tmp, ctx)), *FAST, "--trace", m),
    "compile-o-overwrites-the-model": lambda tmp, ctx, ro: compile_cmd((m := _copy_model(tmp, ctx)), m),
    # half-written reports: the report folder exists but a file in it cannot be written
    "profile-out-half-report-html": lambda tmp, ctx, ro: profile_cmd(
        ctx.model, _report_dir_blocking(tmp, "report.html"), *FAST
    ),
    "profile-out-half-report-first-plot": lambda tmp, ctx, ro: profile_cmd(
        ctx.model, _report_dir_blocking(tmp, "raster.png"), *FAST
    ),
    "claims-out-half-written": lambda tmp, ctx, ro: claims_cmd(_report_dir_blocking(tmp, "claims.md")),
}


@pytest.mark.parametrize("case", list(OUTPUT_CASES))
def test_family10_outputs(case, ctx, tmp_path, capsys, readonly_dir):
    argv = OUTPUT_CASES[case](tmp_path, ctx, readonly_dir)
    check_refused(argv, tmp_path, capsys)


@pytest.mark.parametrize("case", list(BROKEN_PIPE_CASES))
def test_family10_broken_pipe(case, subprocess_results):
    """``ttfs-deploy ... | head``: the reader went away; no traceback, at most one line on stderr."""
    argv, tmp, guard, result = subprocess_results[f"pipe:{case}"]
    problems = []
    if result.code == "hang":
        problems.append("hung")
    if "Traceback" in result.err or "Exception ignored" in result.err:
        problems.append("traceback on stderr")
    if len(result.err.strip().splitlines()) > 1:
        problems.append(f"{len(result.err.strip().splitlines())} lines on stderr")
    assert not problems, explain(problems, result, argv)


# --- garbage files (hypothesis): every loader, random bytes and mutations of a good file ---------------


def _mutations(good: bytes):
    """Truncations and byte flips of a good file, plus random bytes."""
    flips = st.lists(st.tuples(st.integers(0, max(len(good) - 1, 0)), st.integers(0, 255)), min_size=1, max_size=8)
    return st.one_of(
        st.binary(max_size=2048),
        st.integers(0, len(good)).map(lambda n: good[:n]),
        flips.map(lambda changes: _apply(good, changes)),
    )


def _apply(good: bytes, changes) -> bytes:
    data = bytearray(good)
    for pos, value in changes:
        data[pos] = value
    return bytes(data)


# kind -> (file name, good content(ctx), command(path, ctx, tmp))
GARBAGE_KINDS = {
    "ttfs": ("m.ttfs", lambda ctx: ctx.ttfs.read_bytes(), lambda p, ctx, tmp: run_cmd(p, *FIVE)),
    "checkpoint": ("m.pt", lambda ctx: ctx.model.read_bytes(), lambda p, ctx, tmp: run_cmd(p, *FIVE, target="float")),
    "trace": ("t.npz", lambda ctx: ctx.trace.read_bytes(), lambda p, ctx, tmp: diff_cmd(ctx.trace, p)),
    "budget": (
        "b.yaml",
        lambda ctx: BUDGET_YAML.encode(),
        lambda p, ctx, tmp: budget_cmd(p, ctx.model, (*FIVE, *NOCAL)),
    ),
    "profile": (
        "p.yaml",
        lambda ctx: PROFILE_YAML.encode(),
        lambda p, ctx, tmp: compile_cmd(ctx.model, tmp / "o.ttfs", "--profile", p),
    ),
    "idx-images": (
        "i.idx",
        lambda ctx: idx_bytes(np.zeros((5, 8, 8))),
        lambda p, ctx, tmp: run_data(ctx.model, f"idx:{p},{_write(tmp / 'l.idx', idx_bytes(np.zeros(5)))}"),
    ),
}


@pytest.mark.parametrize("kind", list(GARBAGE_KINDS))
@fuzz_settings(max_examples=30)
@given(data=st.data())
def test_garbage_files(kind, data, ctx, tmp_path, capsys):
    """Random bytes, truncations and byte flips of a good file: never a traceback; either accepted
    (exit 0, nothing on stderr: a flip can leave a valid file, e.g. in pixel or weight bytes, and
    a budget may then be missed: 1) or refused with one line and exit 2, writing nothing."""
    name, good, command = GARBAGE_KINDS[kind]
    good_bytes = good(ctx)
    content = data.draw(_mutations(good_bytes), label="content")
    path = tmp_path / name
    path.write_bytes(content)
    for leftover in (tmp_path / "o.ttfs",):
        leftover.unlink(missing_ok=True)
    argv = command(path, ctx, tmp_path)
    guard = Guard(tmp_path, argv)
    result = cli(argv, capsys)
    if not result.err.strip() and (result.code == 0 or (result.code == 1 and "budget NOT met" in result.out)):
        return
    problems = refusal_problems(result) + guard.problems()
    assert not problems, explain(problems + [f"content={content[:200]!r}"], result, argv)


# --- hostile content: files that would run code if they were unpickled --------------------------------


def _evil_ttfs(tmp, ctx):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.array([Evil(tmp)], dtype=object), allow_pickle=True)
    return run_fast(_ttfs_with(tmp, ctx, weight_0=buf.getvalue()))


HOSTILE_CASES = {
    "checkpoint-pickled-code": lambda tmp, ctx: run_fast(
        _ckpt(tmp, ctx, _set("metrics", {"note": Evil(tmp)})), "float"
    ),
    "ttfs-pickled-object-member": _evil_ttfs,
    "init-from-pickled-code": lambda tmp, ctx: _train_from(tmp, _ckpt(tmp, ctx, _set("train", {"note": Evil(tmp)}))),
    "trace-pickled-object-member": lambda tmp, ctx: diff_cmd(ctx.trace, _evil_trace(tmp, ctx)),
}


@pytest.mark.parametrize("case", list(HOSTILE_CASES))
def test_hostile_pickles(case, ctx, tmp_path, capsys):
    check_refused(HOSTILE_CASES[case](tmp_path, ctx), tmp_path, capsys)
