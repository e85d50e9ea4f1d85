"""Fixtures for the verify tests (helpers in verify_helpers.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from verify_helpers import FLASH_ATTN_VERSION, FixtureEnv, make_env


@pytest.fixture
def fixture_env(tmp_path) -> FixtureEnv:
    return make_env(tmp_path / "env")


@pytest.fixture(scope="session")
def flash_attn_stub_wheel(request) -> Path:
    """flash-attn built the way its setup allows without CUDA (Python files only, no flash_attn_2_cuda).

    Built once per machine from the sdist on the package index (about 10 s) and kept in pytest's cache;
    skipped when the index cannot be reached.
    """
    cache = Path(request.config.cache.mkdir("ftdoctor-flash-attn-stub"))
    wheels = sorted(cache.glob(f"flash_attn-{FLASH_ATTN_VERSION}-*.whl"))
    if wheels:
        return wheels[0]
    env = {**os.environ, "FLASH_ATTENTION_SKIP_CUDA_BUILD": "TRUE", "FLASH_ATTENTION_FORCE_BUILD": "TRUE"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir",
         f"flash-attn=={FLASH_ATTN_VERSION}", "-w", str(cache)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    wheels = sorted(cache.glob(f"flash_attn-{FLASH_ATTN_VERSION}-*.whl"))
    if build.returncode != 0 or not wheels:
        pytest.skip(f"could not build the flash-attn stub from the package index: {build.stderr.strip()[-300:]}")
    return wheels[0]


