"""Make the installed lava-nc 0.10.0 / lava-dl 0.6.0 import on Python 3.11.

Two source edits, both idempotent:

1. ``lava/magma/compiler/var_model.py`` gives a dataclass field a mutable default instance
   (``ByteEncoder()``), which Python 3.11 rejects at import; use ``field(default_factory=...)``.
2. ``lava/lib/dl/slayer/__init__.py`` imports ``object_detection``, which needs torchvision (not
   installed here); make that import optional.
"""

import importlib.util
import pathlib
import re
import sys


def _lava_root() -> pathlib.Path:
    # find_spec without importing: importing lava is exactly what fails before the patch
    spec = importlib.util.find_spec("lava")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("patch_lava: lava is not installed in this environment")
    return pathlib.Path(list(spec.submodule_search_locations)[0])


def _rewrite(path: pathlib.Path, new_text: str) -> None:
    if new_text != path.read_text():
        path.write_text(new_text)
        print(f"patch_lava: patched {path}", file=sys.stderr)


def patch_var_model(root: pathlib.Path) -> None:
    path = root / "magma" / "compiler" / "var_model.py"
    text = path.read_text()
    text = re.sub(
        r"(\w+): ByteEncoder = ByteEncoder\(\)", r"\1: ByteEncoder = field(default_factory=ByteEncoder)", text
    )
    if "from dataclasses import dataclass, field" not in text:
        text = text.replace("from dataclasses import dataclass", "from dataclasses import dataclass, field", 1)
    _rewrite(path, text)


def patch_slayer_init(root: pathlib.Path) -> None:
    path = root / "lib" / "dl" / "slayer" / "__init__.py"
    text = path.read_text()
    old = "from . import object_detection as obd\n"
    optional = (
        "try:  # needs torchvision, which is optional here\n"
        "    from . import object_detection as obd\n"
        "except ImportError:\n"
        "    obd = None\n"
    )
    if old in text and optional not in text:
        _rewrite(path, text.replace(old, optional, 1))


if __name__ == "__main__":
    lava_root = _lava_root()
    patch_var_model(lava_root)
    patch_slayer_init(lava_root)
