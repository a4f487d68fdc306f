"""Profiler counts on a hand-checked tiny trace, energy arithmetic, budgets and report files."""

import json

import numpy as np
import pytest

from ttfs_deploy.compiler.hardware import load_profile
from ttfs_deploy.measure.budget import Budget, BudgetError, budget_from_run, check_budget, load_budget, write_budget
from ttfs_deploy.measure.costs import build, count
from ttfs_deploy.measure.report import PLOTS, write_report
from ttfs_deploy.semantics import classify

from .helpers import MODELS, cli

T = 10
TIMES = [np.array([[0, 2, 10]]), np.array([[3, 10]]), np.array([[4, 5]])]
NAMES = ["input", "fc1", "fc2"]


def test_hand_checked_counts_full_window():
    layers, window = count(TIMES, NAMES, T, early_stop=False)
    assert window == 10
    got = [(l["spikes"], l["synaptic_ops"], l["active_updates"], l["idle_updates"]) for l in layers]
    # input: 2 spikes x fan-out 2; fc1: inputs arrive in 2 distinct steps → 2 x 2 active, 2 x 8 idle;
    # fc2: hidden spikes arrive in 1 step → 2 active, 18 idle; fc2 has no fan-out
    assert got == [(2, 4, 0, 0), (1, 2, 4, 16), (2, 0, 2, 18)]
    assert layers[1]["spikes_per_step"][3] == 1 and sum(layers[2]["spikes_per_step"]) == 2


def test_early_stop_window_is_decision_plus_one():
    layers, window = count(TIMES, NAMES, T, early_stop=True)
    assert window == 5  # decision at step 4
    assert (layers[1]["active_updates"], layers[1]["idle_updates"]) == (4, 6)
    assert (layers[2]["active_updates"], layers[2]["idle_updates"]) == (2, 8)


def test_energy_arithmetic_loihi1():
    prof = build(TIMES, NAMES, [3, 2, 2], T, False, "golden", load_profile("loihi1"), cores=2)
    terms = prof.energy_pj
    assert terms["synaptic_spike_op"]["value"] == pytest.approx(6 * 23.6)
    assert terms["neuron_update_active"]["value"] == pytest.approx(6 * 81)
    assert terms["neuron_update_inactive"]["value"] == pytest.approx(34 * 52)
    assert prof.energy_total_nj == pytest.approx((6 * 23.6 + 6 * 81 + 34 * 52) / 1000)
    assert prof.time_us == pytest.approx((6 * 3.5 + 6 * 8.4 + 34 * 5.3) / 2 / 1000)
    assert prof.ann["macs"] == 3 * 2 + 2 * 2 and prof.ann["energy_fp32_nj"] == pytest.approx(10 * 4.6 / 1000)
    assert "Davies" in terms["synaptic_spike_op"]["source"] and not prof.energy_is_estimate
    assert build(TIMES, NAMES, [3, 2, 2], T, False, "golden", load_profile("loihi2"), 2).energy_is_estimate


@pytest.mark.parametrize(
    "text, message",
    [
        ("budget: {max_spikes_per_inference: -1}", "negative"),
        ("budget: {max_spikes: 3}", "unknown key"),
        ("budget: {min_accuracy: 95}", "fraction"),
        ("budget: {max_energy_nj: lots}", "number"),
        ("limits: {max_energy_nj: 3}", "top-level"),
        ("budget: {layers: {fc1: {max_sparks: 3}}}", "unknown limit"),
        ("budget: {}", "no limits"),
        ("budget: [", "YAML"),
    ],
)
def test_malformed_budgets(tmp_path, text, message):
    path = tmp_path / "budget.yaml"
    path.write_text(text)
    with pytest.raises(BudgetError, match=message):
        load_budget(path)


def test_budget_checks():
    budget = Budget(
        {"max_spikes_per_inference": 5, "min_accuracy": 0.9, "max_energy_nj": 1.0}, {"fc1": {"max_spikes": 0.5}}
    )
    # by hand: decision at step 4 (fc2 neuron 0, label 1 → wrong); 2 + 1 + 2 = 5 spikes in all
    run = classify(TIMES, np.array([1]), T, "golden")
    assert (run.mean_spikes_total, run.mean_spikes_until_decision, run.accuracy) == (5, 4, 0.0)
    costs = build(TIMES, NAMES, [3, 2, 2], T, False, "golden", load_profile("loihi1"), 2)
    checks = {c.name: c.passed for c in check_budget(budget, run, costs)}
    assert checks == {
        "max_spikes_per_inference": True,
        "min_accuracy": False,
        "max_energy_nj": False,
        "fc1.max_spikes": False,
    }
    with pytest.raises(BudgetError, match="budget names layer 'fc9', the network has input, fc1, fc2"):
        check_budget(Budget({}, {"fc9": {"max_spikes": 1}}), run, costs)


def test_budget_from_a_run_is_met_by_that_run_and_reads_back(tmp_path):
    run = classify(TIMES, np.array([0]), T, "golden")
    costs = build(TIMES, NAMES, [3, 2, 2], T, False, "golden", load_profile("loihi1"), 2)
    budget = budget_from_run(run, costs, 0.1)
    assert budget.limits["max_spikes_per_inference"] == 5.5 and budget.limits["min_accuracy"] == 0.9
    assert budget.layers == {"fc1": {"max_spikes": 1.1}, "fc2": {"max_spikes": 2.2}}
    assert all(c.passed for c in check_budget(budget, run, costs))
    write_budget(tmp_path / "b.yaml", budget, ["measured here"])
    assert load_budget(tmp_path / "b.yaml") == budget


def test_report_files(tmp_path):
    prof = build(TIMES, NAMES, [3, 2, 2], T, False, "golden", load_profile("loihi1"), 2).to_json()
    run = {
        "accuracy": 1.0,
        "accuracy_strict": 1.0,
        "mean_decision_step": 4,
        "mean_spikes_until_decision": 4,
        "mean_spikes_total": 5,
        "samples": [{"label": 0, "prediction": 0, "decision_step": 4}],
    }
    paths = write_report(
        tmp_path, {"model": "m", "data": "d", "command": "c", "run": run, "profile": prof}, TIMES, NAMES
    )
    assert json.loads((tmp_path / "report.json").read_text())["profile"]["n"] == 1
    assert "| fc1 | 2 |" in (tmp_path / "report.md").read_text()
    page = (tmp_path / "report.html").read_text()
    assert page.count("<img") == len(PLOTS) and "<table>" in page
    import matplotlib.image

    for name in PLOTS:
        image = matplotlib.image.imread(tmp_path / name)
        assert image.shape[0] >= 300 and image.shape[1] >= 700 and image.std() > 0  # drawn, not blank
    assert len(paths) == 3 + len(PLOTS)


def test_budget_check_exit_codes(tmp_path):
    ok, tight, bad = tmp_path / "ok.yaml", tmp_path / "tight.yaml", tmp_path / "bad.yaml"
    ok.write_text("budget: {max_spikes_per_inference: 400, min_accuracy: 0.8, max_decision_steps: 200}\n")
    tight.write_text("budget: {max_spikes_per_inference: 10}\n")
    bad.write_text("budget: {max_spikes_per_inference: -3}\n")
    common = (MODELS / "mnist-s4nn.pt", "--data", "mnist-5k:val", "--limit", "100")
    assert cli("budget", "check", ok, *common).returncode == 0
    failed = cli("budget", "check", tight, *common)
    assert failed.returncode == 1 and "FAIL" in failed.stdout
    proc = cli("budget", "check", bad, *common)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.requires_lava
def test_golden_and_loihi_sim_profiles_count_the_same(tmp_path):
    reports = {}
    for target in ("golden", "loihi-sim"):
        proc = cli("profile", MODELS / "mnist-s4nn.pt", "--target", target, "--limit", "20", "--early-stop", "--json")
        assert proc.returncode == 0, proc.stderr
        reports[target] = json.loads(proc.stdout)["profile"]
    g, lv = reports["golden"], reports["loihi-sim"]
    assert g["early_stop"] and lv["early_stop"]
    assert g["layers"] == lv["layers"] and g["energy_pj"] == lv["energy_pj"]  # identical counts


def test_budget_with_an_unknown_layer_is_refused_before_the_run(tmp_path, monkeypatch, capsys):
    """The deployed network's layer names are checked before anything runs: no simulation happens."""
    from ttfs_deploy.pipelines import run as run_mod

    budget = tmp_path / "b.yaml"
    budget.write_text("budget:\n  max_spikes_per_inference: 10\n  layers:\n    fc9: {max_spikes: 1}\n")
    calls = []
    monkeypatch.setattr(
        run_mod, "simulate_readout", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(AssertionError)
    )
    from ttfs_deploy.cli import main

    code = main(["budget", "check", str(budget), "mnist-s4nn", "--target", "golden", "--limit", "5"])
    assert code == 2 and calls == []
    assert "budget names layer 'fc9', the network has input, fc1, fc2" in capsys.readouterr().err
