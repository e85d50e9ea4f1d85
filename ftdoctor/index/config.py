"""Where pip would look: the index URL and CA bundle from pip's configuration (environment included)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

from ftdoctor.errors import NetworkError


@dataclass(frozen=True)
class PipIndex:
    url: str  # the simple API root, ending in "/"
    cert: str | None  # a CA bundle pip is told to use


def from_pip(python: str = sys.executable) -> PipIndex:
    values = _pip_config(python)
    url = os.environ.get("PIP_INDEX_URL") or values.get("index-url") or _pip_default(python)
    cert = os.environ.get("PIP_CERT") or values.get("cert")
    return PipIndex(url.rstrip("/") + "/", cert)


def _pip_config(python: str) -> dict[str, str]:
    """`pip config list` as {key: value}, the global/install sections merged (later files win, as in pip)."""
    try:
        out = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        section, _, name = key.rpartition(".")
        if section.split(":")[-1] in ("global", "install", "download", "") and name:
            values[name] = value.strip().strip("'\"")
    return values


def _pip_default(python: str) -> str:
    """pip's built-in index, asked from pip itself so that its address is never written here."""
    code = "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"
    try:
        out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise NetworkError(f"cannot ask pip for its index ({exc})", hint="set PIP_INDEX_URL") from None
    if out.returncode != 0 or not out.stdout.strip():
        raise NetworkError("pip is not installed in this interpreter, so its index is unknown", hint="set PIP_INDEX_URL")
    return out.stdout.strip()
