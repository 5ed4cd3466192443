"""The locks hold what pyproject.toml asks for, agree with each other, and are what is installed.

scripts/install.sh installs requirements.lock (the server) or requirements-dev.lock (--test) and
scripts/lock.sh writes both. A package that the tests ran with at another version than the dev
lock's, a runtime lock out of step with the dev lock, or a dependency added to pyproject.toml
without running scripts/lock.sh fails here, naming the package and both versions.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"

# `name==version \` opens an entry; its `--hash=...` lines follow.
PIN_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")


@dataclass(frozen=True)
class LockedPackage:
    version: str
    hash_count: int


def read_lock(path: Path) -> dict[str, LockedPackage]:
    """The packages of a pip-compile lock by canonical name."""
    locked: dict[str, LockedPackage] = {}
    name = ""
    for line in path.read_text().splitlines():
        pin = PIN_LINE.match(line)
        if pin:
            name = canonicalize_name(pin.group(1))
            locked[name] = LockedPackage(version=pin.group(2), hash_count=0)
        elif name and line.strip().startswith("--hash="):
            locked[name] = LockedPackage(locked[name].version, locked[name].hash_count + 1)
    return locked


def pyproject_requirements() -> dict[str, list[Requirement]]:
    """pyproject.toml's direct requirements that apply here: runtime, dev extra, build backend."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    groups = {
        "runtime": pyproject["project"]["dependencies"],
        "dev": pyproject["project"]["optional-dependencies"]["dev"],
        "build": pyproject["build-system"]["requires"],
    }
    return {
        group: [
            requirement
            for requirement in map(Requirement, specs)
            if requirement.marker is None or requirement.marker.evaluate()
        ]
        for group, specs in groups.items()
    }


@pytest.fixture(scope="module")
def runtime_lock() -> dict[str, LockedPackage]:
    return read_lock(RUNTIME_LOCK)


@pytest.fixture(scope="module")
def dev_lock() -> dict[str, LockedPackage]:
    return read_lock(DEV_LOCK)


def test_installed_versions_are_the_dev_lock(dev_lock: dict[str, LockedPackage]) -> None:
    problems: list[str] = []
    for name, locked in sorted(dev_lock.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            problems.append(f"{name}: {locked.version} in {DEV_LOCK.name}, not installed")
            continue
        if installed != locked.version:
            problems.append(f"{name}: {locked.version} in {DEV_LOCK.name}, {installed} installed")
    assert not problems, "run scripts/install.sh --test:\n" + "\n".join(problems)


def test_runtime_lock_agrees_with_dev_lock(
    runtime_lock: dict[str, LockedPackage], dev_lock: dict[str, LockedPackage]
) -> None:
    problems: list[str] = []
    for name, locked in sorted(runtime_lock.items()):
        dev_version = dev_lock[name].version if name in dev_lock else "none"
        if dev_version != locked.version:
            problems.append(
                f"{name}: {locked.version} in {RUNTIME_LOCK.name}, {dev_version} in {DEV_LOCK.name}"
            )
    assert not problems, "run scripts/lock.sh:\n" + "\n".join(problems)


def test_every_direct_dependency_is_locked_within_its_range(
    runtime_lock: dict[str, LockedPackage], dev_lock: dict[str, LockedPackage]
) -> None:
    both_locks = [(RUNTIME_LOCK, runtime_lock), (DEV_LOCK, dev_lock)]
    locks_of_group = {"runtime": both_locks, "build": both_locks, "dev": [(DEV_LOCK, dev_lock)]}
    problems: list[str] = []
    for group, requirements in pyproject_requirements().items():
        for requirement in requirements:
            name = canonicalize_name(requirement.name)
            for lock_path, lock in locks_of_group[group]:
                if name not in lock:
                    locked_version = "none"
                elif requirement.specifier.contains(lock[name].version, prereleases=True):
                    continue
                else:
                    locked_version = lock[name].version
                problems.append(
                    f"{name}: {requirement} in pyproject.toml, {locked_version} in {lock_path.name}"
                )
    assert not problems, "run scripts/lock.sh:\n" + "\n".join(problems)


def test_every_locked_package_has_hashes(
    runtime_lock: dict[str, LockedPackage], dev_lock: dict[str, LockedPackage]
) -> None:
    unhashed = [
        f"{name}=={locked.version} in {lock_path.name}"
        for lock_path, lock in ((RUNTIME_LOCK, runtime_lock), (DEV_LOCK, dev_lock))
        for name, locked in sorted(lock.items())
        if locked.hash_count == 0
    ]
    assert not unhashed, "no hash (scripts/lock.sh passes --generate-hashes):\n" + "\n".join(
        unhashed
    )
