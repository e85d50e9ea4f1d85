"""torch facts: from an isolated subprocess in the diagnosed interpreter, or, with --no-torch, from metadata only.

The subprocess can be started early and collected late (`start` / `finish`), so that the second or more of
`import torch` overlaps the other probes. Its report comes in stages (see torch_child); a child that dies
keeps what it had already reported, and the failure is named: timeout, signal, undefined symbol, ...
"""

from __future__ import annotations

import re

from ftdoctor.facts.model import Distribution, Gpu, Status, TorchFacts
from ftdoctor.probes import isolated, torch_child
from ftdoctor.probes.host import Host
from ftdoctor.typed_data import DataError, from_plain

STAGES = {"import": "`import torch`", "cuda": "CUDA initialisation (torch.cuda.is_available())",
          "report": "reading torch's libraries (cuDNN, NCCL, CUDA_HOME)"}


def start(host: Host) -> isolated.Running:
    # not -I: PYTHONPATH and the user site decide which torch the user's python imports
    return isolated.start([host.python, torch_child.__file__], env=host.env, timeout_s=host.torch_timeout_s)


def finish(running: isolated.Running, dist: Distribution | None) -> TorchFacts:
    result = running.result()
    records, stage = isolated.staged_records(result.stdout)
    try:
        known = _known_facts(records)
    except (DataError, KeyError, TypeError, ValueError) as exc:
        known, records = {}, {}
        result_note = f"the torch probe printed something unexpected ({exc})"
    else:
        result_note = ""
    base = dict(source="subprocess", returncode=result.returncode, signal=result.signal, elapsed_s=result.elapsed_s)
    version = known.pop("version", None) or (dist.version if dist else None)
    if result.ok and "libraries" in records and not result_note:
        return TorchFacts(status=Status.OK, version=version, **base, **known)
    failure = classify(result, records) if not result_note else "bad-output"
    return TorchFacts(
        status=Status.ERROR if failure != "bad-output" else Status.UNKNOWN,
        reason=result_note or _failure_text(result, stage),
        version=version,
        failure=failure,
        stage=stage or None,
        **base,
        **known,
    )



def _known_facts(records: dict) -> dict:
    facts: dict = {}
    build = records.get("build", {})
    facts.update({k: build[k] for k in ("version", "cuda", "hip", "git_version", "cxx11_abi", "location") if k in build})
    if "arch_list" in build:
        facts["arch_list"] = tuple(build["arch_list"])
    if "import_warnings" in records:
        facts["import_warnings"] = tuple(records["import_warnings"])
    cuda = records.get("cuda", {})
    facts.update({k: cuda[k] for k in ("cuda_available", "device_count") if k in cuda})
    if "devices" in cuda:
        facts["devices"] = tuple(from_plain(Gpu, d, f"torch.devices[{i}]") for i, d in enumerate(cuda["devices"]))
    libraries = records.get("libraries", {})
    facts.update({k: libraries[k] for k in ("cudnn", "nccl", "cuda_home") if k in libraries})
    if "loaded_libraries" in libraries:
        facts["loaded_libraries"] = tuple(libraries["loaded_libraries"])
    warnings = list(cuda.get("warnings", [])) + list(libraries.get("problems", []))
    if warnings:
        facts["warnings"] = tuple(warnings)
    return facts


def classify(result: isolated.ChildResult, records: dict) -> str:
    """One word for how the child failed; rules match on it."""
    if result.timed_out:
        return "timeout"
    if result.signal:
        return "signal"
    if result.start_error:
        return "exit"
    said = result.stderr
    if "undefined symbol" in said:
        return "undefined-symbol"
    if re.search(r"version `(GLIBCXX|GLIBC|CXXABI)_[\d.]+' not found", said):
        return "symbol-version"
    if "cannot open shared object file" in said:
        return "missing-library"
    if re.search(r"ModuleNotFoundError: No module named 'torch'$", said.strip(), re.M):
        return "not-installed"
    if "Error" in _last_line(said):
        return "import-error" if "build" not in records else "exception"
    return "exit"


def _failure_text(result: isolated.ChildResult, stage: str) -> str:
    where = STAGES.get(stage, "the torch probe")
    last = _last_line(result.stderr)
    return f"{where} {result.describe()}" + (f": {last[:400]}" if last else "")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


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
        bare = re.sub(r"[\s()]", "", req)  # torch <= 2.6 writes `nvidia-cuda-runtime-cu12 (==12.1.105)`
        found = re.match(r"(?:nvidia-cuda-runtime(?:-cu\d+)?|cuda-toolkit(?:\[[^\]]*\])?)==(\d+)\.(\d+)", bare)
        if found:
            return f"{found.group(1)}.{found.group(2)}"
    return None
