"""Facts snapshots for the CI-format and fleet tests, built with the model classes.

`node()` is one node of an 8×H100 cluster as its probes would report it (driver 570 with CUDA 12.8, torch
2.8.0+cu128 with its NCCL and CUDA wheels, the HF stack); `variants()` gives copies that differ from it in one
fact each, named by the CMP rule that must catch the difference. Recorded machines under tests/machines/
(added by the rules work) are picked up by `recorded()` when present.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ftdoctor.facts import serialize
from ftdoctor.facts.model import (
    Distribution,
    DriverFacts,
    Facts,
    Gpu,
    NvmlFacts,
    PciDevice,
    PythonEnvFacts,
    Resolved,
    Status,
    SystemFacts,
    ToolkitFacts,
    TorchFacts,
)

MACHINES = Path(__file__).resolve().parent.parent / "machines"

PACKAGES = {
    "torch": "2.8.0+cu128",
    "transformers": "4.56.1",
    "accelerate": "1.10.1",
    "peft": "0.17.1",
    "trl": "0.23.0",
    "datasets": "4.1.0",
    "triton": "3.4.0",
    "nvidia-nccl-cu12": "2.27.3",
    "nvidia-cublas-cu12": "12.8.4.1",
    "nvidia-cudnn-cu12": "9.10.2.21",
    "nvidia-cuda-runtime-cu12": "12.8.90",
    "nvidia-ml-py": "13.580.65",
    "numpy": "2.3.2",
    "requests": "2.32.5",
}


def gpus(count: int = 8, name: str = "NVIDIA H100 80GB HBM3", cc: str = "9.0") -> tuple[Gpu, ...]:
    return tuple(
        Gpu(index=i, name=name, source="nvml", compute_capability=cc, memory_total_mib=81559) for i in range(count)
    )


def dists(packages: dict[str, str]) -> tuple[Distribution, ...]:
    return tuple(Distribution(name=n, version=v, installer="pip") for n, v in sorted(packages.items()))


def node(label: str = "node1", *, packages: dict[str, str] | None = None) -> Facts:
    driver = Resolved("570.172.08", "nvml")
    return Facts(
        ftdoctor_version="0.1.0",
        collected_at="2026-11-20T10:00:00+00:00",
        label=label,
        driver=DriverFacts(
            nvml=NvmlFacts(status=Status.OK, driver_version="570.172.08", cuda_driver_version="12.8", gpus=gpus()),
            driver_version=driver,
            cuda_driver_version=Resolved("12.8", "nvml"),
            gpus=gpus(),
            pci_status=Status.OK,
        ),
        toolkit=ToolkitFacts(status=Status.OK, nvcc_path="/usr/local/cuda/bin/nvcc", nvcc_version="12.8.93"),
        system=SystemFacts(os="Linux", machine="x86_64", distro="Ubuntu 22.04.5 LTS", glibc_version="2.35", shm_bytes=64 * 2**30),
        python=PythonEnvFacts(
            status=Status.OK, executable="/opt/venv/bin/python", version="3.11.13", implementation="CPython",
            kind="venv", distributions=dists(packages or PACKAGES),
        ),
        torch=TorchFacts(
            status=Status.OK, source="subprocess", version="2.8.0+cu128", cuda="12.8", nccl="2.27.3",
            cuda_available=True, device_count=8,
        ),
        env={"NCCL_IB_HCA": "mlx5", "NCCL_SOCKET_IFNAME": "eth0"},
    )


def laptop() -> Facts:
    """No GPU, no driver: DRV100 warns."""
    base = node("laptop")
    return replace(base, driver=DriverFacts(pci_status=Status.OK), torch=replace(base.torch, cuda=None, nccl=None))


def gpu_without_driver() -> Facts:
    """An NVIDIA GPU on the bus and no driver answering: DRV100 fails with an error."""
    pci = (PciDevice(bus_id="0000:3b:00.0", vendor="0x10de", device="0x2330", pci_class="0x030200"),)
    return replace(node("fresh-box"), driver=DriverFacts(pci_devices=pci, pci_status=Status.OK))


def _with_packages(base: Facts, **changes: str) -> Facts:
    packages = {**PACKAGES, **changes}
    return replace(base, python=replace(base.python, distributions=dists(packages)))


def variants() -> dict[str, Facts]:
    """A copy of node('node2') per CMP rule, differing from node('node1') in exactly that rule's fact."""
    b = node("node2")
    return {
        "CMP101": replace(b, python=replace(b.python, version="3.12.11")),
        "CMP102": replace(b, driver=replace(b.driver, driver_version=Resolved("580.82.07", "nvml"))),
        "CMP103": _with_packages(replace(b, torch=replace(b.torch, version="2.7.1+cu126", cuda="12.6")), torch="2.7.1+cu126"),
        "CMP104": replace(b, torch=replace(b.torch, nccl="2.26.2")),
        "CMP105": _with_packages(b, **{"nvidia-cublas-cu12": "12.8.3.14"}),
        "CMP106": _with_packages(b, transformers="4.57.0"),
        "CMP107": replace(b, driver=replace(b.driver, gpus=gpus(name="NVIDIA A100-SXM4-80GB", cc="8.0"))),
        "CMP108": replace(b, driver=replace(b.driver, gpus=gpus(count=4))),
        "CMP109": replace(b, system=replace(b.system, machine="aarch64")),
        "CMP110": replace(b, env={**b.env, "NCCL_P2P_DISABLE": "1"}),
        "CMP111": replace(b, toolkit=replace(b.toolkit, nvcc_version="12.6.85")),
    }


def save(facts: Facts, path: Path) -> Path:
    path.write_text(serialize.dumps(facts))
    return path


def recorded() -> list[Path]:
    return sorted(MACHINES.glob("*.json")) if MACHINES.is_dir() else []


def snapshots(folder: Path) -> list[Path]:
    """Every machine the format tests render: ours, written to `folder`, and the recorded ones."""
    ours = {"h100-node": node(), "laptop": laptop(), "gpu-without-driver": gpu_without_driver()}
    return [save(facts, folder / f"{name}.json") for name, facts in ours.items()] + recorded()
