"""compile / run on golden, loihi-sim and loihi-hw from the command line, as a user runs them."""

import json

import numpy as np
import pytest

from ttfs_deploy.compiler.hardware import PROFILE_DIR
from ttfs_deploy.ir import load_ir

from .helpers import MODELS, cli


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("compiled") / "s4nn.ttfs"
    proc = cli(
        "compile",
        MODELS / "mnist-s4nn.pt",
        "--target",
        "loihi-sim",
        "--profile",
        "loihi1",
        "--calibration-limit",
        "300",
        "--limit",
        "200",
        "-o",
        out,
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_compile_summary(artifact):
    path, summary = artifact
    ir = load_ir(path)
    assert ir.is_quantized and ir.quant.profile == "loihi1" and ir.sizes == [784, 400, 10]
    assert [layer["cores"] for layer in summary["layers"]] == [3, 1] and summary["cores"] == 4
    # the 0.3-point bar is checked on all 500 digits with full calibration in test_quantize.py; here
    # (300 calibration, 200 validation digits) one digit is 0.5 points, so allow two digits
    assert summary["n_validation"] == 200 and round(summary["accuracy_change"] * 200) >= -2
    for layer in summary["layers"]:
        assert -128 <= layer["weight_range"][0] and layer["weight_range"][1] <= 127


def test_float_target_refuses_a_compiled_artifact(artifact):
    proc = cli("run", artifact[0], "--target", "float", "--limit", "2")
    assert proc.returncode == 2 and "target float needs a float model (.pt, .nir)" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.requires_lava
def test_loihi_sim_equals_golden_through_the_cli(artifact, tmp_path):
    path, _ = artifact
    results = {}
    for target in ("golden", "loihi-sim"):
        trace = tmp_path / f"{target}.npz"
        proc = cli("run", path, "--target", target, "--limit", "30", "--json", "--trace", trace)
        assert proc.returncode == 0, proc.stderr
        results[target] = (json.loads(proc.stdout), np.load(trace))
    (golden, golden_trace), (lava, lava_trace) = results["golden"], results["loihi-sim"]
    assert lava["early_stop"] and not golden["early_stop"]
    for key in ("accuracy", "mean_decision_step", "mean_spikes_until_decision"):
        assert golden[key] == lava[key]
    assert [s["prediction"] for s in golden["samples"]] == [s["prediction"] for s in lava["samples"]]
    # golden is a full run: masking its spikes after each decision gives Lava's early-stop trace
    for k in range(3):
        g, lv = golden_trace[f"layer_{k}"], lava_trace[f"layer_{k}"]
        decision = golden_trace["layer_2"].min(axis=1, keepdims=True)
        np.testing.assert_array_equal(np.where(g <= decision, g, 256), lv)


def test_hardware_target_says_what_is_missing(artifact):
    path, _ = artifact
    proc = cli("run", path, "--target", "loihi-hw", "--limit", "2")
    from ttfs_deploy.backends import missing

    # what is missing depends on the machine (lava-nc, then lava-loihi, then a board): the line says which
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert missing("loihi-hw") in proc.stderr


def test_targets_lists_profiles():
    proc = cli("targets", "--json")
    listing = json.loads(proc.stdout)
    assert {t["name"] for t in listing["targets"]} == {"float", "golden", "loihi-sim", "loihi-hw"}
    assert {p["name"] for p in listing["profiles"]} >= {"loihi1", "loihi2"}


def test_compile_bad_inputs(tmp_path):
    too_big = tmp_path / "cores.yaml"
    profile = (PROFILE_DIR / "loihi1.yaml").read_text()
    too_big.write_text(profile.replace("cores: {value: 128", "cores: {value: 2"))
    cases = {
        "does not fit": (
            "compile",
            MODELS / "mnist-s4nn.pt",
            "--profile",
            too_big,
            "--data",
            "none",
            "--calibration",
            "none",
            "-o",
            tmp_path / "a.ttfs",
        ),
        "unknown profile": ("compile", MODELS / "mnist-s4nn.pt", "--profile", "truenorth", "-o", tmp_path / "b.ttfs"),
        "unknown target": ("compile", MODELS / "mnist-s4nn.pt", "--target", "spinnaker", "-o", tmp_path / "c.ttfs"),
        "corrupt artifact": ("run", tmp_path / "corrupt.ttfs", "--target", "golden"),
        "float on artifact": ("run", tmp_path / "corrupt.ttfs", "--target", "float"),
        "data of another shape": (
            "compile",
            MODELS / "mnist-s4nn.pt",
            "--data",
            "digits",
            "--calibration",
            "none",
            "-o",
            tmp_path / "d.ttfs",
        ),
    }
    (tmp_path / "corrupt.ttfs").write_bytes(b"PK\x03\x04 definitely not an archive")
    for case, args in cases.items():
        proc = cli(*args)
        assert proc.returncode == 2, (case, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, (case, proc.stderr)
    assert "needs 4 cores, loihi1 has 2 (2 too many)" in cli(*cases["does not fit"]).stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cores.yaml", "corrupt.ttfs"]  # nothing half-written
