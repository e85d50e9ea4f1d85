"""Asks the driver's own libraries, in a child process: NVML (through nvidia-ml-py), then, when NVML cannot
answer (or CUDA's device order is needed), the CUDA driver API (libcuda through ctypes).

Prints JSON lines, flushed one by one: `{"stage": ...}` before each library is touched, then
`{"nvml": {...}}` and `{"cuda_driver_api": {...}}`. A broken driver can hang or crash inside these
libraries; the parent bounds the child with a timeout and still knows which stage never came back.

Standard library plus nvidia-ml-py (its folder is passed with --pynvml, so `python -I` can run this file).
The child pops CUDA_VISIBLE_DEVICES before cuInit: an empty or invalid value makes cuInit report no device,
and the physical view is what the driver facts are about.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys

COMPUTE_MODES = {0: "default", 1: "exclusive_thread", 2: "prohibited", 3: "exclusive_process"}
NVML_NOT_SUPPORTED = 3
LIBRARY_DIRS = ("/usr/lib/wsl/lib", "/usr/lib64/nvidia", "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/usr/lib64", "/usr/lib")


def emit(**record) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


# --- NVML -------------------------------------------------------------------------------------------


class NvmlCall:
    """Calls pynvml functions, turning an NVMLError into a plain record of which call failed and how."""

    def __init__(self, pynvml) -> None:
        self.pynvml = pynvml

    def __call__(self, name: str, *args):
        try:
            return getattr(self.pynvml, name)(*args), None
        except self.pynvml.NVMLError as exc:
            return None, self.error(name, exc)
        except Exception as exc:  # e.g. a GPU name that is not UTF-8: one value lost, not the whole probe
            return None, {"error": type(exc).__name__, "code": None, "message": str(exc)[:200], "failed_call": name}

    def error(self, call: str, exc) -> dict:
        kind = type(exc).__name__.removeprefix("NVMLError_")
        if kind in ("NVMLError", "NVMLLibraryMismatchError"):
            kind = "FunctionNotFound" if kind == "NVMLLibraryMismatchError" else f"code {getattr(exc, 'value', '?')}"
        try:
            message = str(exc)
        except Exception:  # pynvml's __str__ itself calls into the library for unknown codes
            message = ""
        return {"error": kind, "code": getattr(exc, "value", None), "message": message, "failed_call": call}


def nvml(root: str) -> dict:
    try:
        import pynvml
    except ImportError as exc:
        return {"status": "unknown", "reason": f"nvidia-ml-py is not importable: {exc}"}
    call = NvmlCall(pynvml)
    library = None
    _, err = call("nvmlInit")
    if err and err["error"] == "LibraryNotFound":
        library = _preload_nvml(root)
        if library:
            _, err = call("nvmlInit")
    if err:
        return {"status": "error", "library": library, **err}
    try:
        return {"library": library, **_nvml_report(pynvml, call)}
    finally:
        call("nvmlShutdown")


def _preload_nvml(root: str) -> str | None:
    """Load libnvidia-ml.so.1 from a folder the loader does not search (WSL keeps it in /usr/lib/wsl/lib);
    pynvml's own dlopen by soname then finds the loaded copy."""
    for folder in LIBRARY_DIRS:
        path = os.path.join(root, folder.lstrip("/"), "libnvidia-ml.so.1")
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                return path
            except OSError:
                continue
    return None


def _nvml_report(pynvml, call: NvmlCall) -> dict:
    count, err = call("nvmlDeviceGetCount")
    if err:
        return {"status": "error", **err}
    cuda, cuda_err = call("nvmlSystemGetCudaDriverVersion_v2")
    if cuda_err:
        cuda, _ = call("nvmlSystemGetCudaDriverVersion")
    driver, driver_err = call("nvmlSystemGetDriverVersion")
    report = {
        "status": "ok",
        "driver_version": driver,
        "cuda_driver_version": _cuda_version(cuda),
        "nvml_version": call("nvmlSystemGetNVMLVersion")[0],
        "gpus": [],
        "device_errors": [{"gpu": None, **driver_err}] if driver_err else [],
    }
    for index in range(count):
        gpu, errors = _nvml_gpu(pynvml, call, index)
        if gpu:
            report["gpus"].append(gpu)
        report["device_errors"] += errors
    broken = [e for e in report["device_errors"] if e["error"] in ("GpuIsLost", "ResetRequired")]
    if broken:
        report.update(status="error", **broken[0])
    return report


def _nvml_gpu(pynvml, call: NvmlCall, index: int) -> tuple[dict | None, list[dict]]:
    handle, err = call("nvmlDeviceGetHandleByIndex", index)
    if err is None:
        name, err = call("nvmlDeviceGetName", handle)
    if err:
        return None, [{"gpu": index, **err}]
    errors: list[dict] = []

    def optional(fn: str, *args):
        value, e = call(fn, handle, *args)
        if e and e["code"] != NVML_NOT_SUPPORTED:
            errors.append({"gpu": index, **e})
        return value

    cc = optional("nvmlDeviceGetCudaComputeCapability")
    memory = optional("nvmlDeviceGetMemoryInfo")
    pci = optional("nvmlDeviceGetPciInfo")
    mig = optional("nvmlDeviceGetMigMode")
    mode = optional("nvmlDeviceGetComputeMode")
    arch = optional("nvmlDeviceGetArchitecture")
    bus = getattr(pci, "busId", None) if pci is not None else None
    gpu = {
        "index": index,
        "name": name,
        "source": "nvml",
        "uuid": optional("nvmlDeviceGetUUID"),
        "pci_bus_id": bus.decode() if isinstance(bus, bytes) else bus,
        "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
        "memory_total_mib": int(memory.total // (1024 * 1024)) if memory is not None else None,
        "architecture": _architecture(pynvml, arch),
        "mig_mode": ("enabled" if mig[0] else "disabled") if mig else None,
        "compute_mode": COMPUTE_MODES.get(mode) if mode is not None else None,
        "mig_devices": _mig_devices(call, handle) if mig and mig[0] else [],
    }
    return gpu, errors


def _architecture(pynvml, value) -> str | None:
    """NVML's architecture number as its name, from the constants of the installed nvidia-ml-py."""
    if value is None:
        return None
    for name, constant in vars(pynvml).items():
        if name.startswith("NVML_DEVICE_ARCH_") and constant == value and name != "NVML_DEVICE_ARCH_UNKNOWN":
            return name.removeprefix("NVML_DEVICE_ARCH_").capitalize()
    return None


def _mig_devices(call: NvmlCall, handle) -> list[str]:
    slots, err = call("nvmlDeviceGetMaxMigDeviceCount", handle)
    uuids = []
    for slot in range(slots or 0):
        mig, err = call("nvmlDeviceGetMigDeviceHandleByIndex", handle, slot)
        if err is None:
            uuid, err = call("nvmlDeviceGetUUID", mig)
            if uuid:
                uuids.append(uuid)
    return uuids


def _cuda_version(value: int | None) -> str | None:
    if not value:
        return None
    return f"{value // 1000}.{(value % 1000) // 10}"


# --- CUDA driver API ---------------------------------------------------------------------------------

CU_ATTRIBUTE_CC_MAJOR = 75
CU_ATTRIBUTE_CC_MINOR = 76


def load_libcuda(root: str):
    errors = []
    for candidate in ["libcuda.so.1"] + [os.path.join(root, d.lstrip("/"), "libcuda.so.1") for d in LIBRARY_DIRS]:
        if "/" in candidate and not os.path.exists(candidate):
            continue
        try:
            return ctypes.CDLL(candidate), candidate
        except OSError as exc:
            errors.append(str(exc))
    return None, errors[0] if errors else "libcuda.so.1 not found"


def cuda_driver_api(root: str) -> dict:
    lib, path = load_libcuda(root)
    if lib is None:
        return {"status": "absent", "reason": f"libcuda.so.1 could not be loaded: {path}"}
    _declare(lib)
    version = ctypes.c_int()
    # cuDriverGetVersion answers before cuInit, so a failing cuInit still tells the driver's CUDA version
    known = _cuda_version(version.value) if lib.cuDriverGetVersion(ctypes.byref(version)) == 0 else None
    result = {"library": path, "cuda_driver_version": known}
    code = lib.cuInit(0)
    if code != 0:
        return {**result, **_cu_failure(lib, "cuInit", code)}
    count = ctypes.c_int()
    code = lib.cuDeviceGetCount(ctypes.byref(count))
    if code != 0:
        return {**result, **_cu_failure(lib, "cuDeviceGetCount", code)}
    devices = [_cu_device(lib, ordinal) for ordinal in range(count.value)]
    return {**result, "status": "ok", "device_count": count.value, "devices": devices,
            "compute_capabilities": [d["compute_capability"] for d in devices]}


def _declare(lib) -> None:
    c_int_p = ctypes.POINTER(ctypes.c_int)
    signatures = {
        "cuInit": [ctypes.c_uint],
        "cuDriverGetVersion": [c_int_p],
        "cuDeviceGetCount": [c_int_p],
        "cuDeviceGet": [c_int_p, ctypes.c_int],
        "cuDeviceGetAttribute": [c_int_p, ctypes.c_int, ctypes.c_int],
        "cuGetErrorName": [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)],
    }
    for name, argtypes in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = argtypes, ctypes.c_int


def _cu_device(lib, ordinal: int) -> dict:
    device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    lib.cuDeviceGet(ctypes.byref(device), ordinal)
    lib.cuDeviceGetAttribute(ctypes.byref(major), CU_ATTRIBUTE_CC_MAJOR, device)
    lib.cuDeviceGetAttribute(ctypes.byref(minor), CU_ATTRIBUTE_CC_MINOR, device)
    return {
        "index": ordinal,
        "name": _cu_string(lib, "cuDeviceGetName", device) or f"CUDA device {ordinal}",
        "source": "cuda driver api",
        "uuid": _cu_uuid(lib, device),
        "pci_bus_id": _cu_string(lib, "cuDeviceGetPCIBusId", device),
        "compute_capability": f"{major.value}.{minor.value}",
        "memory_total_mib": _cu_memory(lib, device),
    }


def _cu_string(lib, name: str, device) -> str | None:
    function = getattr(lib, name, None)
    if function is None:
        return None
    buffer = ctypes.create_string_buffer(256)
    if function(buffer, ctypes.c_int(len(buffer)), device) != 0:
        return None
    return buffer.value.decode(errors="replace")


def _cu_uuid(lib, device) -> str | None:
    function = getattr(lib, "cuDeviceGetUuid_v2", None) or getattr(lib, "cuDeviceGetUuid", None)
    raw = ctypes.create_string_buffer(16)
    if function is None or function(raw, device) != 0:
        return None
    h = raw.raw.hex()
    return f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _cu_memory(lib, device) -> int | None:
    function = getattr(lib, "cuDeviceTotalMem_v2", None)
    total = ctypes.c_size_t()
    if function is None or function(ctypes.byref(total), device) != 0:
        return None
    return total.value // (1024 * 1024)


def _cu_failure(lib, call: str, code: int) -> dict:
    name = ctypes.c_char_p()
    error = f"CUresult {code}"
    if lib.cuGetErrorName(code, ctypes.byref(name)) == 0 and name.value:
        error = name.value.decode(errors="replace")
    return {"status": "error", "error": error, "failed_call": call, "reason": f"{call} returned {code} ({error})"}


# --- main ----------------------------------------------------------------------------------------------


def needs_cuda_api(report: dict, env: dict[str, str]) -> bool:
    """Whether NVML's answer needs the CUDA driver API's: NVML failed; or an old driver's NVML gave no
    compute capability; or CUDA's device order matters. CUDA numbers GPUs fastest first unless
    CUDA_DEVICE_ORDER=PCI_BUS_ID, NVML by PCI bus: the orders can only differ on a box with different GPU
    models, and only matter when CUDA_VISIBLE_DEVICES uses indices."""
    if report["status"] != "ok" and not report.get("gpus"):
        return True
    gpus = report.get("gpus", [])
    if any(g["compute_capability"] is None for g in gpus):
        return True
    visible = env.get("CUDA_VISIBLE_DEVICES") or ""
    uses_indices = any(t.strip().isdigit() for t in visible.split(","))
    return uses_indices and len({g["name"] for g in gpus}) > 1 and env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID"


def main(argv: list[str]) -> None:
    root = argv[argv.index("--root") + 1] if "--root" in argv else "/"
    if "--pynvml" in argv:
        sys.path.insert(0, argv[argv.index("--pynvml") + 1])
    env = dict(os.environ)
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    emit(stage="nvml")
    report = nvml(root)
    emit(nvml=report)
    if needs_cuda_api(report, env):
        emit(stage="cuda")
        emit(cuda_driver_api=cuda_driver_api(root))


if __name__ == "__main__":
    main(sys.argv[1:])
