"""What the driver libraries' error codes mean on a machine meant for fine-tuning, in words a fact can carry.

The names are nvidia-ml-py's error classes without the `NVMLError_` prefix, and the CUDA driver API's
`CUresult` names (from `cuGetErrorName`). Sources: the NVML API reference (nvmlReturn_t) and the CUDA driver
API reference (CUresult).
"""

from __future__ import annotations

NVML = {
    "LibraryNotFound": "libnvidia-ml.so.1 is not installed or not on the loader path: no NVIDIA driver userspace "
    "on this machine (or not mounted into this container)",
    "DriverNotLoaded": "the NVML library is installed but the nvidia kernel module is not loaded "
    "(driver not installed for this kernel, blocked by nouveau, or the module failed to load: see dmesg)",
    "LibRmVersionMismatch": "Driver/library version mismatch: the NVML library and the loaded kernel module come "
    "from different driver versions, typically after a driver upgrade without a reboot, or a container whose "
    "driver userspace differs from the host's module",
    "NoPermission": "no permission to use the GPU device nodes (/dev/nvidia*): check their group and mode, "
    "or the container's device mounts",
    "GpuIsLost": "a GPU fell off the bus and stopped answering (often Xid 79 in the kernel log): it needs a "
    "reset or the machine a reboot",
    "ResetRequired": "a GPU needs a reset (nvidia-smi --gpu-reset) or the machine a reboot before it can be used",
    "FunctionNotFound": "the driver's NVML lacks a function that nvidia-ml-py called: the driver is older than "
    "this API",
    "InsufficientPower": "a GPU's external power cables are not connected properly",
    "CorruptedInforom": "a GPU's infoROM is corrupted",
    "OperatingSystem": "the operating system blocked the request to the driver",
    "Uninitialized": "NVML was not initialised",
    "Timeout": "the driver did not answer in time",
    "IrqIssue": "the driver reported an interrupt problem with a GPU",
    "Memory": "the driver ran out of host memory",
    "Unknown": "the driver reported an unknown error",
}

CUDA = {
    "CUDA_ERROR_NO_DEVICE": "the CUDA driver sees no GPU (or CUDA_VISIBLE_DEVICES hides them all)",
    "CUDA_ERROR_INSUFFICIENT_DRIVER": "the installed kernel driver is older than the CUDA driver library (libcuda)",
    "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH": "libcuda and the kernel module come from different driver versions",
    "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE": "the forward-compatibility libcuda in use does not support this GPU",
    "CUDA_ERROR_SYSTEM_NOT_READY": "the system is not ready for CUDA (fabric manager not running on an NVSwitch box?)",
    "CUDA_ERROR_OPERATING_SYSTEM": "the operating system refused the CUDA driver's request",
    "CUDA_ERROR_NOT_INITIALIZED": "the CUDA driver was not initialised",
    "CUDA_ERROR_DEVICE_UNAVAILABLE": "a GPU is busy or unavailable (exclusive compute mode held by another process?)",
    "CUDA_ERROR_NOT_PERMITTED": "the CUDA driver refused the operation (permissions)",
    "CUDA_ERROR_UNKNOWN": "the CUDA driver reported an unknown error",
}


def nvml_reason(error: str, message: str, call: str) -> str:
    said = f"{call} failed with {error}" + (f" ({message})" if message else "")
    meaning = NVML.get(error)
    return f"{said}: {meaning}" if meaning else said


def cuda_reason(error: str, call: str) -> str:
    meaning = CUDA.get(error)
    return f"{call} returned {error}" + (f": {meaning}" if meaning else "")
