"""A few lines that say what machine was judged, above the findings."""

from __future__ import annotations

from ftdoctor.facts.model import Facts, Status


def header_lines(facts: Facts, origin: str) -> list[str]:
    s, p, d, t = facts.system, facts.python, facts.driver, facts.torch
    distro = f", {s.distro}" if s.distro else ""
    glibc = f", glibc {s.glibc_version}" if s.glibc_version else ""
    lines = [
        f"ftdoctor {facts.ftdoctor_version} · {origin}",
        f"  python   {p.executable or '?'} ({p.version or '?'}, {p.kind or '?'})",
        f"  system   {s.os} {s.machine}{distro}{glibc}" + (f" [{', '.join(s.container)}]" if s.container else ""),
        f"  driver   {_driver(facts)}",
    ]
    lines.extend(_gpu_lines(d.gpus))
    if d.cuda_visible_devices is not None:
        lines.append(f"  visible  CUDA_VISIBLE_DEVICES={d.cuda_visible_devices!r}")
    lines.append(f"  torch    {_torch(t)}")
    tk = facts.toolkit
    if tk.nvcc_version:
        lines.append(f"  nvcc     {tk.nvcc_version} ({tk.nvcc_path})")
    return lines


def _gpu_lines(gpus) -> list[str]:
    """One line per GPU model: 'gpu 0-7  8 × NVIDIA H100 80GB HBM3 (sm_90, 79 GiB)' for a run of identical GPUs."""
    runs: list[list] = []
    for gpu in gpus:
        if runs and (runs[-1][0].name, runs[-1][0].compute_capability) == (gpu.name, gpu.compute_capability):
            runs[-1].append(gpu)
        else:
            runs.append([gpu])
    lines = []
    for run in runs:
        gpu = run[0]
        cc = f"sm_{gpu.compute_capability.replace('.', '')}" if gpu.compute_capability else "sm_?"
        memory = f", {gpu.memory_total_mib // 1024} GiB" if gpu.memory_total_mib else ""
        where = f"gpu {gpu.index}" if len(run) == 1 else f"gpu {gpu.index}-{run[-1].index}"
        count = f"{len(run)} × " if len(run) > 1 else ""
        lines.append(f"  {where:<9}{count}{gpu.name} ({cc}{memory})")
    return lines


def _driver(facts: Facts) -> str:
    d = facts.driver
    if d.driver_version.value:
        cuda = f", supports CUDA ≤ {d.cuda_driver_version.value}" if d.cuda_driver_version.value else ""
        return f"{d.driver_version.value}{cuda} (from {d.driver_version.source})"
    if facts.system.wsl:  # WSL shows the GPU through /dev/dxg, never on the PCI bus or with a kernel module
        return "none answers (WSL: the Windows driver's libraries under /usr/lib/wsl/lib did not answer)"
    if d.pci_devices or d.dev_nodes:
        where = ", ".join(p.bus_id for p in d.pci_devices) or ", ".join(f"/dev/{n}" for n in d.dev_nodes)
        return f"none answers, yet an NVIDIA GPU is there ({where})"
    if d.pci_status != Status.OK:
        return "none answers (whether there is an NVIDIA GPU cannot be told)"
    return "none (no nvidia kernel module, no driver libraries, no NVIDIA GPU on the PCI bus)"


def _torch(t) -> str:
    if t.status == Status.ABSENT:
        return "not installed"
    if t.status == Status.OK:
        build = f"CUDA {t.cuda}" if t.cuda else (f"ROCm {t.hip}" if t.hip else "CPU-only build")
        return f"{t.version} ({build}; CUDA available: {'yes' if t.cuda_available else 'no'})"
    return f"{t.version or '?'} ({t.reason})"
