"""Hardware profiles: shipped ones load with sourced figures; malformed ones give one clear error."""

import pytest

from ttfs_deploy.compiler.hardware import ProfileError, available_profiles, load_profile


def test_shipped_profiles_load_and_cite_sources():
    assert {"loihi1", "loihi2"} <= set(available_profiles())
    p1 = load_profile("loihi1")
    assert (p1.weight_bits, p1.membrane_bits, p1.stage_delay_steps) == (8, 24, 1)
    assert p1.limit("cores") == 128 and p1.limit("neurons_per_core") == 1024
    assert p1.energy_pj["synaptic_spike_op"].value == 23.6 and "Davies" in p1.energy_pj["synaptic_spike_op"].source
    assert not p1.energy_is_estimate
    p2 = load_profile("loihi2")
    assert p2.energy_is_estimate and "ESTIMATE" in p2.energy_pj["synaptic_spike_op"].source
    assert p2.limit("fan_out_per_core") is None  # unknown stays unknown
    for profile in (p1, p2):
        for figure in [*profile.limits.values(), *profile.energy_pj.values(), *profile.time_ns.values()]:
            assert figure.source and figure.source != "unknown" or figure.value is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("[1, 2", "not valid YAML"),
        ("- a\n- b\n", "mapping"),
        ("bit_widths: {weight: {value: 8}, weight_exponent: {min: 0, max: 1}}\n", "missing"),
        (
            "bit_widths: {weight: {value: -8}, membrane: {value: 24}, threshold: {value: 20}, "
            "weight_exponent: {min: 0, max: 1}}\ntiming: {stage_delay_steps: {value: 1}}\n",
            "out of range 2..16",
        ),
        (
            "bit_widths: {weight: {value: 8}, membrane: {value: 24}, threshold: {value: 20}, "
            "weight_exponent: {min: 3, max: 1}}\n",
            "weight_exponent",
        ),
    ],
)
def test_malformed_profiles(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message) as info:
        load_profile(str(path))
    assert "\n" not in str(info.value)


def test_unknown_profile_lists_the_available_ones():
    with pytest.raises(ProfileError, match="loihi1"):
        load_profile("truenorth")
