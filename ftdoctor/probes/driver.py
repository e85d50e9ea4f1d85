"""Assemble the driver facts from every source, cheapest first, recording which source answered each value."""

from __future__ import annotations

import json
import sys

from ftdoctor.facts.model import (
    CudaDriverApiFacts,
    DriverFacts,
    Gpu,
    NvidiaSmiFacts,
    NvmlFacts,
    Resolved,
    Status,
    VisibleDevice,
)
from ftdoctor.probes import driver_api_child, driver_files, isolated, nvidia_smi
from ftdoctor.probes.host import Host
from ftdoctor.typed_data import DataError, from_plain


def probe(host: Host) -> DriverFacts:
    module = driver_files.kernel_module(host)
    pci_status, pci = driver_files.pci_devices(host)
    nvml, cuda_api = _driver_libraries(host)
    smi = NvidiaSmiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered")
    if nvml.status != Status.OK and cuda_api.status != Status.OK:
        smi = nvidia_smi.probe(host)
    gpus = _gpus(nvml, cuda_api, smi)
    visible = host.env.get("CUDA_VISIBLE_DEVICES")
    return DriverFacts(
        kernel_module=module,
        nvml=nvml,
        cuda_driver_api=cuda_api,
        nvidia_smi=smi,
        pci_devices=pci,
        pci_status=pci_status,
        dev_nodes=driver_files.dev_nodes(host),
        driver_version=_first(
            ("nvml", nvml.driver_version), ("nvidia-smi", smi.driver_version), (module.source, module.version)
        ),
        cuda_driver_version=_first(
            ("nvml", nvml.cuda_driver_version),
            ("cuda driver api", cuda_api.cuda_driver_version),
            ("nvidia-smi", smi.cuda_driver_version),
        ),
        gpus=gpus,
        cuda_visible_devices=visible,
        visible_devices=map_visible(visible, gpus),
    )


def _driver_libraries(host: Host) -> tuple[NvmlFacts, CudaDriverApiFacts]:
    result = isolated.run(
        [sys.executable, "-I", driver_api_child.__file__],
        env=host.env,
        timeout_s=min(host.timeout_s, 30.0),
    )
    if not result.ok:
        why = f"the NVML/libcuda probe {result.describe()}"
        if result.stderr.strip():
            why += f": {result.stderr.strip().splitlines()[-1][:300]}"
        return NvmlFacts(status=Status.UNKNOWN, reason=why), CudaDriverApiFacts(status=Status.UNKNOWN, reason=why)
    try:
        data = json.loads(result.stdout)
        nvml = from_plain(NvmlFacts, data["nvml"])
        cuda = data.get("cuda_driver_api")
        cuda_api = (
            from_plain(CudaDriverApiFacts, cuda)
            if cuda
            else CudaDriverApiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered")
        )
    except (ValueError, KeyError, DataError) as exc:
        why = f"the NVML/libcuda probe printed something unexpected ({exc})"
        return NvmlFacts(status=Status.UNKNOWN, reason=why), CudaDriverApiFacts(status=Status.UNKNOWN, reason=why)
    return nvml, cuda_api


def _first(*candidates: tuple[str, str | None]) -> Resolved:
    for source, value in candidates:
        if value:
            return Resolved(value=value, source=source)
    return Resolved()


def _gpus(nvml: NvmlFacts, cuda_api: CudaDriverApiFacts, smi: NvidiaSmiFacts) -> tuple[Gpu, ...]:
    if nvml.status == Status.OK:
        return nvml.gpus
    if smi.status == Status.OK:
        if cuda_api.status == Status.OK and len(cuda_api.compute_capabilities) == len(smi.gpus):
            # old drivers' nvidia-smi lacks compute_cap; the driver API fills it in (same physical order)
            return tuple(
                g if g.compute_capability else _with_cc(g, cc) for g, cc in zip(smi.gpus, cuda_api.compute_capabilities)
            )
        return smi.gpus
    if cuda_api.status == Status.OK:
        return tuple(
            Gpu(index=i, name=f"CUDA device {i}", source="cuda driver api", compute_capability=cc)
            for i, cc in enumerate(cuda_api.compute_capabilities)
        )
    return ()


def _with_cc(gpu: Gpu, cc: str) -> Gpu:
    from dataclasses import replace

    return replace(gpu, compute_capability=cc, source=f"{gpu.source} + cuda driver api")


def map_visible(value: str | None, gpus: tuple[Gpu, ...]) -> tuple[VisibleDevice, ...]:
    """CUDA_VISIBLE_DEVICES as CUDA reads it: indices or UUID prefixes; enumeration stops at the first invalid entry."""
    if value is None:
        return ()
    mapped = []
    for logical, token in enumerate(t.strip() for t in value.split(",") if t.strip()):
        physical, reason = _resolve(token, gpus)
        mapped.append(VisibleDevice(logical_index=logical, token=token, physical_index=physical, reason=reason))
        if physical is None:
            break
    return tuple(mapped)


def _resolve(token: str, gpus: tuple[Gpu, ...]) -> tuple[int | None, str]:
    if token.lstrip("-").isdigit():
        index = int(token)
        if any(g.index == index for g in gpus):
            return index, ""
        return None, f"no GPU with index {index}; CUDA ignores this entry and every one after it"
    if token.startswith("MIG-"):
        return None, "a MIG instance: its parent GPU is not resolved from the UUID"
    wanted = token if token.startswith("GPU-") else f"GPU-{token}"
    matches = [g for g in gpus if g.uuid and g.uuid.startswith(wanted)]
    if len(matches) == 1:
        return matches[0].index, ""
    why = "matches several GPUs" if matches else "matches no GPU"
    return None, f"{token!r} {why}; CUDA ignores this entry and every one after it"
