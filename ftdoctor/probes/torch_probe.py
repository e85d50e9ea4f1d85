"""torch facts: from an isolated subprocess in the diagnosed interpreter, or, with --no-torch, from metadata only.

The subprocess can be started early and collected late (`start` / `finish`), so that the few seconds of
`import torch` overlap the other probes.
"""

from __future__ import annotations

import json
import re

from ftdoctor.facts.model import Distribution, Gpu, Status, TorchFacts
from ftdoctor.probes import isolated, torch_child
from ftdoctor.probes.host import Host
from ftdoctor.typed_data import DataError, from_plain

TIMEOUT_S = 90.0


def start(host: Host) -> isolated.Running:
    env = {**host.env, "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    return isolated.start([host.python, "-I", torch_child.__file__], env=env, timeout_s=max(host.timeout_s, TIMEOUT_S))


def finish(running: isolated.Running, dist: Distribution | None) -> TorchFacts:
    result = running.result()
    base = {"version": dist.version if dist else None, "returncode": result.returncode, "signal": result.signal,
            "elapsed_s": result.elapsed_s}
    if not result.ok:
        return TorchFacts(status=Status.ERROR, source="subprocess", reason=_failure(result), **base)
    try:
        data = json.loads(result.stdout.strip().splitlines()[-1])
        data["devices"] = [from_plain(Gpu, d) for d in data.get("devices", [])]
        data["arch_list"] = tuple(data.get("arch_list", []))
        data["warnings"] = tuple(data.get("warnings", []))
        data["loaded_libraries"] = tuple(data.get("loaded_libraries", []))
        data["devices"] = tuple(data["devices"])
        return TorchFacts(**{**data, "status": Status.OK, "returncode": 0})
    except (ValueError, IndexError, TypeError, DataError) as exc:
        return TorchFacts(
            status=Status.UNKNOWN, source="subprocess", reason=f"the torch probe printed no usable report ({exc})", **base
        )


def _failure(result: isolated.ChildResult) -> str:
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    return f"`import torch` {result.describe()}" + (f": {last[:400]}" if last else "")


def from_metadata(dist: Distribution | None, why: str) -> TorchFacts:
    """What the installed metadata says about torch without importing it (the local label carries the CUDA)."""
    if dist is None:
        return TorchFacts(status=Status.ABSENT, source="metadata", reason="torch is not installed")
    return TorchFacts(
        status=Status.UNKNOWN,
        source="metadata",
        reason=why,
        version=dist.version,
        cuda=cuda_from_metadata(dist),
    )


def cuda_from_metadata(dist: Distribution) -> str | None:
    """'2.8.0+cu128' -> '12.8'; a label-less wheel's CUDA from its nvidia-*/cuda-toolkit requirements; '+cpu' -> None."""
    label = dist.version.partition("+")[2]
    match = re.fullmatch(r"cu(\d+)(\d)", label)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    if label:
        return None
    for req in dist.requires:
        found = re.match(r"(?:nvidia-cuda-runtime(?:-cu\d+)?|cuda-toolkit(?:\[[^\]]*\])?)\s*==\s*(\d+)\.(\d+)", req)
        if found:
            return f"{found.group(1)}.{found.group(2)}"
    return None
