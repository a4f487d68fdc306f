"""The package as users install it: a built wheel, installed into a fresh folder, run from elsewhere.

The hardware profiles and the shipped models must come from inside the package (no path back into
the repository), so ``targets`` lists both profiles and ``compile`` finds the shipped model by name.
"""

import json
import os
import subprocess
import sys
import zipfile

import pytest

from .helpers import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    wheels = tmp_path_factory.mktemp("wheels")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("ttfs_deploy-*.whl")
    target = tmp_path_factory.mktemp("site")
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr
    return wheel, target


def _run(target, cwd, *args):
    # the dependencies come from this environment; ttfs_deploy itself only from the installed wheel
    env = dict(os.environ, PYTHONPATH=str(target))
    return subprocess.run(
        [sys.executable, "-m", "ttfs_deploy", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300
    )


@pytest.mark.slow
def test_wheel_holds_profiles_and_models(installed):
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "ttfs_deploy/compiler/hardware_profiles/loihi1.yaml" in names
    assert "ttfs_deploy/compiler/hardware_profiles/loihi2.yaml" in names
    assert "ttfs_deploy/models/mnist-s4nn.pt" in names and "ttfs_deploy/models/mnist-s4nn.md" in names
    assert not [n for n in names if n.startswith("tests/")]


@pytest.mark.slow
def test_installed_wheel_runs_from_any_directory(installed, tmp_path):
    _, target = installed
    where = subprocess.run(
        [sys.executable, "-c", "import ttfs_deploy; print(ttfs_deploy.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(target)),
    )
    assert where.stdout.startswith(str(target)), where.stdout  # not the repository's editable copy

    listed = _run(target, tmp_path, "targets", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {p["name"] for p in json.loads(listed.stdout)["profiles"]} == {"loihi1", "loihi2"}

    out = tmp_path / "s4nn.ttfs"
    compiled = _run(
        target, tmp_path, "compile", "mnist-s4nn", "--target", "golden", "--calibration-limit", "100",
        "--limit", "50", "-o", str(out), "--json",
    )  # fmt: skip
    assert compiled.returncode == 0, compiled.stderr
    assert out.is_file() and json.loads(compiled.stdout)["profile"] == "loihi2"

    ran = _run(target, tmp_path, "run", str(out), "--target", "golden", "--limit", "50", "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["n"] == 50
