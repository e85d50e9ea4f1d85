"""Asks the driver's own libraries, in a child process: NVML (through nvidia-ml-py), then, when NVML cannot
answer, the CUDA driver API (libcuda through ctypes). Prints one JSON object.

A child, because a broken driver can hang or crash inside these libraries; the parent bounds it with a
timeout and reports what happened. The child pops CUDA_VISIBLE_DEVICES before cuInit: an empty or invalid
value makes cuInit report no device, and the physical view is what the driver facts are about.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

COMPUTE_MODES = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}
ARCHITECTURES = {2: "Kepler", 3: "Maxwell", 4: "Pascal", 5: "Volta", 6: "Turing", 7: "Ampere", 8: "Ada",
                 9: "Hopper", 10: "Blackwell", 11: "Orin"}


def nvml() -> dict:
    try:
        import pynvml
    except ImportError as exc:
        return {"status": "unknown", "reason": f"nvidia-ml-py is not importable: {exc}"}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return {"status": "error", "error": _nvml_error_name(exc), "reason": str(exc)}
    try:
        result = {
            "status": "ok",
            "driver_version": pynvml.nvmlSystemGetDriverVersion(),
            "cuda_driver_version": _cuda_version(pynvml.nvmlSystemGetCudaDriverVersion_v2()),
            "nvml_version": _optional(pynvml.nvmlSystemGetNVMLVersion),
            "gpus": [_nvml_gpu(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())],
        }
    except pynvml.NVMLError as exc:
        result = {"status": "error", "error": _nvml_error_name(exc), "reason": str(exc)}
    finally:
        _optional(pynvml.nvmlShutdown)
    return result


def _nvml_error_name(exc: Exception) -> str:
    name = type(exc).__name__
    return name.removeprefix("NVMLError_") if name != "NVMLError" else f"code {getattr(exc, 'value', '?')}"


def _optional(call, *args):
    import pynvml

    try:
        return call(*args)
    except pynvml.NVMLError:
        return None


def _nvml_gpu(pynvml, index: int) -> dict:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    cc = _optional(pynvml.nvmlDeviceGetCudaComputeCapability, handle)
    memory = _optional(pynvml.nvmlDeviceGetMemoryInfo, handle)
    pci = _optional(pynvml.nvmlDeviceGetPciInfo, handle)
    mig = _optional(pynvml.nvmlDeviceGetMigMode, handle)
    mode = _optional(pynvml.nvmlDeviceGetComputeMode, handle)
    arch = _optional(pynvml.nvmlDeviceGetArchitecture, handle)
    bus = getattr(pci, "busId", None) if pci is not None else None
    return {
        "index": index,
        "name": pynvml.nvmlDeviceGetName(handle),
        "source": "nvml",
        "uuid": _optional(pynvml.nvmlDeviceGetUUID, handle),
        "pci_bus_id": bus.decode() if isinstance(bus, bytes) else bus,
        "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
        "memory_total_mib": int(memory.total // (1024 * 1024)) if memory is not None else None,
        "architecture": ARCHITECTURES.get(arch) if arch is not None else None,
        "mig_mode": ("enabled" if mig[0] else "disabled") if mig else None,
        "compute_mode": COMPUTE_MODES.get(mode) if mode is not None else None,
    }


def _cuda_version(value: int | None) -> str | None:
    if not value:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


CUDA_LIBRARIES = ("libcuda.so.1", "libcuda.so", "/usr/lib64/nvidia/libcuda.so.1",
                  "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "/usr/lib/wsl/lib/libcuda.so.1")
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75
CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76


def cuda_driver_api() -> dict:
    lib, path, errors = None, None, []
    for candidate in CUDA_LIBRARIES:
        try:
            lib, path = ctypes.CDLL(candidate), candidate
            break
        except OSError as exc:
            errors.append(str(exc))
    if lib is None:
        return {"status": "absent", "reason": "libcuda.so.1 not found: " + (errors[0] if errors else "")}
    result = {"library": path}
    code = lib.cuInit(0)
    if code != 0:
        return {**result, "status": "error", "error": _cu_error(lib, code), "reason": f"cuInit(0) returned {code}"}
    version = ctypes.c_int()
    if lib.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return {**result, "status": "error", "reason": "cuDriverGetVersion failed"}
    count = ctypes.c_int()
    code = lib.cuDeviceGetCount(ctypes.byref(count))
    if code != 0:
        return {**result, "status": "error", "error": _cu_error(lib, code), "reason": "cuDeviceGetCount failed"}
    ccs = []
    for ordinal in range(count.value):
        device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        lib.cuDeviceGet(ctypes.byref(device), ordinal)
        lib.cuDeviceGetAttribute(ctypes.byref(major), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device)
        lib.cuDeviceGetAttribute(ctypes.byref(minor), CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device)
        ccs.append(f"{major.value}.{minor.value}")
    return {**result, "status": "ok", "cuda_driver_version": _cuda_version(version.value),
            "device_count": count.value, "compute_capabilities": ccs}


def _cu_error(lib, code: int) -> str:
    name = ctypes.c_char_p()
    try:
        if lib.cuGetErrorName(code, ctypes.byref(name)) == 0 and name.value:
            return name.value.decode()
    except AttributeError:
        pass
    return f"CUresult {code}"


def main() -> None:
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    out = {"nvml": nvml()}
    if out["nvml"]["status"] != "ok" or "--with-cuda" in sys.argv:
        out["cuda_driver_api"] = cuda_driver_api()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
