"""Checkpoint round trip and every malformed-file case (one clear CheckpointError, no code run)."""

import pickle
import zipfile

import pytest
import torch

from ttfs_deploy.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from ttfs_deploy.train.model import TTFSClassifier

from .helpers import MODELS, cli


def _model():
    model = TTFSClassifier([6, 4, 3], thresholds=[10.0, 20.0], T=32, norm="l1")
    model.init_weights(torch.Generator().manual_seed(0))
    return model


def test_round_trip(tmp_path):
    model, path = _model(), tmp_path / "m.pt"
    save_checkpoint(path, model, "last", (2, 3), {"val_accuracy": 0.5}, {"seed": 1})
    ckpt = load_checkpoint(path)
    for a, b in zip(model.weights, ckpt.model.weights):
        assert torch.equal(a, b)
    assert ckpt.model.thresholds == [10.0, 20.0] and ckpt.model.norm == "l1" and ckpt.T == 32
    assert ckpt.zero_policy == "last" and ckpt.image_shape == (2, 3)
    assert ckpt.metrics == {"val_accuracy": 0.5} and ckpt.train == {"seed": 1}
    # a plain dict of tensors: loads with weights_only=True
    assert torch.load(path, weights_only=True)["format"] == "ttfs-deploy/checkpoint"
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


class _Payload:
    def __reduce__(self):
        return (open, ("/tmp/ttfs-deploy-pwned", "w"))


def _write_bad(tmp_path, kind):
    path = tmp_path / f"{kind}.pt"
    good = tmp_path / "good.pt"
    save_checkpoint(good, _model(), "silent", (2, 3), {}, {})
    if kind == "truncated":
        path.write_bytes(good.read_bytes()[:200])
    elif kind == "text":
        path.write_text("hello")
    elif kind == "hostile":
        torch.save({"format": "ttfs-deploy/checkpoint", "x": _Payload()}, path)
    elif kind == "raw-pickle":
        path.write_bytes(pickle.dumps(_Payload()))
    elif kind == "tensor":
        torch.save(torch.zeros(3), path)
    elif kind == "wrong-shape":
        data = torch.load(good, weights_only=True)
        data["state_dict"]["weights.0"] = torch.zeros(5, 5)
        torch.save(data, path)
    elif kind == "nan":
        data = torch.load(good, weights_only=True)
        data["state_dict"]["weights.1"][0, 0] = float("nan")
        torch.save(data, path)
    elif kind == "version":
        data = torch.load(good, weights_only=True)
        data["version"] = 99
        torch.save(data, path)
    elif kind == "empty-zip":
        with zipfile.ZipFile(path, "w"):
            pass
    return path


@pytest.mark.parametrize(
    "kind", ["truncated", "text", "hostile", "raw-pickle", "tensor", "wrong-shape", "nan", "version", "empty-zip"]
)
def test_bad_files_give_one_line_error(tmp_path, kind):
    path = _write_bad(tmp_path, kind)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert not (tmp_path.parent / "ttfs-deploy-pwned").exists()


def test_hostile_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (marker.write_text, ("x",))

    path = tmp_path / "evil.pt"
    torch.save({"format": "ttfs-deploy/checkpoint", "evil": Payload()}, path)
    with pytest.raises(CheckpointError, match="not plain data"):
        load_checkpoint(path)
    assert not marker.exists()


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_checkpoint(tmp_path / "nope.pt")


def test_a_corrupted_header_is_one_line_without_torch_warnings(tmp_path):
    """A byte flip turning the zip magic 'PK' into a pickle protocol byte makes torch warn before it fails;
    the user still sees exactly one line (a subprocess: pytest would swallow the warning in-process)."""
    data = bytearray((MODELS / "mnist-s4nn.pt").read_bytes())
    data[0] = 0x80  # 'PK' -> '\x80K': "pickle protocol 75"
    bad = tmp_path / "flipped.pt"
    bad.write_bytes(bytes(data))
    proc = cli("run", bad, "--target", "float", "--limit", "2")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_a_plain_state_dict_points_to_convert(tmp_path):
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 20), torch.nn.ReLU(), torch.nn.Linear(20, 10))
    torch.save(mlp.state_dict(), tmp_path / "mlp.pt")
    with pytest.raises(CheckpointError, match="plain PyTorch state_dict.*ttfs-deploy convert"):
        load_checkpoint(tmp_path / "mlp.pt")
