"""Shared test helpers. Nothing here touches the host's GPU state: probes run against fake roots, fake
libraries and fake programs built by the tests themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: str | Path | None = None, timeout: float = 120,
            stdin: str | None = None) -> CliResult:
    """Run `python -m ftdoctor ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("FTDOCTOR_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "ftdoctor", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout, input=stdin,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cli():
    return run_cli
