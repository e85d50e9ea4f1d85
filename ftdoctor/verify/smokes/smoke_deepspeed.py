"""Smoke tests for DeepSpeed.

Without arguments ("deepspeed"): it imports, picks an accelerator, and has what its op builder needs to
compile ops at first use (ninja, Python headers, a host C++ compiler and, for CUDA ops, CUDA_HOME with an
nvcc whose major version matches torch's CUDA); which ops came precompiled, which are compatible here.

With `--build [OP ...]` ("deepspeed-ops", opt-in because slow): build and load those ops the way DeepSpeed
does at first use (a JIT compile with ninja into TORCH_EXTENSIONS_DIR, reused afterwards). Without op
names: the optimizer ops a ZeRO config needs here (cpu_adam for offload, plus fused_adam on CUDA).
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

COMMAND_TIMEOUT_S = 30


def main():
    version = protocol.installed("deepspeed")
    if version is None:
        protocol.result("skipped", "deepspeed is not installed")
    elif sys.argv[1:2] == ["--build"]:
        build_ops(version, sys.argv[2:])
    else:
        check(version)


def check(version):
    protocol.stage("import torch")
    import torch

    details = {"version": version, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
               "cuda_available": torch.cuda.is_available(), "ds_accelerator_env": os.environ.get("DS_ACCELERATOR")}
    details["prerequisites"] = prerequisites(torch)
    protocol.stage("import deepspeed")
    import deepspeed  # noqa: F401

    details.update(accelerator_facts())
    details["ops"] = op_compatibility()
    protocol.result("ok", f"deepspeed {version} imports; accelerator {details['accelerator']}", **details)


def prerequisites(torch):
    protocol.stage("op-build prerequisites")
    from torch.utils import cpp_extension

    cuda_home = cpp_extension.CUDA_HOME
    return {
        "ninja": {"ok": bool(cpp_extension.is_ninja_available()), "path": shutil.which("ninja")},
        "python_headers": _python_headers(),
        "compiler": _compiler(),
        "cuda_home": {"torch": cuda_home, "env": os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH")},
        "nvcc": _nvcc(cuda_home),
    }


def _python_headers():
    include = sysconfig.get_paths().get("include") or ""
    header = os.path.join(include, "Python.h")
    return {"ok": os.path.exists(header), "path": header}


def _compiler():
    name = os.environ.get("CXX") or "c++"
    path = shutil.which(name)
    if path is None:
        return {"ok": False, "name": name, "error": f"{name} not found on PATH"}
    text = _run([path, "-dumpfullversion", "-dumpversion"])
    return {"ok": text is not None, "name": name, "path": path, "version": (text or "").strip() or None}


def _nvcc(cuda_home):
    if not cuda_home:
        return {"ok": False, "error": "torch found no CUDA_HOME (a CPU-only torch never does)"}
    path = os.path.join(cuda_home, "bin", "nvcc")
    text = _run([path, "-V"])
    found = re.search(r"release (\d+\.\d+)", text or "")
    return {"ok": bool(found), "path": path, "version": found.group(1) if found else None}


def _run(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None


def accelerator_facts():
    protocol.stage("deepspeed accelerator")
    from deepspeed.accelerator import get_accelerator

    accelerator = get_accelerator()
    out = {"accelerator": getattr(accelerator, "_name", type(accelerator).__name__),
           "communication_backend": accelerator.communication_backend_name()}
    try:
        from deepspeed import git_version_info as info
    except ImportError:
        return out
    out["installed_ops"] = sorted(name for name, built in getattr(info, "installed_ops", {}).items() if built)
    out["compiled_with"] = getattr(info, "torch_info", None)
    return out


def op_compatibility():
    """Each op's `is_compatible()`; for an incompatible one, the warnings its builder prints when asked again."""
    protocol.stage("deepspeed op compatibility")
    from deepspeed.ops.op_builder.all_ops import ALL_OPS

    ops = {}
    for name, builder in sorted(ALL_OPS.items()):
        try:
            compatible = bool(builder.is_compatible(verbose=False))
            ops[name] = {"compatible": compatible, "reason": None if compatible else _why_incompatible(builder)}
        except Exception as exc:  # noqa: BLE001 - a builder's own probe failing makes it incompatible here
            ops[name] = {"compatible": False, "reason": f"{type(exc).__name__}: {exc}"[:300]}
    return ops


def _why_incompatible(builder):
    import contextlib
    import io

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        builder.is_compatible(verbose=True)
    lines = [re.sub(r"\x1b\[[0-9;]*m|\[WARNING\]", "", line).strip() for line in printed.getvalue().splitlines()]
    return " ".join(line for line in lines if line)[:500] or None


def build_ops(version, wanted):
    protocol.stage("import deepspeed")
    from deepspeed.accelerator import get_accelerator
    from deepspeed.ops.op_builder.all_ops import ALL_OPS

    accelerator = getattr(get_accelerator(), "_name", "?")
    wanted = wanted or (["fused_adam", "cpu_adam"] if accelerator == "cuda" else ["cpu_adam"])
    details = {"version": version, "accelerator": accelerator, "extensions_dir": os.environ.get("TORCH_EXTENSIONS_DIR"),
               "ops": {name: build(ALL_OPS, name) for name in wanted}}
    bad = [name for name, op in details["ops"].items() if not op["ok"]]
    if bad:
        protocol.result("failed", "; ".join(f"{name}: {details['ops'][name]['error']}" for name in bad), **details)
    else:
        protocol.result("ok", f"built and loaded {', '.join(wanted)}", **details)


def build(all_ops, name):
    builder = all_ops.get(name)
    if builder is None:
        return {"ok": False, "error": f"DeepSpeed has no op {name!r} (known: {', '.join(sorted(all_ops))})"}
    protocol.stage(f"build and load {name}")
    if not builder.is_compatible(verbose=False):
        return {"ok": False, "compatible": False, "error": f"{name} cannot be built here: {_why_incompatible(builder)}"}
    start = time.monotonic()
    try:
        builder.load(verbose=False)
    except BaseException as exc:  # noqa: BLE001 - a failed compile raises RuntimeError, a missing tool SystemExit
        return {"ok": False, "compatible": True, "elapsed_s": round(time.monotonic() - start, 1), **protocol.error(exc)}
    return {"ok": True, "compatible": True, "elapsed_s": round(time.monotonic() - start, 1)}


if __name__ == "__main__":
    protocol.run(main)
