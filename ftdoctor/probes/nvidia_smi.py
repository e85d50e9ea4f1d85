"""The last fallback: `nvidia-smi --query-gpu` as CSV.

Parsed even on a non-zero exit (one lost GPU makes nvidia-smi fail while it still prints the others);
a field the driver's nvidia-smi does not know (older drivers lack `compute_cap`) is dropped and the query
repeated; lines that are not GPU rows
(warnings, garbage, error messages) are skipped and the first of them is kept as what nvidia-smi said.
"""

from __future__ import annotations

import re

from ftdoctor.facts.model import Gpu, NvidiaSmiFacts, Status
from ftdoctor.probes import isolated
from ftdoctor.probes.host import Host

FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "driver_version", "compute_cap")
TIMEOUT_S = 10.0
NOT_A_VALUE = re.compile(r"^\[.*\]$|^N/A$")  # "[N/A]", "[Not Supported]", "[Unknown Error]"


def probe(host: Host) -> NvidiaSmiFacts:
    smi = host.which("nvidia-smi")
    if smi is None:
        return NvidiaSmiFacts(status=Status.ABSENT, reason="nvidia-smi is not on PATH")
    env = {k: v for k, v in host.env.items() if k != "CUDA_VISIBLE_DEVICES"}
    timeout = min(host.timeout_s, TIMEOUT_S)
    fields = FIELDS
    result = _query(smi, fields, env, timeout)
    for _ in range(2):  # drivers too old for compute_cap; a future one that dropped driver_version
        rejected = _rejected_field(result, fields)
        if rejected is None:
            break
        fields = tuple(f for f in fields if f != rejected)
        result = _query(smi, fields, env, timeout)
    base = dict(path=smi, returncode=result.returncode, compute_cap_field="compute_cap" in fields)
    if result.timed_out or result.start_error:
        return NvidiaSmiFacts(status=Status.UNKNOWN, reason=f"nvidia-smi {result.describe()}", **base)
    rows, other = parse_rows(result.stdout + "\n" + result.stderr, fields)
    said = other[0][:300] if other else None
    if not rows:
        return NvidiaSmiFacts(
            status=Status.ERROR if result.returncode else Status.UNKNOWN,
            reason=f"nvidia-smi {result.describe()} and listed no GPU" + (f": {said}" if said else ""),
            error=said,
            **base,
        )
    partial = "" if result.returncode == 0 else f"nvidia-smi {result.describe()} but listed {len(rows)} GPU(s)"
    return NvidiaSmiFacts(
        status=Status.OK,
        reason=partial + (f": {said}" if partial and said else ""),
        driver_version=rows[0].get("driver_version"),
        cuda_driver_version=cuda_version(smi, env, timeout),
        gpus=tuple(_gpu(row) for row in rows),
        error=said if partial else None,
        **base,
    )


def _query(smi: str, fields: tuple[str, ...], env: dict[str, str], timeout: float) -> isolated.ChildResult:
    argv = [smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    return isolated.run(argv, env=env, timeout_s=timeout)


def _rejected_field(result: isolated.ChildResult, fields: tuple[str, ...]) -> str | None:
    """The field nvidia-smi refused ('Field "compute_cap" is not a valid field to query.'), if any."""
    match = re.search(r'Field "([\w.]+)" is not a valid field', result.stdout + result.stderr)
    if result.timed_out or match is None or match.group(1) not in fields or match.group(1) == "index":
        return None
    return match.group(1)


def parse_rows(text: str, fields: tuple[str, ...]) -> tuple[list[dict[str, str]], list[str]]:
    """GPU rows as dicts, and the other non-empty lines. A row starts with its index; a GPU name holding a
    comma is rejoined."""
    rows, other = [], []
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        extra = len(cells) - len(fields)
        if extra < 0 or not cells[0].isdigit():
            if line.strip():
                other.append(line.strip())
            continue
        cells = [cells[0], ", ".join(cells[1 : 2 + extra]), *cells[2 + extra :]]
        row = {k: v for k, v in zip(fields, cells) if not NOT_A_VALUE.match(v)}
        if not row.get("uuid", "GPU-").startswith("GPU-"):
            other.append(line.strip())  # digits and commas, but not a GPU row
            continue
        rows.append(row)
    return rows, other


def _gpu(row: dict[str, str]) -> Gpu:
    memory = row.get("memory.total", "")
    cc = row.get("compute_cap")
    return Gpu(
        index=int(row["index"]),
        name=row.get("name", "?"),
        source="nvidia-smi",
        uuid=row.get("uuid") or None,
        pci_bus_id=row.get("pci.bus_id") or None,
        compute_capability=cc if cc and re.fullmatch(r"\d+\.\d+", cc) else None,
        memory_total_mib=int(float(memory)) if re.fullmatch(r"\d+(\.\d+)?", memory) else None,
    )


def cuda_version(smi: str, env: dict[str, str], timeout: float) -> str | None:
    """The highest CUDA the driver supports (not a toolkit's version): `nvidia-smi --version` on current
    drivers, the XML report on older ones. Drivers 610 and later call it "CUDA UMD Version"."""
    result = isolated.run([smi, "--version"], env=env, timeout_s=timeout)
    match = re.search(r"^CUDA (?:UMD )?Version\s*:\s*([\d.]+)", result.stdout, re.M)
    if match:
        return match.group(1)
    if result.timed_out:
        return None
    result = isolated.run([smi, "--query", "-u", "-x"], env=env, timeout_s=timeout)
    match = re.search(r"<cuda(?:_umd)?_version>\s*([\d.]+)\s*</cuda(?:_umd)?_version>", result.stdout)
    return match.group(1) if match else None
