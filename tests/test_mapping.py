"""Mapper and named design-rule checks against hand-computed core counts."""

import dataclasses

import numpy as np
import pytest

from ttfs_deploy.compiler.hardware import Figure, load_profile
from ttfs_deploy.compiler.mapping import MappingError, check, map_network, rule_fan_in, rule_weight_range
from ttfs_deploy.ir import from_checkpoint_weights


def _ir(sizes):
    weights = [np.ones((o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    return from_checkpoint_weights(weights, [100.0] * (len(sizes) - 1), 256, "silent", (sizes[0], 1))


def test_mnist_on_loihi1_core_counts():
    placement = check(_ir([784, 400, 10]), load_profile("loihi1"))
    # fc1: 400 * 784 * 8 bits = 2,508,800 bits over 1,048,576 bits per core → 3 cores; fc2: 1 core
    assert [p.cores for p in placement.layers] == [3, 1] and placement.cores == 4
    assert "fan_in_per_neuron" in placement.unchecked


def test_too_many_neurons_names_the_limit():
    profile = load_profile("loihi1")
    small = dataclasses.replace(profile, limits={**profile.limits, "cores": Figure(4, "test")})
    with pytest.raises(MappingError, match=r"needs 6 cores, loihi1 has 4 \(2 too many\)"):
        check(_ir([10, 5000, 10]), small)  # 5000 neurons / 1024 per core → 5 cores, + 1 for fc2


def test_fan_in_rule():
    profile = load_profile("loihi1")
    limited = dataclasses.replace(profile, limits={**profile.limits, "fan_in_per_neuron": Figure(500, "test")})
    ir = _ir([784, 20, 10])
    problems = rule_fan_in(ir, limited, map_network(ir, limited))
    assert problems == ["layer fc1: fan-in 784 exceeds loihi1's 500 by 284"]


def test_weight_range_rule_only_for_quantized():
    profile = load_profile("loihi1")
    ir = _ir([4, 3])
    assert rule_weight_range(ir, profile, map_network(ir, profile)) == []
