"""Same seed, same bits: on any x86-64 CPU, on any number of cores.

PyTorch picks its elementwise and reduction kernels (ATen) by the CPU's vector extensions (plain,
AVX2, AVX-512), and MKL picks its matrix-product kernels the same way. Different kernels sum in
different orders, and training amplifies last-bit differences into a different model: the S4NN
model card's command once ended at 95.6 % on the machine that ran it and at 94.2 % on an AVX2-only
AMD EPYC. Two switches make the float results independent of the CPU: ATen's portable kernels
(``ATEN_CPU_CAPABILITY=default``) and MKL's conditional numerical reproducibility
(``MKL_CBWR=COMPATIBLE``). Both are read once, at the first tensor operation that needs them, so
:func:`pin_cpu_kernels` must run before any; the CLI calls it first thing. Our own compiled loops
(:mod:`ttfs_deploy.semantics.kernels`) add in a fixed order without fused multiply-adds and need nothing.
The cost: a training run takes about 18 % longer (docs/training.md, "Reproducibility").

MKL may also split a product over fewer threads than asked when the machine is busy, which changes
the order of its sums; :func:`one_thread` keeps training on one thread for that reason.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

__all__ = ["PINNED", "PINNED_KERNELS", "pin_cpu_kernels", "cpu_kernels", "one_thread"]

PINNED = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}  # environment variables we set
PINNED_KERNELS = {"aten": "DEFAULT", "mkl_cbwr": "COMPATIBLE"}  # what cpu_kernels() reports then


def pin_cpu_kernels() -> dict[str, str]:
    """Ask PyTorch and MKL for their CPU-independent kernels; returns :func:`cpu_kernels`.

    A value the user has set already is kept (the returned record shows it). Has no effect once a
    tensor operation has run in this process, which the record shows too (ATen not ``DEFAULT``).
    """
    for name, value in PINNED.items():
        os.environ.setdefault(name, value)
    return cpu_kernels()


def cpu_kernels() -> dict[str, str]:
    """Which kernels this process computes with: ATen's capability and MKL's reproducibility mode.

    Training records this in the checkpoint; :data:`PINNED_KERNELS` is the CPU-independent setting.
    """
    import torch

    return {"aten": torch.backends.cpu.get_cpu_capability(), "mkl_cbwr": os.environ.get("MKL_CBWR", "")}


@contextmanager
def one_thread():
    """Run torch on one thread inside the block (see the module docstring); these networks are small."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
