"""How a smoke child ended, as a fact: its own result line when it printed one, else "crashed" (a signal,
an exit without a result) or "timeout", with the stage it had reached and the tail of what it printed."""

from __future__ import annotations

import json
from typing import Any

from ftdoctor.facts.model import SmokeResult, SmokeStatus
from ftdoctor.probes.isolated import ChildResult

TAIL_LINES = 30
TAIL_CHARS = 4000
REPORTED = {"ok": SmokeStatus.OK, "failed": SmokeStatus.FAILED, "skipped": SmokeStatus.SKIPPED}


def smoke_result(name: str, child: ChildResult, *, bound_s: float, memory_limit: int | None) -> SmokeResult:
    events, other = _split(child.stdout)
    stages = [e.get("stage", "") for e in events if e.get("event") == "stage"]
    final = next((e for e in reversed(events) if e.get("event") == "result"), None)
    base: dict[str, Any] = {
        "name": name, "stage": stages[-1] if stages else "", "elapsed_s": child.elapsed_s,
        "returncode": child.returncode, "signal": child.signal, "output_tail": _tail(child.stderr, other),
    }
    if final is not None and final.get("status") in REPORTED:
        details = final.get("details") if isinstance(final.get("details"), dict) else {}
        return SmokeResult(**base, status=REPORTED[final["status"]], reason=str(final.get("reason", "")), details=details)
    status, reason = _unreported(child, base["stage"], bound_s, memory_limit)
    return SmokeResult(**base, status=status, reason=reason, details={"memory_limit_bytes": memory_limit})


def _unreported(child: ChildResult, stage: str, bound_s: float, memory_limit: int | None) -> tuple[SmokeStatus, str]:
    where = f" during {stage!r}" if stage else " before its first stage"
    if child.start_error:
        return SmokeStatus.FAILED, f"could not start the diagnosed interpreter: {child.start_error}"
    if child.timed_out:
        return SmokeStatus.TIMEOUT, f"did not finish within {bound_s:.0f} s{where} (killed with its process group)"
    if child.signal:
        hint = ""
        if child.signal == "SIGKILL":
            hint = " (the kernel's out-of-memory killer, or someone, killed it)"
        return SmokeStatus.CRASHED, f"killed by {child.signal}{where}{hint}"
    last = _last_line(child.stderr)
    suffix = f": {last}" if last else ""
    if "MemoryError" in last and memory_limit:
        suffix += f" (memory limit {memory_limit / 2**30:.0f} GiB)"
    return SmokeStatus.CRASHED, f"exited with status {child.returncode} without a result{where}{suffix}"


def _split(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Protocol events, and every other line (libraries print to stdout too)."""
    events, other = [], []
    for line in stdout.splitlines():
        if line.startswith('{"event"'):
            try:
                record = json.loads(line)
            except ValueError:
                other.append(line)
                continue
            if isinstance(record, dict):
                events.append(record)
                continue
        other.append(line)
    return events, other


def _tail(stderr: str, stdout_lines: list[str]) -> str:
    lines = [line for line in stdout_lines + stderr.splitlines() if line.strip()]
    text = "\n".join(lines[-TAIL_LINES:])
    return text if len(text) <= TAIL_CHARS else "…" + text[-TAIL_CHARS:]


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:400] if lines else ""
