"""Imports torch in the *diagnosed* interpreter and prints what it knows about itself, as JSON lines.

Runs in its own process: an import that segfaults, hangs or raises "undefined symbol" becomes a fact in
the parent. Each stage announces itself (`{"stage": ...}`) and prints its facts as soon as it has them, all
flushed, so a crash in CUDA initialisation still leaves the build facts behind. Standard library only
besides torch itself; started without -I so that PYTHONPATH and the user site count, as for the user.
"""

import json
import os
import sys
import time
import warnings

LIBRARIES = ("libcudart", "libcudnn", "libnccl", "libcublas", "libnvrtc", "libnvJitLink", "libcuda.so",
             "libtorch_cuda", "libstdc++", "libamdhip64")


def emit(**record):
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _record_warnings():
    """Record user-facing warnings; deprecation chatter inside torch is not a fact about the machine."""
    warnings.simplefilter("always")
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=PendingDeprecationWarning)


def _messages(caught):
    return [f"{w.category.__name__}: {str(w.message).strip()}" for w in caught]


def build_facts(torch):
    arch_flags = getattr(torch._C, "_cuda_getArchFlags", None)  # get_arch_list() answers [] without a GPU
    return {
        "version": torch.__version__,
        "cuda": torch.version.cuda,
        "hip": getattr(torch.version, "hip", None),
        "git_version": getattr(torch.version, "git_version", None),
        "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI),
        "arch_list": (arch_flags() or "").split() if arch_flags else [],
        "location": os.path.dirname(torch.__file__),
    }


def _try(call, problems, what):
    try:
        return call()
    except Exception as exc:  # each is reported as a warning fact, never a crash of the probe
        problems.append(f"{what} raised {type(exc).__name__}: {exc}")
        return None


def cuda_facts(torch):
    problems = []
    with warnings.catch_warnings(record=True) as caught:
        _record_warnings()
        available = _try(torch.cuda.is_available, problems, "torch.cuda.is_available()")
        count = _try(torch.cuda.device_count, problems, "torch.cuda.device_count()") if available else 0
        devices = [_device(torch, i, problems) for i in range(count or 0)]
    return {
        "cuda_available": available,
        "device_count": count,
        "devices": [d for d in devices if d],
        "warnings": _messages(caught) + problems,
    }


def _device(torch, index, problems):
    props = _try(lambda: torch.cuda.get_device_properties(index), problems, f"get_device_properties({index})")
    if props is None:
        return None
    return {
        "index": index,
        "name": props.name,
        "source": "torch",
        "compute_capability": f"{props.major}.{props.minor}",
        "memory_total_mib": int(props.total_memory // (1024 * 1024)),
    }


def library_facts(torch):
    problems = []
    out = {
        "cudnn": _try(torch.backends.cudnn.version, problems, "torch.backends.cudnn.version()"),
        "nccl": None,
        "cuda_home": None,
    }
    if torch.version.cuda:
        nccl = _try(torch.cuda.nccl.version, problems, "torch.cuda.nccl.version()")
        out["nccl"] = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else (str(nccl) if nccl else None)
        # torch leaves CUDA_HOME None on builds without CUDA, so the (slow) import is only needed here
        out["cuda_home"] = _try(_cuda_home, problems, "torch.utils.cpp_extension")
    out["loaded_libraries"] = loaded_libraries()
    out["problems"] = problems
    return out


def _cuda_home():
    from torch.utils import cpp_extension

    return cpp_extension.CUDA_HOME


def loaded_libraries():
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip() if line.count(" ") >= 5 else ""
                if path.startswith("/") and any(w in path for w in LIBRARIES):
                    found.add(path)
    except OSError:
        pass
    return sorted(found)


def main():
    start = time.monotonic()
    emit(stage="import")
    with warnings.catch_warnings(record=True) as caught:
        _record_warnings()
        import torch
    emit(build=build_facts(torch), import_warnings=_messages(caught))
    emit(stage="cuda")
    emit(cuda=cuda_facts(torch))
    emit(stage="report")
    emit(libraries=library_facts(torch), elapsed_s=round(time.monotonic() - start, 3))


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # ftdoctor's probe folder is no part of the diagnosed environment
    main()
