"""TTFS and rate coding against hand-computed values and round-trip properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ttfs_deploy.coding import count_spikes_rate, count_spikes_ttfs, decode_ttfs, encode_ttfs


def test_s4nn_encoding_hand_values():
    # floor((255 - p) * 256 / 255): 255 → 0, 254 → 1, 128 → 127, 1 → 254, 0 → 256 (silent)
    pixels = np.array([255, 254, 128, 1, 0])
    assert encode_ttfs(pixels).tolist() == [0, 1, 127, 254, 256]
    assert encode_ttfs(pixels, zero_policy="last").tolist() == [0, 1, 127, 254, 255]


@given(arrays(np.uint8, st.integers(1, 50)), st.integers(256, 2000), st.sampled_from(["silent", "last"]))
def test_round_trip_is_exact(pixels, T, policy):
    times = encode_ttfs(pixels, T, policy)
    assert times.min() >= 0 and times.max() <= T
    np.testing.assert_array_equal(decode_ttfs(times, T), pixels)


@given(arrays(np.uint8, st.integers(2, 50)))
def test_brighter_pixels_spike_no_later(pixels):
    times = encode_ttfs(pixels)
    order = np.argsort(pixels, kind="stable")
    assert np.all(np.diff(times[order]) <= 0)


def test_spike_counts():
    images = np.array([[0, 0, 10, 255], [255, 255, 255, 255]], dtype=np.uint8)
    assert count_spikes_ttfs(images).tolist() == [2, 4]
    assert count_spikes_ttfs(images, zero_policy="last").tolist() == [4, 4]
    # seed 000's count coding: 255 - p spikes per pixel; inverted: p spikes per pixel
    assert count_spikes_rate(images).tolist() == [255 + 255 + 245 + 0, 0]
    assert count_spikes_rate(images, inverted=True).tolist() == [265, 1020]


@pytest.mark.parametrize("bad", [dict(zero_policy="never"), dict(T=1)])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        encode_ttfs(np.array([1, 2]), **bad)


def test_out_of_range_pixels_rejected():
    with pytest.raises(ValueError, match="0..255"):
        encode_ttfs(np.array([256]))
