"""The README's main job: each shipped model through float → compile → golden → Lava → profile → report.

Returns plain rows (dicts) that the CLI prints; every figure comes from the stages, nothing is
recomputed here.
"""

from __future__ import annotations

import pathlib
import time
from collections.abc import Callable

import numpy as np

from ttfs_deploy.compiler.pipeline import deploy
from ttfs_deploy.data import Dataset
from ttfs_deploy.ir import save_ir
from ttfs_deploy.measure.costs import build as build_costs
from ttfs_deploy.measure.report import write_report
from ttfs_deploy.pipelines.run import run_target
from ttfs_deploy.semantics import early_stop_view

__all__ = ["demo_model"]


def demo_model(
    path: pathlib.Path,
    profile: str,
    val: Dataset,
    lava_set: Dataset,
    out_dir: pathlib.Path,
    log: Callable[[str], None],
    progress: bool,
) -> dict:
    """One shipped model through the whole pipeline; returns its row (accuracies, Lava rate, energy, report)."""
    log(f"== {path.name}")
    row = {"model": path.name}
    row["float"] = run_target(str(path), "float", val).result.to_json()
    log(f"  float (PyTorch) on {val.name}: accuracy {row['float']['accuracy']:.2%}")
    compiled = deploy(path, "loihi-sim", profile).compiled  # exactly what `ttfs-deploy compile` builds
    artifact = out_dir / path.with_suffix(".ttfs").name
    save_ir(compiled.ir, artifact)
    row["compiled"] = {
        "artifact": str(artifact),
        "profile": profile,
        "cores": compiled.placement.cores,
        "weight_exponents": compiled.quant.weight_exponents,
    }
    log(
        f"  compiled for loihi-sim under {profile} (clipping chosen on {compiled.quant.n_calibration} training "
        f"digits): {compiled.placement.cores} Loihi cores, {compiled.profile.weight_bits}-bit weights -> {artifact}"
    )
    golden_run = run_target(str(artifact), "golden", val)
    row["golden"] = golden_run.result.to_json()
    log(f"  golden (integer) on {val.name}: accuracy {row['golden']['accuracy']:.2%}")
    start = time.perf_counter()
    lava_run = run_target(str(artifact), "loihi-sim", lava_set, progress=progress)
    seconds = time.perf_counter() - start
    row["loihi_sim"] = lava_run.result.to_json() | {"seconds": seconds}
    golden_view = run_target(str(artifact), "golden", lava_set)
    expected = early_stop_view(golden_view.times, compiled.ir.T)
    row["loihi_sim_equals_golden"] = all(np.array_equal(a, b) for a, b in zip(expected, lava_run.times))
    row["golden_on_lava_set"] = {"accuracy": golden_view.result.accuracy, "n": golden_view.result.n}
    log(
        f"  loihi-sim (Lava CPU simulator, early stop) on the first {len(lava_set.labels)}: accuracy "
        f"{row['loihi_sim']['accuracy']:.2%} (golden on the same {len(lava_set.labels)}: "
        f"{golden_view.result.accuracy:.2%}), {len(lava_set.labels) / seconds:.1f} samples/s, every spike equal "
        f"to golden: {'yes' if row['loihi_sim_equals_golden'] else 'NO'}"
    )
    names = [layer.name for layer in compiled.ir.chain()]
    prof = build_costs(
        lava_run.times,
        names,
        compiled.ir.sizes,
        compiled.ir.T,
        True,
        "loihi-sim",
        compiled.profile,
        compiled.placement.cores,
    ).to_json()
    report_dir = out_dir / f"report-{path.stem}"
    write_report(
        report_dir,
        {
            "model": str(artifact),
            "data": lava_set.name,
            "run": row["loihi_sim"],
            "profile": prof,
            "command": f"ttfs-deploy profile {artifact} --target loihi-sim --data {lava_set.name} "
            f"--limit {len(lava_set.labels)}",
        },
        lava_run.times,
        names,
    )
    row["energy_nj"], row["report"] = prof["energy_total_nj"], str(report_dir / "report.html")
    log(
        f"  profiled the loihi-sim trace: {prof['energy_total_nj']:.0f} nJ per inference under {profile}"
        f"{' (estimate)' if prof['energy_is_estimate'] else ''}; report: {row['report']}"
    )
    return row
