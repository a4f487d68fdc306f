#!/usr/bin/env bash
# Lint, then run the test suite (creates .venv first when it is missing), then the example hardware-in-the-loop
# suite against Lava's Loihi simulator. Extra arguments go to both pytest runs.
# Only our own test paths are collected: Lava's wheels install a stray top-level `tests` package.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# Lint, format and the allowed imports between stages (pyproject.toml [tool.importlinter]) first: cheap, and
# a broken stage boundary should fail before the long tests run.
"$ROOT/.venv/bin/ruff" check --quiet .
"$ROOT/.venv/bin/ruff" format --check --quiet .
"$ROOT/.venv/bin/lint-imports" --no-cache >/dev/null || "$ROOT/.venv/bin/lint-imports" --no-cache
"$ROOT/.venv/bin/python" -m pytest "$ROOT/tests" "$@"
# The shipped example users copy: trace equality, accuracy and spike budget of the MNIST model on loihi-sim.
exec "$ROOT/.venv/bin/python" -m pytest "$ROOT/examples/hil" --ttfs-target loihi-sim "$@"
