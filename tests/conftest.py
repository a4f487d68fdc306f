"""Shared fixtures and the ``requires_lava`` marker (helpers to import live in tests/helpers.py).

``@pytest.mark.requires_lava``: the test needs lava-nc; it is skipped, with the reason, where Lava is
not installed, instead of failing.
"""

import importlib.util

import pytest

LAVA_REASON = "lava-nc is not installed (scripts/bootstrap.sh installs and patches it)"


def pytest_runtest_setup(item):
    if item.get_closest_marker("requires_lava") and importlib.util.find_spec("lava") is None:
        pytest.skip(LAVA_REASON)
