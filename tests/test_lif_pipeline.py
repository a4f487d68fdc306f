"""Rate-coded LIF networks through the commands: train-rate, compile, run (float/golden), profile, bad input."""

import json

import numpy as np
import pytest
import torch

from .helpers import cli

pytestmark = pytest.mark.slow  # ~15 command runs (each starts torch and Numba)

TRAIN = ("train-rate", "--arch", "784-16-10", "--limit", "200", "--val-limit", "50", "--epochs", "1", "--seed", "3")


@pytest.fixture(scope="module")
def rate_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("rate") / "rate.pt"
    proc = cli(*TRAIN, "--json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    return out


def test_training_is_seeded_and_weights_only(rate_model, tmp_path):
    again = tmp_path / "again.pt"
    assert cli(*TRAIN, "--json", "-o", again).returncode == 0
    a, b = torch.load(rate_model, weights_only=True), torch.load(again, weights_only=True)
    assert a["format"] == "ttfs-deploy/lif-checkpoint" and a["neuron"] == {
        "kind": "lif",
        "vth": 1.0,
        "du": 1.0,
        "dv": 0.1,
    }
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key])


def run_json(*args):
    proc = cli("run", *args, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compile_and_run_share_the_ttfs_schema(rate_model, tmp_path):
    artifact = tmp_path / "rate.ttfs"
    assert cli("compile", rate_model, "--target", "loihi-sim", "--calibration", "none", "-o", artifact).returncode == 0
    golden = run_json(artifact, "--target", "golden", "--limit", "40")
    again = run_json(rate_model, "--target", "golden", "--limit", "40")  # compiled on the fly, the same network
    assert golden["samples"] == again["samples"]
    ttfs_keys = {
        "accuracy",
        "accuracy_strict",
        "n",
        "ties",
        "T",
        "mean_decision_step",
        "mean_spikes_until_decision",
        "mean_spikes_total",
        "samples",
    }
    assert ttfs_keys <= set(golden) and golden["input_seed"] == 0 and golden["neuron"] == "lif"
    for s in golden["samples"]:
        assert s["spikes_until_decision"] <= s["spikes_total"] and 2 <= s["decision_step"] <= 15 + 2
    other_seed = run_json(artifact, "--target", "golden", "--limit", "40", "--input-seed", "9")
    assert other_seed["input_seed"] == 9 and other_seed["samples"] != golden["samples"]
    float_run = run_json(rate_model, "--target", "float", "--limit", "40")
    assert abs(float_run["accuracy"] - golden["accuracy"]) <= 0.2
    refused = cli("run", artifact, "--target", "float", "--limit", "2")  # the artifact is fixed-point
    assert refused.returncode == 2 and "target float needs a float model" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_profile_prices_a_rate_network(rate_model, tmp_path):
    proc = cli("profile", rate_model, "--target", "golden", "--limit", "20", "--json", "--out", tmp_path / "report")
    assert (tmp_path / "report" / "raster.png").stat().st_size > 0, proc.stderr
    assert proc.returncode == 0, proc.stderr
    prof = json.loads(proc.stdout)
    steps = (
        prof["profile"]["layers"][0]["spikes_per_step"] if "profile" in prof else prof["layers"][0]["spikes_per_step"]
    )
    assert len(steps) == 15 + 2  # T + L hardware steps


def test_trace_record_and_diff(rate_model, tmp_path):
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        proc = cli(
            "trace",
            "record",
            rate_model,
            "--target",
            "golden",
            "--limit",
            "5",
            "--input-seed",
            seed,
            "-o",
            tmp_path / f"{name}.npz",
        )
        assert proc.returncode == 0, proc.stderr
    assert cli("trace", "diff", tmp_path / "a.npz", tmp_path / "b.npz").returncode == 0
    proc = cli("trace", "diff", tmp_path / "a.npz", tmp_path / "c.npz")
    assert proc.returncode == 1 and "input seeds 0 vs 1" in proc.stdout


def test_autoencoder_reports_mse_and_writes_reconstructions(tmp_path):
    model = tmp_path / "ae.pt"
    proc = cli(
        "train-rate",
        "--task",
        "autoencode",
        "--arch",
        "784-16-784",
        "--limit",
        "100",
        "--val-limit",
        "20",
        "--epochs",
        "1",
        "-o",
        model,
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "recon.npy"
    summary = run_json(model, "--target", "golden", "--limit", "12", "--out", out)
    assert summary["n"] == 12 and 0 <= summary["mse"] <= 4 and summary["task"] == "autoencode"
    recon = np.load(out)
    assert recon.dtype == np.uint8 and recon.shape == (12, 28, 28)


@pytest.mark.parametrize(
    "args, message",
    [
        (("run", "{model}", "--target", "golden", "--input-seed", "-1"), "--input-seed"),
        (("train", "--init-from", "{model}", "-o", "{tmp}/x.pt"), "is a rate-coded LIF checkpoint"),
        (
            ("train", "--neuron", "lif", "--coding", "rate", "-o", "{tmp}/x.pt"),
            "are trained by `ttfs-deploy train-rate`",
        ),
        (("run", "mnist-s4nn", "--target", "golden", "--limit", "2", "--input-seed", "3"), "--input-seed is for rate"),
        (("run", "mnist-s4nn", "--target", "golden", "--limit", "2", "--lead", "2"), "--lead is for rate"),
        (("run", "mnist-s4nn", "--target", "float", "--limit", "2", "--lead", "2"), "--lead is for rate"),
        (("run", "ae-mnist-rate", "--target", "golden", "--limit", "2", "--lead", "2"), "is an autoencoder"),
        (("run", "{model}", "--target", "golden", "--lead", "0"), "--lead"),
    ],
)
def test_bad_input_is_one_line_exit_2(rate_model, tmp_path, args, message):
    proc = cli(*(a.format(model=rate_model, tmp=tmp_path) for a in args))
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_lead_sets_the_causal_rule_run_reports(rate_model):
    # the causal rule decides once the leading output count is ahead by `--lead` spikes: what
    # lead_decision_steps computes on the same rasters, and never sooner for a larger lead
    from ttfs_deploy.coding import encode_rate
    from ttfs_deploy.compiler.pipeline import deploy
    from ttfs_deploy.data import load
    from ttfs_deploy.semantics.lif import simulate_rate
    from ttfs_deploy.semantics.readout import lead_decision_steps

    by_lead = {k: run_json(rate_model, "--target", "golden", "--limit", "60", "--lead", str(k)) for k in (1, 4)}
    ir = deploy(str(rate_model), "golden", None, calibration=None).ir
    digits = load("mnist-5k:val").head(60)
    output = simulate_rate(ir, encode_rate(digits.images, ir.T, ir.rate.scheme, 0, ir.rate.max_rate))[-1]
    L = len(ir.chain()) - 1  # LIF layers: the output's local step t is hardware step t + L
    for k, result in by_lead.items():
        prediction, local = lead_decision_steps(output, k)
        decision = np.where(prediction >= 0, local + L, ir.T + L)
        assert result["causal"]["lead"] == k
        assert result["causal"]["accuracy"] == pytest.approx(float(np.mean(prediction == digits.labels)))
        assert result["causal"]["mean_decision_step"] == pytest.approx(float(decision.mean()))
    assert by_lead[1]["causal"]["mean_decision_step"] <= by_lead[4]["causal"]["mean_decision_step"]
    assert by_lead[1]["samples"] == by_lead[4]["samples"]  # the oracle decision does not depend on the lead
