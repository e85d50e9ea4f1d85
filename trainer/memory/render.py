"""The memory breakdown as a terminal table and as plain data for JSON."""

from __future__ import annotations

from typing import Any

from ftdoctor.trainer.memory.estimate import GIB, Estimate


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB" if n >= GIB / 10 else f"{n / (1 << 20):.0f} MiB"


def table(est: Estimate, capacity: int | None, title: str, capacity_label: str = "GPU memory") -> list[str]:
    width = max([len(p.name) for p in est.parts] + [len("CPU (offloaded)")])
    lines = [title, ""]
    for part in est.parts:
        lines.append(f"  {part.name:<{width}}  {gib(part.bytes):>10}   {part.detail}")
    lines.append(f"  {'-' * width}  {'-' * 10}")
    lines.append(f"  {'peak':<{width}}  {gib(est.peak_bytes):>10}   {est.phase}")
    if capacity:
        share = est.peak_bytes / capacity
        verdict = "fits" if share <= 0.9 else ("tight" if share <= 1 else "does NOT fit")
        lines.append(f"  {capacity_label:<{width}}  {gib(capacity):>10}   {share:.0%} used: {verdict}")
    if est.cpu_bytes:
        lines.append(f"  {'CPU (offloaded)':<{width}}  {gib(est.cpu_bytes):>10}   host memory per process")
    lines.extend(f"  note: {note}" for note in est.notes)
    return lines


def as_data(est: Estimate, capacity: int | None) -> dict[str, Any]:
    return {
        "peak_bytes": est.peak_bytes,
        "peak_gib": round(est.peak_bytes / GIB, 2),
        "phase": est.phase,
        "capacity_bytes": capacity,
        "fits": None if capacity is None else est.peak_bytes <= capacity,
        "cpu_offloaded_bytes": est.cpu_bytes,
        "total_params": est.total_params,
        "trainable_params": est.trainable_params,
        "saved_activations_bytes": est.saved_activations,
        "parts": [{"name": p.name, "bytes": p.bytes, "detail": p.detail} for p in est.parts],
        "notes": list(est.notes),
    }
