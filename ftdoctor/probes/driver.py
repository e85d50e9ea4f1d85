"""Assemble the driver facts from every source, cheapest first, recording which source answered each value.

Order: the kernel module's files, the PCI bus and /dev (files only), then NVML and, when NVML cannot answer,
the CUDA driver API (both in one child process with a timeout), then nvidia-smi when neither library listed
the GPUs. `start` spawns the library child so that `gather` can run the other probes while it works.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass, replace

from ftdoctor.facts.model import CudaDriverApiFacts, DriverFacts, Gpu, NvidiaSmiFacts, NvmlFacts, Resolved, Status
from ftdoctor.probes import driver_api_child, driver_errors, driver_files, isolated, nvidia_smi, visible_devices
from ftdoctor.probes.host import Host
from ftdoctor.probes.visible_devices import bus_key
from ftdoctor.typed_data import DataError, from_plain


@dataclass(frozen=True)
class Started:
    host: Host
    child: isolated.Running


def start(host: Host) -> Started:
    argv = [sys.executable, "-I", driver_api_child.__file__, "--root", str(host.root)]
    spec = importlib.util.find_spec("pynvml")
    if spec is not None and spec.origin:
        argv += ["--pynvml", os.path.dirname(spec.origin)]  # -I drops user site and PYTHONPATH
    return Started(host, isolated.start(argv, env=host.env, timeout_s=host.timeout_s))


def probe(host: Host) -> DriverFacts:
    return finish(start(host))


def finish(started: Started) -> DriverFacts:
    host = started.host
    module = driver_files.kernel_module(host)
    pci_status, pci, pci_reason = driver_files.pci_devices(host)
    nodes, no_access = driver_files.dev_nodes(host)
    nvml, cuda_api = read_child(started.child.result())
    smi = NvidiaSmiFacts(status=Status.UNKNOWN, reason="not asked: the driver libraries listed the GPUs")
    if not nvml.gpus and cuda_api.status != Status.OK:
        smi = nvidia_smi.probe(host)
    gpus = choose_gpus(nvml, cuda_api, smi)
    visible = host.env.get("CUDA_VISIBLE_DEVICES")
    mapped = visible_devices.map_visible(visible, gpus, cuda_api.devices, host.env.get("CUDA_DEVICE_ORDER"))
    return DriverFacts(
        kernel_module=module,
        nvml=nvml,
        cuda_driver_api=cuda_api,
        nvidia_smi=smi,
        pci_devices=pci,
        pci_status=pci_status,
        dev_nodes=nodes,
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
        visible_devices=mapped,
        pci_reason=pci_reason,
        dev_nodes_no_access=no_access,
        wsl_driver_files=driver_files.wsl_driver_files(host),
        cuda_device_order=host.env.get("CUDA_DEVICE_ORDER"),
        visible_gpu_count=visible_devices.count_visible(visible, mapped, gpus),
    )


# --- the library child's report -------------------------------------------------------------------------


def read_child(result: isolated.ChildResult) -> tuple[NvmlFacts, CudaDriverApiFacts]:
    records, stage = isolated.staged_records(result.stdout)
    ended = "" if result.ok else f"the driver probe child {result.describe()}"
    if not result.ok and result.stderr.strip():
        ended += f": {result.stderr.strip().splitlines()[-1][:300]}"
    try:
        nvml = nvml_facts(records["nvml"]) if "nvml" in records else None
        cuda = cuda_facts(records["cuda_driver_api"]) if "cuda_driver_api" in records else None
    except (DataError, KeyError, TypeError, ValueError) as exc:
        why = f"the driver probe child printed something unexpected ({exc})"
        return NvmlFacts(reason=why), CudaDriverApiFacts(reason=why)
    if nvml is None:
        where = "inside NVML (nvmlInit or a query)" if stage == "nvml" else "before reaching NVML"
        why = f"{ended or 'the driver probe child printed no report'} {where}"
        return NvmlFacts(reason=why), CudaDriverApiFacts(reason=f"not tried: {why}")
    if cuda is None:
        if stage == "cuda":
            cuda = CudaDriverApiFacts(reason=f"{ended or 'no report'} inside the CUDA driver API (cuInit or a query)")
        else:
            cuda = CudaDriverApiFacts(reason="not asked: NVML answered")
    return nvml, cuda



def nvml_facts(rec: dict) -> NvmlFacts:
    error = rec.get("error")
    reason = rec.get("reason", "")
    if error:
        where = f"GPU {rec['gpu']}: " if rec.get("gpu") is not None else ""
        reason = where + driver_errors.nvml_reason(error, rec.get("message", ""), rec.get("failed_call") or "NVML")
    return NvmlFacts(
        status=Status(rec["status"]),
        reason=reason,
        error=error,
        driver_version=rec.get("driver_version"),
        cuda_driver_version=rec.get("cuda_driver_version"),
        nvml_version=rec.get("nvml_version"),
        gpus=tuple(from_plain(Gpu, g, f"nvml.gpus[{i}]") for i, g in enumerate(rec.get("gpus", []))),
        library=rec.get("library"),
        failed_call=rec.get("failed_call"),
        device_errors=tuple(_device_error(e) for e in rec.get("device_errors", [])),
    )


def _device_error(e: dict) -> str:
    where = f"GPU {e['gpu']}: " if e.get("gpu") is not None else ""
    return where + driver_errors.nvml_reason(e["error"], e.get("message", ""), e.get("failed_call", "NVML"))


def cuda_facts(rec: dict) -> CudaDriverApiFacts:
    error = rec.get("error")
    reason = rec.get("reason", "")
    if error:
        reason = driver_errors.cuda_reason(error, rec.get("failed_call") or "the CUDA driver API")
    devices = tuple(from_plain(Gpu, g, f"cuda_driver_api.devices[{i}]") for i, g in enumerate(rec.get("devices", [])))
    return CudaDriverApiFacts(
        status=Status(rec["status"]),
        reason=reason,
        library=rec.get("library"),
        error=error,
        cuda_driver_version=rec.get("cuda_driver_version"),
        device_count=rec.get("device_count"),
        compute_capabilities=tuple(rec.get("compute_capabilities", [])),
        failed_call=rec.get("failed_call"),
        devices=devices,
    )


# --- choosing among sources ----------------------------------------------------------------------------


def _first(*candidates: tuple[str, str | None]) -> Resolved:
    for source, value in candidates:
        if value:
            return Resolved(value=value, source=source)
    return Resolved()


def choose_gpus(nvml: NvmlFacts, cuda_api: CudaDriverApiFacts, smi: NvidiaSmiFacts) -> tuple[Gpu, ...]:
    """Physical GPUs in NVML's (PCI bus) order, from the best source that listed them."""
    if nvml.gpus:
        return tuple(_fill_cc(g, cuda_api.devices) for g in nvml.gpus)
    if smi.gpus:
        return smi.gpus  # asked only when the driver API failed too: nothing can fill its gaps
    return tuple(sorted(cuda_api.devices, key=lambda d: bus_key(d.pci_bus_id)))


def _fill_cc(gpu: Gpu, devices: tuple[Gpu, ...]) -> Gpu:
    """Old drivers' NVML lacks the compute capability; the driver API's device on the same PCI bus fills it in."""
    if gpu.compute_capability:
        return gpu
    same = [d for d in devices if d.pci_bus_id and bus_key(d.pci_bus_id) == bus_key(gpu.pci_bus_id)]
    if not same or not same[0].compute_capability:
        return gpu
    return replace(gpu, compute_capability=same[0].compute_capability, source=f"{gpu.source} + cuda driver api")

