"""Issue 16: one model gives one integer network whatever the command; results say what they measured.

A ``.pt`` on an integer target is compiled exactly as ``ttfs-deploy compile`` compiles it, so run,
trace and budget agree with a compiled artifact and with the shipped golden trace; the profile
defaults to an artifact's own (else loihi2) and every result names target, profile and samples;
``trace diff`` names its view and reports a moved decision as that.
"""

import json
import pathlib

import numpy as np

from ttfs_deploy.compiler.pipeline import CALIBRATION_DATA, CALIBRATION_SAMPLES, compile_network, deploy, load_network
from ttfs_deploy.data import load
from ttfs_deploy.measure.trace import diff_traces, load_trace, run_trace, save_trace
from ttfs_deploy.semantics.readout import classify

from .test_cli import cli

REPO = pathlib.Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "mnist-s4nn.pt"
GOLDEN = REPO / "examples" / "hil" / "golden" / "mnist-s4nn.npz"


def test_deploy_is_what_compile_builds():
    deployed = deploy("mnist-s4nn", "golden")  # a shipped model's name works too
    compiled = compile_network(
        load_network(MODEL), "loihi-sim", "loihi2", load(CALIBRATION_DATA).head(CALIBRATION_SAMPLES)
    )
    assert deployed.profile == "loihi2" and deployed.ir.quant == compiled.ir.quant
    for a, b in zip(deployed.ir.fire_once_layers(), compiled.ir.fire_once_layers()):
        assert np.array_equal(a.weight, b.weight) and a.threshold == b.threshold
    assert "mnist-5k:train" in deployed.note and "validation" not in deployed.note


def test_run_trace_and_budget_on_a_pt_agree_with_the_compiled_artifact(tmp_path):
    artifact = tmp_path / "s4nn.ttfs"
    assert cli("compile", MODEL, "-o", artifact, "--data", "none").returncode == 0
    runs = {}
    for model in (MODEL, artifact):
        proc = cli("run", model, "--target", "golden", "--limit", "60", "--json")
        assert proc.returncode == 0, proc.stderr
        runs[model.suffix] = json.loads(proc.stdout)
    assert runs[".pt"]["samples"] == runs[".ttfs"]["samples"]
    assert runs[".pt"]["profile"] == runs[".ttfs"]["profile"] == "loihi2"
    # a trace recorded from the .pt equals the shipped golden trace (recorded through the plugin)
    trace = tmp_path / "a.npz"
    proc = cli("trace", "record", MODEL, "--target", "golden", "--early-stop", "--limit", "100", "-o", trace)
    assert proc.returncode == 0 and "clipping chosen on 1000 samples of mnist-5k:train" in proc.stdout, proc.stdout
    assert cli("trace", "diff", GOLDEN, trace).returncode == 0
    # budget check on a .pt says what it ran and how the .pt was compiled
    budget = tmp_path / "b.yaml"
    budget.write_text("budget: {min_accuracy: 0.5}\n")
    proc = cli("budget", "check", budget, MODEL, "--limit", "30")
    assert proc.returncode == 0, proc.stderr
    assert "target golden, profile loihi2, n = 30" in proc.stdout and "note: mnist-s4nn.pt compiled as" in proc.stdout


def test_profile_defaults_to_the_artifacts_own_and_every_result_names_it(tmp_path):
    artifact = tmp_path / "s4nn1.ttfs"
    proc = cli("compile", MODEL, "--profile", "loihi1", "--data", "none", "--calibration-limit", "200", "-o", artifact)
    assert proc.returncode == 0, proc.stderr
    proc = cli("profile", artifact, "--limit", "20", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["profile"]["profile"] == "loihi1"  # not silently the loihi2 default
    budget = tmp_path / "b.yaml"
    budget.write_text("budget: {max_decision_steps: 200}\n")
    report = json.loads(cli("budget", "check", budget, artifact, "--limit", "20", "--json").stdout)
    assert {k: report[k] for k in ("target", "profile", "n", "early_stop")} == {
        "target": "golden",
        "profile": "loihi1",
        "n": 20,
        "early_stop": False,
    }
    assert json.loads(cli("run", MODEL, "--target", "golden", "--limit", "5", "--json").stdout)["profile"] == "loihi2"


def test_help_shows_defaults_and_version():
    text = " ".join(cli("run", "--help").stdout.split())  # argparse wraps to the terminal width
    assert "(default: float)" in text and "(default: mnist-5k:train)" in text
    assert "(default: a .ttfs artifact's own profile, else loihi2)" in text
    assert "(default: 10%)" in " ".join(cli("budget", "init", "--help").stdout.split())
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("ttfs-deploy ")


def test_budget_init_writes_a_budget_the_run_meets(tmp_path):
    out = tmp_path / "budget.yaml"
    args = ("--target", "golden", "--early-stop", "--limit", "40")
    proc = cli("budget", "init", "mnist-s4nn", *args, "--margin", "10%", "-o", out, "--json")
    assert proc.returncode == 0, proc.stderr
    written = json.loads(proc.stdout)
    assert written["profile"] == "loihi2" and written["n"] == 40 and written["early_stop"] is True
    limits = written["budget"]
    assert {"max_spikes_per_inference", "max_energy_nj", "min_accuracy", "layers"} <= set(limits)
    assert "n = 40" in out.read_text().splitlines()[1]  # the measured run is written beside the limits
    assert cli("budget", "check", out, "mnist-s4nn", *args).returncode == 0
    assert cli("budget", "init", "mnist-s4nn", "--margin", "150%", "-o", out).returncode == 2


def _save(path, layers, early_stop, T=10):
    save_trace(path, run_trace(layers, classify(layers, np.zeros(len(layers[0]), np.int64), T, "golden"), early_stop))
    return load_trace(path)


def test_diff_reports_a_moved_decision_not_a_dropped_input_spike(tmp_path):
    T = 10
    # A decides at step 3 and stops: its input spike at 5 was never issued. B decides at 6.
    a = [np.array([[0, T]]), np.array([[2, T]]), np.array([[3, T]])]
    b = [np.array([[0, 5]]), np.array([[2, 4]]), np.array([[6, T]])]
    diff = diff_traces(_save(tmp_path / "a.npz", a, True), _save(tmp_path / "b.npz", b, True))
    message = diff.message()
    assert diff.view == "early-stop" and diff.first == (0, 2, 0, 3, 6)
    assert "input" not in message.split(";")[0] and "decision step 3 vs 6" in message
    assert "early-stop view" in message and diff.spikes_differing == 1
    same = diff_traces(_save(tmp_path / "c.npz", a, True), _save(tmp_path / "d.npz", a, False))
    assert same.equal and "early-stop view" in same.message()
    full = diff_traces(_save(tmp_path / "e.npz", b, False), _save(tmp_path / "f.npz", b, False))
    assert full.view == "full" and "full view" in full.message()
