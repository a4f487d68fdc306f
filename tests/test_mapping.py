"""Mapper and named design-rule checks against hand-computed core counts."""

import dataclasses

import numpy as np
import pytest

from ttfs_deploy.compiler.hardware import Figure, load_profile
from ttfs_deploy.compiler.mapping import MappingError, check, map_network, rule_fan_in, rule_weight_range
from ttfs_deploy.ir import from_checkpoint_weights

from .helpers import chain_net, quant


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


# Target rules: what the Lava graph can hold, checked by `compile --target` before anything is written.


def test_layer_count_rule_is_keyed_by_target():
    from ttfs_deploy.compiler.mapping import check_target, rule_layer_count
    from ttfs_deploy.targets import LAVA_MAX_LAYERS, TARGETS

    deep = _ir([6] + [5] * (LAVA_MAX_LAYERS + 1))
    assert rule_layer_count(deep, TARGETS["loihi-sim"].limits) == [
        f"{LAVA_MAX_LAYERS + 1} fire-once layers, the Lava graph records at most {LAVA_MAX_LAYERS}"
    ]
    assert rule_layer_count(deep, TARGETS["golden"].limits) == []
    check_target(deep, "golden")  # golden has no such limit
    with pytest.raises(MappingError, match="network cannot run on loihi-hw: 5 fire-once layers"):
        check_target(deep, "loihi-hw")


def test_accumulator_rule_against_hand_computed_reach():
    from ttfs_deploy.compiler.mapping import rule_accumulator
    from ttfs_deploy.targets import TargetLimits

    ir = chain_net([np.full((2, 200), 100, dtype=np.int32)], [50], 16, quant(exponents=[16]))
    # largest row sum 20,000 << 16 = 1,310,720,000; Lava doubles it: 2,621,440,000 >= 2**31 overflows a
    # 32-bit signed accumulator and fits a 33-bit one (< 2**32)
    assert rule_accumulator(ir, TargetLimits(accumulator_bits=33)) == []
    assert rule_accumulator(ir, TargetLimits(accumulator_bits=32)) == [
        "layer fc1: synaptic input up to 1310720000 overflows the 32-bit accumulator"
    ]


def test_compile_refuses_a_network_the_target_cannot_run(tmp_path):
    import torch

    from ttfs_deploy.cli import main
    from ttfs_deploy.targets import LAVA_MAX_LAYERS
    from ttfs_deploy.train.checkpoint import save_checkpoint
    from ttfs_deploy.train.model import TTFSClassifier

    sizes = [64] + [8] * LAVA_MAX_LAYERS + [10]
    torch.manual_seed(0)
    model = TTFSClassifier(sizes, [10.0] * (len(sizes) - 1), 64)
    path = tmp_path / "deep.pt"
    save_checkpoint(path, model, "silent", (8, 8), {}, {})
    args = ["compile", str(path), "--calibration", "none", "--data", "none", "-o"]
    assert main([*args, str(tmp_path / "g.ttfs"), "--target", "golden"]) == 0
    assert main([*args, str(tmp_path / "s.ttfs"), "--target", "loihi-sim"]) == 2
    assert not (tmp_path / "s.ttfs").exists()
