"""The ttfs-deploy command line run as a user would: subprocesses, exit codes, stderr, JSON."""

import json
import os

import pytest
import torch

from .helpers import cli

# a small, quick training run on sklearn's 8x8 digits; the output path follows
TRAIN_DIGITS = (
    "train --arch 64-40-10 --data digits:train --val-data digits:test --epochs 3 --seed 1 --lr 0.5 --shift 0 -o".split()
)


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "digits.pt"
    proc = cli(*TRAIN_DIGITS, out, "--json")
    assert proc.returncode == 0, proc.stderr
    return out, json.loads(proc.stdout)


def test_train_writes_a_weights_only_checkpoint(digits_model):
    path, summary = digits_model
    data = torch.load(path, weights_only=True)
    assert data["arch"] == [64, 40, 10] and data["train"]["seed"] == 1 and data["train"]["data"] == "digits:train"
    # the default start is the converted ReLU network, and how it was converted is recorded
    assert data["train"]["init"] == "ann" and data["train"]["ann_epochs"] == 30
    assert {"output_quantile", "calibration_accuracy", "ann_train_accuracy"} <= set(data["train"]["ann_init"])
    assert len(data["metrics"]["epochs"]) == 3
    # PyTorch's CPU-independent kernels were used (ttfs_deploy.reproducible), and that is recorded
    assert data["train"]["cpu_kernels"] == {"aten": "DEFAULT", "mkl_cbwr": "COMPATIBLE"}
    assert summary["output"] == str(path) and 0.0 <= summary["val_accuracy"] <= 1.0


# What differs between machines, emulated here: a CPU without AVX for Numba's loops, another core
# count for torch and Numba, MKL limited to older instructions. PyTorch's own kernel choice is
# pinned by the CLI (ATEN_CPU_CAPABILITY=default), so the CPU it runs on cannot change it either.
OTHER_MACHINES = [
    {},
    {
        "NUMBA_CPU_NAME": "generic",
        "OMP_NUM_THREADS": "2",
        "NUMBA_NUM_THREADS": "1",
        "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    },
]


@pytest.mark.parametrize("machine", OTHER_MACHINES, ids=["same", "other-cpu-and-cores"])
def test_training_repeats_bit_for_bit(digits_model, tmp_path, machine):
    path, summary = digits_model
    again = tmp_path / "again.pt"
    proc = cli(*TRAIN_DIGITS, again, "--json", env=machine)
    assert proc.returncode == 0, proc.stderr
    a, b = torch.load(path, weights_only=True), torch.load(again, weights_only=True)
    for key in a["state_dict"]:
        assert torch.equal(a["state_dict"][key], b["state_dict"][key])


def test_training_warns_when_the_kernels_are_not_pinned(tmp_path):
    out = tmp_path / "m.pt"
    proc = cli(
        "train",
        "--arch",
        "64-10-10",
        "--data",
        "digits:train",
        "--val-data",
        "digits:test",
        "--epochs",
        "1",
        "--ann-epochs",
        "1",
        "-o",
        out,
        "--json",
        env={"MKL_CBWR": "AUTO"},
    )
    assert proc.returncode == 0, proc.stderr
    assert "MKL_CBWR=AUTO" in proc.stderr and "repeats only on CPUs like this one" in proc.stderr
    assert torch.load(out, weights_only=True)["train"]["cpu_kernels"]["mkl_cbwr"] == "AUTO"


def test_run_json_schema(digits_model):
    path, summary = digits_model
    proc = cli("run", path, "--target", "float", "--data", "digits:test", "--limit", "40", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert {"accuracy", "n", "mean_decision_step", "mean_spikes_until_decision", "mean_spikes_total", "samples"} <= set(
        result
    )
    assert result["n"] == 40 and len(result["samples"]) == 40
    samples = result["samples"]
    assert result["accuracy"] == sum(s["label"] == s["prediction"] for s in samples) / 40
    assert result["mean_decision_step"] == pytest.approx(sum(s["decision_step"] for s in samples) / 40)
    for s in samples:
        assert s["spikes_until_decision"] <= s["spikes_total"] <= 64 + 40 + 10


def test_run_full_validation_matches_training_metric(digits_model):
    path, summary = digits_model
    proc = cli("run", path, "--data", "digits:test", "--json")
    assert json.loads(proc.stdout)["accuracy"] == summary["val_accuracy"]


def _bad_inputs(tmp_path, model):
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(model.read_bytes()[:300])
    text = tmp_path / "notes.txt"
    text.write_text("not a model")

    class Evil:
        def __reduce__(self):
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    evil = tmp_path / "evil.pt"
    torch.save({"format": "ttfs-deploy/checkpoint", "payload": Evil()}, evil)
    return {
        "missing model": ("run", tmp_path / "nope.pt", "--data", "digits"),
        "truncated model": ("run", truncated, "--data", "digits"),
        "not a checkpoint": ("run", text, "--data", "digits"),
        "hostile pickle": ("run", evil, "--data", "digits"),
        "unknown data spec": ("run", model, "--data", "cifar-100"),
        "data of another shape": ("run", model, "--data", "mnist-5k:val"),
        "unknown target": ("run", model, "--target", "tpu", "--data", "digits"),
        "zero limit": ("run", model, "--data", "digits", "--limit", "0"),
        "bad arch": ("train", "--arch", "784-x-10", "-o", tmp_path / "a.pt"),
        "arch/data mismatch": ("train", "--arch", "784-400-10", "--data", "digits", "-o", tmp_path / "b.pt"),
        "missing output dir": ("train", "--arch", "64-10-10", "--data", "digits", "-o", tmp_path / "no/c.pt"),
        "negative ANN epochs": (
            "train",
            "--arch",
            "64-10-10",
            "--data",
            "digits",
            "--val-data",
            "digits",
            "--ann-epochs",
            "-1",
            "-o",
            tmp_path / "d.pt",
        ),
        "unknown option": ("run", model, "--frobnicate"),
    }


def test_bad_input_gives_one_line_and_exit_2(digits_model, tmp_path):
    path, _ = digits_model
    for case, args in _bad_inputs(tmp_path, path).items():
        proc = cli(*args)
        assert proc.returncode == 2, (case, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, (case, proc.stderr)
        assert lines[0].startswith("ttfs-deploy"), (case, lines)
    assert not (tmp_path / "pwned").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.pt", "notes.txt", "truncated.pt"]


@pytest.mark.parametrize("command", [[], ["train"], ["run"]])
def test_help(command):
    proc = cli(*command, "--help")
    assert proc.returncode == 0 and "usage:" in proc.stdout
