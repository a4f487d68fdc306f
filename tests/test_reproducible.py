"""pin_cpu_kernels: PyTorch and MKL switched to their CPU-independent kernels, in a fresh process."""

import json
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def fresh_process(code: str, **env: str) -> dict:
    """Run ``code`` (which prints JSON) in a new interpreter without our variables unless given."""
    base = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=base | {"PYTHONPATH": str(REPO)} | env,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


PIN = "import json; from ttfs_deploy.reproducible import pin_cpu_kernels; print(json.dumps(pin_cpu_kernels()))"


def test_pin_selects_the_portable_kernels():
    assert fresh_process(PIN) == {"aten": "DEFAULT", "mkl_cbwr": "COMPATIBLE"}


def test_pin_keeps_what_the_user_set():
    assert fresh_process(PIN, MKL_CBWR="AUTO")["mkl_cbwr"] == "AUTO"


def test_pin_after_a_tensor_operation_is_reported_not_hidden():
    # ATen reads its setting at the first operation; pinning later must not claim success. On a CPU
    # without vector extensions the capability is DEFAULT either way, which is then the truth.
    late = fresh_process("import json, torch; torch.ones(3).sum(); " + PIN.split("; ", 1)[1])
    native = fresh_process("import json, torch; print(json.dumps(torch.backends.cpu.get_cpu_capability()))")
    assert late["aten"] == native
