"""The last fallback: `nvidia-smi --query-gpu` as CSV. Parsed even on a non-zero exit (one lost GPU makes
nvidia-smi fail while it still prints the others); drivers too old for `compute_cap` are asked again without it."""

from __future__ import annotations

import re

from ftdoctor.facts.model import Gpu, NvidiaSmiFacts, Status
from ftdoctor.probes import isolated
from ftdoctor.probes.host import Host

FIELDS = ("index", "name", "uuid", "pci.bus_id", "memory.total", "driver_version", "compute_cap")


def probe(host: Host) -> NvidiaSmiFacts:
    smi = host.which("nvidia-smi")
    if smi is None:
        return NvidiaSmiFacts(status=Status.ABSENT, reason="nvidia-smi is not on PATH")
    env = {k: v for k, v in host.env.items() if k != "CUDA_VISIBLE_DEVICES"}
    timeout = min(host.timeout_s, 10.0)
    result = _query(smi, FIELDS, env, timeout)
    if not result.timed_out and "compute_cap" in result.stdout + result.stderr and not _rows(result.stdout):
        result = _query(smi, FIELDS[:-1], env, timeout)
    if result.timed_out or result.start_error:
        return NvidiaSmiFacts(status=Status.UNKNOWN, path=smi, reason=f"nvidia-smi {result.describe()}")
    rows = _rows(result.stdout)
    if not rows:
        said = (result.stdout + result.stderr).strip().splitlines()
        return NvidiaSmiFacts(
            status=Status.ERROR if result.returncode else Status.UNKNOWN,
            path=smi,
            reason=f"nvidia-smi {result.describe()} and printed no GPU rows" + (f": {said[0][:200]}" if said else ""),
        )
    gpus = tuple(_gpu(row) for row in rows)
    return NvidiaSmiFacts(
        status=Status.OK,
        path=smi,
        driver_version=rows[0].get("driver_version"),
        cuda_driver_version=_cuda_version(host, smi, env, timeout),
        gpus=gpus,
        reason="" if result.returncode == 0 else f"nvidia-smi {result.describe()} but listed {len(gpus)} GPU(s)",
    )


def _query(smi: str, fields: tuple[str, ...], env: dict[str, str], timeout: float) -> isolated.ChildResult:
    return isolated.run([smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"], env=env, timeout_s=timeout)


def _rows(stdout: str) -> list[dict[str, str]]:
    rows = []
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) < len(FIELDS) - 1 or not cells[0].isdigit():
            continue  # garbage, a warning line, or an error message
        rows.append(dict(zip(FIELDS, cells)))
    return rows


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


def _cuda_version(host: Host, smi: str, env: dict[str, str], timeout: float) -> str | None:
    """The highest CUDA the driver supports, from the XML report (not a toolkit version)."""
    result = isolated.run([smi, "--query", "-u", "-x"], env=env, timeout_s=timeout)
    match = re.search(r"<cuda_version>\s*([\d.]+)\s*</cuda_version>", result.stdout)
    return match.group(1) if match else None
