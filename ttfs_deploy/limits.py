"""Hard upper bounds on what any input may claim, checked before anything is allocated or run.

Every loader (checkpoint, artifact, IDX, trace, YAML) and every command-line option holds input to
these numbers, so a file that claims an absurd size is refused with one line instead of exhausting
memory or time. docs/bad-input.md lists them.
"""

from __future__ import annotations

__all__ = [
    "MAX_T",
    "MAX_LAYER_SIZE",
    "MAX_LAYERS",
    "MAX_WEIGHTS",
    "MAX_THRESHOLD",
    "MAX_CHECKPOINT_BYTES",
    "MAX_ARRAY_BYTES",
    "MAX_ARCHIVE_BYTES",
    "MAX_IDX_VALUES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_SEED",
    "DEFAULT_TIMEOUT_CAP_S",
    "MAX_TIMEOUT_S",
]

MAX_T = 2**16  # time steps per sample (T); the shipped models use 256
MAX_LAYER_SIZE = 100_000  # neurons (or inputs) per layer
MAX_LAYERS = 64  # layers per network, input included
MAX_WEIGHTS = 2**28  # weights in a whole network (1 GiB as float32)
MAX_THRESHOLD = 1e12  # firing thresholds are finite, non-negative and at most this
MAX_CHECKPOINT_BYTES = 2**30  # a checkpoint file (the shipped ones are 1.3 MB)
MAX_ARRAY_BYTES = 2**28  # one array in a .ttfs artifact or trace .npz, as its header declares it
MAX_ARCHIVE_BYTES = 2**30  # all arrays of one .ttfs / .npz together, as declared
MAX_IDX_VALUES = 2**28  # values in one IDX file (340k 28x28 images)
MAX_YAML_BYTES = 2**20  # a hardware profile or budget file
MAX_YAML_DEPTH = 32  # nesting of lists/mappings in a YAML file
MAX_SEED = 2**32 - 1  # --seed is 0..MAX_SEED
DEFAULT_TIMEOUT_CAP_S = 3600.0  # a loihi-sim run's default deadline never exceeds this (--timeout overrides)
MAX_TIMEOUT_S = 7 * 24 * 3600.0  # the largest --timeout accepted
