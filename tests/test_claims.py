"""The claims report: input-coding counts against hand computation; measured model rows."""

import json

import numpy as np

from ttfs_deploy.data import Dataset
from ttfs_deploy.pipelines.claims import PAPER, input_coding

from .helpers import cli


def test_input_coding_counts_by_hand():
    images = np.array([[0, 255, 100, 0], [10, 20, 30, 40]], dtype=np.uint8)
    data = Dataset(images, np.array([0, 1]), (2, 2), "tiny", 2)
    c = input_coding(data)
    assert c["rate_count"] == ((255 + 0 + 155 + 255) + (245 + 235 + 225 + 215)) / 2
    assert c["rate_inverted"] == (355 + 100) / 2
    assert c["ttfs"] == 4 and c["ttfs_silent_zeros"] == (2 + 4) / 2


def test_claims_command(tmp_path):
    proc = cli("claims", "--limit", "100", "--json", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["paper"] == PAPER and report["n"] == 100
    assert 100_000 < report["input_spikes_per_image"]["rate_count"] < 250_000
    assert report["input_spikes_per_image"]["ttfs"] == 784
    names = {m["model"] for m in report["models"]}
    assert names == {"mnist-s4nn.pt", "mnist-aggressive.pt"}
    for m in report["models"]:
        assert 0 < m["fraction_of_neurons_fired_until_decision"] < 1 and len(m["per_digit"]) == 10
        assert m["energy"]["loihi2"]["estimate"] and not m["energy"]["loihi1"]["estimate"]
    assert "paper (60k MNIST)" in (tmp_path / "claims.md").read_text()
    # issue 12: the whole-network table holds the TTFS and the rate-coded classifier, the AE table the spiking AE
    rows = {r["model"]: r for r in report["whole_network"]}
    assert set(rows) == {"mnist-s4nn.pt", "mnist-aggressive.pt", "mnist-rate.pt", "mnist-rate-t8.pt"}
    assert rows["mnist-rate.pt"]["coding"] == "rate (LIF)" and len(rows["mnist-rate.pt"]["causal_by_lead"]) == 6
    assert [a["model"] for a in report["autoencoders"]] == ["ae-mnist-rate.pt"]
    assert (tmp_path / "spikes_per_step.png").stat().st_size > 0
