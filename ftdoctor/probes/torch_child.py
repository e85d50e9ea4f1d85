"""Imports torch in the *diagnosed* interpreter and prints what it knows about itself as JSON.

Runs in its own process: an import that segfaults, hangs or prints "undefined symbol" becomes a fact in
the parent. Standard library only besides torch itself.
"""

import json
import sys
import time
import warnings


def _loaded_libraries():
    wanted = ("libcudart", "libcudnn", "libnccl", "libcublas", "libnvrtc", "libnvJitLink", "libcuda.so", "libtorch_cuda")
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip() if line.count(" ") >= 5 else ""
                if path.startswith("/") and any(w in path for w in wanted):
                    found.add(path)
    except OSError:
        pass
    return sorted(found)


def collect():
    start = time.monotonic()
    import torch

    out = {
        "status": "ok",
        "source": "subprocess",
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "hip": getattr(torch.version, "hip", None),
        "git_version": getattr(torch.version, "git_version", None),
        "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),
    }
    try:
        out["cudnn"] = torch.backends.cudnn.version()
    except Exception:
        out["cudnn"] = None
    try:
        nccl = torch.cuda.nccl.version()
        out["nccl"] = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl)
    except Exception:
        out["nccl"] = None
    try:
        out["arch_list"] = list(torch.cuda.get_arch_list())
    except Exception:
        out["arch_list"] = []
    try:
        from torch.utils import cpp_extension

        out["cuda_home"] = cpp_extension.CUDA_HOME
    except Exception:
        out["cuda_home"] = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
        count = torch.cuda.device_count() if available else 0
        devices = []
        for i in range(count):
            props = torch.cuda.get_device_properties(i)
            devices.append(
                {
                    "index": i,
                    "name": props.name,
                    "source": "torch",
                    "compute_capability": f"{props.major}.{props.minor}",
                    "memory_total_mib": int(props.total_memory // (1024 * 1024)),
                }
            )
    out["cuda_available"] = available
    out["device_count"] = count
    out["devices"] = devices
    out["warnings"] = [str(w.message).strip() for w in caught]
    out["loaded_libraries"] = _loaded_libraries()
    out["elapsed_s"] = round(time.monotonic() - start, 3)
    return out


if __name__ == "__main__":
    json.dump(collect(), sys.stdout)
