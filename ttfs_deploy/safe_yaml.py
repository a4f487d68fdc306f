"""The one YAML reader for user files (hardware profiles, spike budgets): strict and bounded.

On top of ``yaml.SafeLoader`` (no Python objects, no code): aliases and anchors are refused (no
billion-laughs expansion, no self-reference), duplicate keys are refused, mapping keys must be
strings, nesting is capped at :data:`~ttfs_deploy.limits.MAX_YAML_DEPTH` (no RecursionError), NaN
and infinity are refused wherever they appear, and the file must be a regular file of at most
:data:`~ttfs_deploy.limits.MAX_YAML_BYTES`. Every problem raises the caller's error class with one line.
"""

from __future__ import annotations

import math
import os

import yaml

from ttfs_deploy.errors import TtfsError, short
from ttfs_deploy.fileio import read_regular
from ttfs_deploy.limits import MAX_YAML_BYTES, MAX_YAML_DEPTH

__all__ = ["load_yaml", "number", "integer"]


class _Refused(yaml.YAMLError):
    """A construct this reader does not accept (the message says which)."""


class _StrictLoader(yaml.SafeLoader):
    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise _Refused(f"aliases (*{self.peek_event().anchor}) are not accepted")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise _Refused(f"anchors (&{event.anchor}) are not accepted")
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _Refused(f"nested more than {MAX_YAML_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise _Refused(f"mapping keys must be strings, got {short(key)} (line {key_node.start_mark.line + 1})")
            if key in seen:
                raise _Refused(f"duplicate key {short(key)} (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise _Refused(f"{node.value} is not a finite number (line {node.start_mark.line + 1})")
        return value


_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)


def load_yaml(path: str | os.PathLike, error: type[TtfsError], what: str = "YAML file"):
    """Parse ``path`` strictly (see the module docstring); raise ``error`` with one line on anything wrong."""
    raw = read_regular(path, MAX_YAML_BYTES, error, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: {what} is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except _Refused as exc:
        raise error(f"{path}: {what} refused: {short(str(exc))[1:-1]}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise error(f"{path}: not valid YAML{where} ({short(str(problem))[1:-1]})") from None
    except RecursionError:
        raise error(f"{path}: {what} is nested too deeply") from None


def number(value, where: str, error: type[TtfsError], low: float = 0.0, high: float = 1e18) -> float:
    """``value`` as a float if it is a real number (not a bool, not a string) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{where}: expected a number, got {short(value)}")
    if isinstance(value, int) and abs(value) > 2**63:
        raise error(f"{where}: {short(value)} is out of range {low:g}..{high:g}")
    if low == 0 and value < 0:
        raise error(f"{where}: must not be negative, got {short(value)}")
    if not math.isfinite(value) or not low <= value <= high:
        raise error(f"{where}: {short(value)} is out of range {low:g}..{high:g}")
    return float(value)


def integer(value, where: str, error: type[TtfsError], low: int, high: int) -> int:
    """``value`` if it is an integer (not a bool, not a float) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{where}: expected an integer, got {short(value)}")
    if not low <= value <= high:
        raise error(f"{where}: {short(value)} is out of range {low}..{high}")
    return value
