"""``demo``: the README's main job (the pipeline itself lives in ttfs_deploy.pipelines.demo)."""

from __future__ import annotations

import argparse

from ttfs_deploy.cli.common import POSITIVE, check_output_folder, limit, print_json
from ttfs_deploy.errors import UsageError


def cmd_demo(args: argparse.Namespace) -> int:
    from ttfs_deploy import data as data_mod
    from ttfs_deploy.compiler.hardware import load_profile
    from ttfs_deploy.models import SHIPPED_DIR
    from ttfs_deploy.pipelines.demo import demo_model
    from ttfs_deploy.pipelines.run_rate import is_rate_model

    models = [m for m in sorted(SHIPPED_DIR.glob("mnist-*.pt")) if not is_rate_model(m)]  # the TTFS models
    if not models:
        raise UsageError(f"no shipped models found in {SHIPPED_DIR}")
    load_profile(args.profile)  # every option and the output folder are checked before anything is made
    out_dir = check_output_folder(args.out)
    val = limit(data_mod.load("mnist-5k:val"), args.limit)
    lava_set = limit(val, min(args.lava_limit, len(val.labels)))
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []

    def log(message: str) -> None:
        if not args.json:
            print(message, flush=True)

    for path in models:
        rows.append(demo_model(path, args.profile, val, lava_set, out_dir, log, not args.json))
    if args.json:
        print_json(rows)
        return 0 if all(r["loihi_sim_equals_golden"] for r in rows) else 1
    print(f"\nshipped TTFS models (784-400-10, T = 256) on {val.name}: {len(val.labels)} held-out real MNIST digits\n")
    print(
        f"{'model':<22}{'float':>8}{'integer':>9}{'ties wrong':>12}{'decision step':>15}{'spikes to decide':>18}"
        f"{'spikes total':>14}"
    )
    for r in rows:
        g = r["golden"]
        print(
            f"{r['model']:<22}{r['float']['accuracy']:>8.1%}{g['accuracy']:>9.1%}{g['accuracy_strict']:>12.1%}"
            f"{g['mean_decision_step']:>15.1f}{g['mean_spikes_until_decision']:>18.1f}{g['mean_spikes_total']:>14.1f}"
        )
    print(
        "\nfloat: PyTorch model; integer: compiled 8-bit network on the golden simulator (the columns after it "
        "are\nfrom that run); decision step: first output spike (of 256); spikes to decide: input + hidden + output "
        "spikes\nup to it; 'ties wrong' counts a tie for the first output spike as an error.\n"
        f"compiled artifacts and profile reports (report.html, report.md, report.json, plots): {out_dir}/"
    )
    return 0 if all(r["loihi_sim_equals_golden"] for r in rows) else 1


def add_parsers(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the top-level parser."""
    from ttfs_deploy.compiler.pipeline import DEFAULT_PROFILE

    p = sub.add_parser(
        "demo",
        help="the README's main command: shipped models through the whole pipeline",
        description="For each shipped model: evaluate in PyTorch, compile for loihi-sim, run the "
        "integer network on the golden simulator and on Lava, check they agree, print.",
    )
    p.add_argument("--profile", default=DEFAULT_PROFILE, help="hardware profile to compile for")
    p.add_argument("--limit", type=POSITIVE, help="only the first N of the 500 validation digits (default: all)")
    p.add_argument("--lava-limit", type=POSITIVE, default=200, help="digits streamed through Lava per model")
    p.add_argument("--out", default="out/demo", help="folder for the compiled artifacts and reports")
    p.add_argument("--json", action="store_true", help="print one JSON list, a row per model")
    p.set_defaults(func=cmd_demo)
