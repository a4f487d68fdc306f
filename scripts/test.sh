#!/usr/bin/env bash
# Run the test suite (creates .venv first when it is missing). Extra arguments go to pytest.
# Only our own test paths are collected: Lava's wheels install a stray top-level `tests` package.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pytest "$ROOT/tests" "$@"
