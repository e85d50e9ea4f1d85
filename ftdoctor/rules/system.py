"""SYS5xx: the system libraries under the wheels: CUDA libraries shadowed by other copies, glibc and
libstdc++ older than the installed wheels need, shared memory for multi-process training, WSL's driver layout."""

from __future__ import annotations

import os
import re

from packaging.version import Version

from ftdoctor.facts.model import Facts, Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.platforms import WheelNeeds
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import parse_version, torch_build
from ftdoctor.rules.torch_choice import torch_install_fix

# A CUDA library torch loads -> the stem of the pip wheel that ships it (`-cu12`, `-cu13` or no suffix follows).
CUDA_LIBRARY_WHEELS = {
    "libcudart": "nvidia-cuda-runtime",
    "libcudnn": "nvidia-cudnn",
    "libcublas": "nvidia-cublas",
    "libcublasLt": "nvidia-cublas",
    "libnccl": "nvidia-nccl",
    "libnvJitLink": "nvidia-nvjitlink",
    "libnvrtc": "nvidia-cuda-nvrtc",
}
_LIBRARY = re.compile(r"^(lib[A-Za-z]+?)(_\w+)?\.so")
WSL_LIBRARIES = "/usr/lib/wsl/"


def _wheel_for(facts: Facts, library: str) -> str | None:
    """The installed pip wheel that ships this library ('libcudnn_ops.so.9' -> nvidia-cudnn-cu12), if any."""
    match = _LIBRARY.match(os.path.basename(library))
    stem = CUDA_LIBRARY_WHEELS.get(match.group(1)) if match else None
    if stem is None:
        return None
    return next((d.name for d in facts.python.distributions if d.name == stem or d.name.startswith(stem + "-cu")), None)


def _from_environment(path: str) -> bool:
    return "/site-packages/" in path or "/dist-packages/" in path


class CudaLibrariesFromWheels(Rule):
    """The CUDA libraries torch loads are the ones its pip wheels installed, not other copies.

    torch pins exact nvidia-* wheels (cuDNN, cuBLAS, NCCL, ...). A directory in LD_LIBRARY_PATH, or a system
    copy loaded first, can put another version in their place: undefined symbols, CUDNN_STATUS errors, or
    silently different numerics.
    """

    code = "SYS500"
    family = "system"
    severity = Severity.WARNING
    requires = frozenset({"TOR301"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        t = ctx.facts.torch
        if t.status != Status.OK or not t.cuda:
            return NotApplicable("torch was not imported" if t.status != Status.OK else "torch is not a CUDA build")
        shadowed = {lib: wheel for lib in t.loaded_libraries if not _from_environment(lib)
                    and (wheel := _wheel_for(ctx.facts, lib))}
        if not shadowed:
            return Pass(f"{len(t.loaded_libraries)} CUDA libraries loaded, none shadowing a pip wheel's copy")
        ld_path = ctx.facts.env.get("LD_LIBRARY_PATH", "")
        culprits = [d for d in ld_path.split(":") if d and any(lib.startswith(d.rstrip("/") + "/") for lib in shadowed)]
        evidence = {"shadowed": shadowed, "LD_LIBRARY_PATH": ld_path or None, "LD_PRELOAD": ctx.facts.env.get("LD_PRELOAD")}
        return Fail(
            "torch loaded " + "; ".join(f"{lib} instead of the {wheel} wheel's copy" for lib, wheel in shadowed.items())
            + (f" (through LD_LIBRARY_PATH: {', '.join(culprits)})" if culprits else ""),
            evidence,
            fixes=(_ld_fix(ld_path, culprits),),
        )


def _ld_fix(ld_path: str, culprits: list[str]) -> Fix:
    if culprits:
        kept = ":".join(d for d in ld_path.split(":") if d and d not in culprits)
        command = f"export LD_LIBRARY_PATH={kept}" if kept else "unset LD_LIBRARY_PATH"
        return Fix("Take the CUDA directories out of LD_LIBRARY_PATH for training (torch finds its own libraries)",
                   (command,))
    return Fix("A system copy was loaded first (LD_PRELOAD, or an ld.so.conf entry): find which and remove it",
               ("echo $LD_PRELOAD", "ldconfig -p | grep -E 'libcudnn|libcublas|libnccl|libcudart'"))


def _wheel_floors(ctx: Context) -> list[tuple[str, object]]:
    """(distribution, WheelNeeds) for every installed wheel whose tags promise a glibc floor: the lowest
    floor among a wheel's tags, since any one of them made it installable."""
    found = []
    for dist in ctx.facts.python.distributions:
        needs = [n for tag in dist.wheel_tags if (n := ctx.matrix.platform.wheel_needs(tag))]
        if needs:
            found.append((f"{dist.name} {dist.version}", min(needs, key=lambda n: n.glibc)))
    return found


class GlibcFloor(Rule):
    """The system's glibc is at least what every installed wheel's manylinux tag requires.

    torch ≥ 2.7 wheels are manylinux_2_28 (glibc 2.28): CentOS 7 / RHEL 7 (glibc 2.17) cannot import them
    ("version `GLIBC_2.28' not found"). A virtual environment built on a newer machine and copied or
    shared over NFS carries such wheels past pip's check.
    """

    code = "SYS501"
    family = "system"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if ctx.facts.system.os and ctx.facts.system.os != "Linux":
            return NotApplicable(f"not Linux ({ctx.facts.system.os})")
        glibc = parse_version(ctx.facts.system.glibc_version)
        if glibc is None:
            return Unknown("the system's glibc version is unknown (not glibc, or not read)")
        floors = _wheel_floors(ctx) + _torch_floor(ctx)
        too_new = sorted(((name, n) for name, n in floors if n.glibc > glibc), key=lambda f: f[1].glibc, reverse=True)
        if not too_new:
            top = max((n.glibc for _, n in floors), default=None)
            return Pass(f"glibc {glibc}; the newest floor among {len(floors)} wheels is {top or 'none'}")
        named = ", ".join(f"{name} ({n.tag}: glibc ≥ {n.glibc})" for name, n in too_new[:3])
        more = f" and {len(too_new) - 3} more" if len(too_new) > 3 else ""
        return Fail(
            f"glibc {glibc} is older than installed wheels need: {named}{more}; importing them fails with "
            f"\"version `GLIBC_{too_new[0][1].glibc}' not found\"",
            {"glibc": str(glibc), "wheels": {name: n.tag for name, n in too_new}},
            fixes=_glibc_fixes(ctx, glibc, too_new),
        )


def _torch_floor(ctx: Context) -> list:
    """torch's floor from the matrix when its metadata has no wheel tags (installed by conda or from a file)."""
    dist = ctx.facts.distribution("torch")
    build = torch_build(ctx.facts, ctx.matrix)
    if dist is None or dist.wheel_tags or build is None or build.release is None:
        return []
    release = build.release
    return [(f"torch {dist.version}", WheelNeeds(f"torch {release.series} (matrix)", Version(release.glibc_min), None))]


def _glibc_fixes(ctx: Context, glibc: Version, too_new) -> tuple[Fix, ...]:
    fixes = []
    if any(name.startswith("torch ") for name, _ in too_new):
        if fix := torch_install_fix(ctx, f"Install the newest torch build for glibc {glibc}"):
            fixes.append(fix)
    fixes.append(Fix("Or run on a newer system: a container with a recent distribution (glibc ≥ "
                     f"{max(n.glibc for _, n in too_new)}) keeps the host as it is"))
    return tuple(fixes)


_GLIBCXX_MISSING = re.compile(r"GLIBCXX_([\d.]+)' not found")


class LibstdcxxFloor(Rule):
    """The libstdc++ loaded first is new enough for the installed C++ wheels.

    A manylinux_2_28 wheel may use GLIBCXX symbols up to 3.4.24. An old libstdc++ found first (an old conda
    environment's lib/, an old GCC in LD_LIBRARY_PATH) makes such imports fail with "GLIBCXX_3.4.x not found".
    """

    code = "SYS502"
    family = "system"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        s = ctx.facts.system
        missing = _GLIBCXX_MISSING.search(ctx.facts.torch.reason or "")
        if missing:
            return self._import_error(ctx, missing.group(1))
        have = parse_version(s.glibcxx_max)
        if s.libstdcxx_path is None:
            return NotApplicable("no libstdc++ found where the dynamic loader looks")
        if have is None:
            return Unknown(f"the GLIBCXX versions of {s.libstdcxx_path} could not be read")
        glibc = parse_version(s.glibc_version)
        # wheels whose glibc floor already fails are SYS501's: they cannot load whatever the libstdc++
        needs = [(name, n) for name, n in _wheel_floors(ctx)
                 if n.glibcxx_max and n.glibcxx_max > have and (glibc is None or n.glibc <= glibc)]
        if not needs:
            return Pass(f"{s.libstdcxx_path} provides GLIBCXX up to {have}")
        top = max(n.glibcxx_max for _, n in needs)
        return Fail(
            f"the libstdc++ loaded first ({s.libstdcxx_path}) stops at GLIBCXX_{have}, but "
            + ", ".join(f"{name} ({n.tag})" for name, n in needs[:3]) + (f" and {len(needs) - 3} more" if len(needs) > 3 else "")
            + f" may need up to GLIBCXX_{top}: an import can fail with 'GLIBCXX_{top} not found'",
            {"libstdcxx": s.libstdcxx_path, "glibcxx_max": s.glibcxx_max, "wheels": [name for name, _ in needs]},
            fixes=_libstdcxx_fixes(ctx),
        )

    def _import_error(self, ctx: Context, wanted: str) -> Fail:
        s = ctx.facts.system
        return Fail(
            f"importing torch needs GLIBCXX_{wanted}, which the libstdc++ loaded first "
            f"({s.libstdcxx_path or 'unknown path'}, up to GLIBCXX_{s.glibcxx_max or '?'}) lacks",
            {"libstdcxx": s.libstdcxx_path, "glibcxx_max": s.glibcxx_max, "torch_error": ctx.facts.torch.reason},
            fixes=_libstdcxx_fixes(ctx),
            severity=Severity.ERROR,
        )


def _libstdcxx_fixes(ctx: Context) -> tuple[Fix, ...]:
    path = ctx.facts.system.libstdcxx_path or ""
    folder = os.path.dirname(path)
    ld_path = ctx.facts.env.get("LD_LIBRARY_PATH", "")
    fixes = []
    if folder and folder in ld_path.split(":"):
        kept = ":".join(d for d in ld_path.split(":") if d and d != folder)
        fixes.append(Fix(f"Take {folder} out of LD_LIBRARY_PATH so the system's newer libstdc++ is used",
                         (f"export LD_LIBRARY_PATH={kept}" if kept else "unset LD_LIBRARY_PATH",)))
    if ctx.facts.env.get("CONDA_PREFIX") and folder.startswith(ctx.facts.env["CONDA_PREFIX"]):
        fixes.append(Fix("Update the conda environment's C++ runtime", ("conda install -c conda-forge libstdcxx-ng",)))
    fixes.append(Fix("Check which GLIBCXX versions the loaded libstdc++ has",
                     (f"strings {path or '/usr/lib/x86_64-linux-gnu/libstdc++.so.6'} | grep '^GLIBCXX_' | sort -V | tail -3",)))
    return tuple(fixes)


class SharedMemory(Rule):
    """/dev/shm is large enough for DataLoader workers and NCCL.

    Docker gives containers 64 MB of /dev/shm by default: DataLoader workers (num_workers > 0) die with
    "bus error" or "unable to write to file </torch_…>", and NCCL falls back or fails between local GPUs.
    """

    code = "SYS503"
    family = "system"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        s = ctx.facts.system
        if s.os and s.os != "Linux":
            return NotApplicable(f"not Linux ({s.os})")
        if s.shm_bytes is None:
            return Unknown("the size of /dev/shm could not be read")
        want = ctx.matrix.platform.shared_memory
        if s.shm_bytes >= want.min_bytes:
            return Pass(f"/dev/shm is {_mib(s.shm_bytes)}")
        return Fail(
            f"/dev/shm is only {_mib(s.shm_bytes)} (below {_mib(want.min_bytes)}): DataLoader workers die with "
            "'bus error', and NCCL between local GPUs can fail",
            {"shm_bytes": s.shm_bytes, "container": list(s.container)},
            fixes=(
                Fix("Give the container more shared memory",
                    (f"docker run --shm-size={want.recommended} ...   # or --ipc=host",
                     "kubernetes: mount an emptyDir with medium: Memory at /dev/shm")),
                Fix("Or load data in the main process: dataloader_num_workers=0 in the training arguments"),
            ),
        )


def _mib(size: int) -> str:
    return f"{size // (1024 * 1024)} MiB"


class WslDriverLibraries(Rule):
    """On WSL, CUDA goes through the Windows driver's libraries in /usr/lib/wsl/lib, not a Linux driver's.

    NVIDIA: "do not install any NVIDIA GPU Linux driver within WSL 2". A Linux driver's libcuda.so, found first,
    shadows the WSL one and CUDA fails to initialise.
    """

    code = "SYS504"
    family = "system"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        if not ctx.facts.system.wsl:
            return NotApplicable("not WSL")
        libcuda = [lib for lib in ctx.facts.torch.loaded_libraries if os.path.basename(lib).startswith("libcuda.so")]
        if not libcuda and ctx.facts.driver.cuda_driver_api.library:
            libcuda = [ctx.facts.driver.cuda_driver_api.library]
        if not libcuda:
            return Unknown("which libcuda is loaded is unknown (torch not imported, CUDA driver API not asked)")
        foreign = [lib for lib in libcuda if not lib.startswith(WSL_LIBRARIES)]
        if not foreign:
            return Pass(f"libcuda from {WSL_LIBRARIES} (the Windows driver)")
        return Fail(
            f"on WSL, {', '.join(foreign)} was loaded instead of the Windows driver's {WSL_LIBRARIES}lib/libcuda.so.1: "
            "a Linux NVIDIA driver installed inside WSL shadows the real one",
            {"libcuda": foreign},
            fixes=(Fix("Remove the Linux driver's libraries from inside WSL (keep the Windows driver)",
                       ("dpkg -S libcuda.so.1", "sudo apt remove --purge 'libnvidia-compute-*' 'nvidia-driver-*'"),
                       "https://docs.nvidia.com/cuda/wsl-user-guide/"),),
        )


RULES = (CudaLibrariesFromWheels, GlibcFloor, LibstdcxxFloor, SharedMemory, WslDriverLibraries)
