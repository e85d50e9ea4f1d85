"""Fixtures for the probe tests: the fake driver libraries (compiled once per session) and a simulated
machine per test. The probes run their real code against them: NVML through nvidia-ml-py, libcuda through
ctypes, nvidia-smi as a program, files under a fake root."""

from __future__ import annotations

import pytest
from fakes.build import FakeLibraries, build
from fakes.machine import FakeMachine


@pytest.fixture(scope="session")
def fake_libraries(tmp_path_factory) -> FakeLibraries:
    return build(tmp_path_factory.mktemp("fake-driver-libs"))


@pytest.fixture
def machine(tmp_path, fake_libraries) -> FakeMachine:
    return FakeMachine(tmp_path / "machine", fake_libraries)


@pytest.fixture
def make_machine(tmp_path, fake_libraries):
    """For a test that needs a machine of another library variant, or with some libraries missing."""
    count = 0

    def make(**kwargs) -> FakeMachine:
        nonlocal count
        count += 1
        return FakeMachine(tmp_path / f"machine{count}", fake_libraries, **kwargs)

    return make
