"""The shipped models (package data): trained checkpoints and their model cards.

A model argument that is not an existing file but the name of one of these (``mnist-s4nn``) is
resolved here, so the shipped models work from any directory after ``pip install``.
"""

from __future__ import annotations

import pathlib

__all__ = ["SHIPPED_DIR", "shipped_models", "resolve_model"]

SHIPPED_DIR = pathlib.Path(__file__).resolve().parent


def shipped_models() -> list[str]:
    """Names of the shipped checkpoints (``mnist-s4nn``, ...)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.pt"))


def resolve_model(path_or_name: str | pathlib.Path) -> pathlib.Path:
    """``path_or_name`` as a path; a bare shipped-model name that is not a file becomes its checkpoint."""
    path = pathlib.Path(path_or_name)
    if not path.exists() and path.suffix == "" and str(path) in shipped_models():
        return SHIPPED_DIR / f"{path}.pt"
    return path
