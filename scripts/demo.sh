#!/usr/bin/env bash
# The main job end to end (creates .venv first when it is missing): load a shipped model, evaluate it
# on the held-out MNIST digits, and print what it did.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$ROOT/.venv/bin/ttfs-deploy" demo "$@"
