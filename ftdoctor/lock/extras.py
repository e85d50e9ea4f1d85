"""The optional packages a lock may add on top of torch and the HF stack: flash-attn, bitsandbytes, DeepSpeed.

Each chooser returns a Pin, or a RuledOut saying why nothing of that package fits this torch on this target.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftdoctor.lock.proposal import Pin
from ftdoctor.lock.target import Target
from ftdoctor.lock.torch_choice import RuledOut, TorchCandidate
from ftdoctor.matrix.compat import cubin_runs

EXTRAS = ("flash-attn", "bitsandbytes", "deepspeed")


def choose(name: str, matrix, target: Target, torch: TorchCandidate, stack: list[Pin], policy: str,
           only: SpecifierSet | None = None) -> Pin | RuledOut:
    """`only` narrows the versions tried (`fix` tries the installed version first)."""
    chooser = {"flash-attn": flash_attn, "bitsandbytes": bitsandbytes, "deepspeed": deepspeed}[name]
    floor = _floor_from_trl(name, stack)
    return chooser(matrix, target, torch, floor & only if only is not None else floor, policy)


def _floor_from_trl(name: str, stack: list[Pin]) -> SpecifierSet:
    """trl[deepspeed] / trl[quantization] say which versions of those trl works with."""
    spec = SpecifierSet()
    for pin in stack:
        for text in pin.requires:
            req = Requirement(text)
            if req.name == name and req.marker is not None:
                spec &= req.specifier
    return spec


def _ordered(rows: list, policy: str) -> list:
    """Newest first; `proven` tries the newest release last."""
    return rows[1:] + rows[:1] if policy == "proven" and len(rows) > 1 else rows


def flash_attn(matrix, target: Target, torch: TorchCandidate, floor: SpecifierSet, policy: str) -> Pin | RuledOut:
    fa = matrix.flash_attn
    if target.cpu:
        return RuledOut("flash-attn", "it needs an NVIDIA GPU", "extra:flash-attn", "drop flash-attn")
    low = [g for g in target.gpus if Version(g.cc) < Version(fa.gpu.fa2_min_cc)]
    if low:
        return RuledOut("flash-attn", f"{low[0].name} (sm_{low[0].cc.replace('.', '')}) is below FlashAttention 2's "
                        f"floor, compute capability {fa.gpu.fa2_min_cc}", "extra:flash-attn", "drop flash-attn (use attn_implementation='sdpa')")
    build = torch.build()
    rows = [r for r in fa.newest_first() if fa.python_ok(r, target.python) and floor.contains(r.version, prereleases=True)]
    for release in _prebuilt_order(rows, policy):
        wheel = release.build_for(torch.version, build.cuda, build.cxx11_abi, target.python, target.platform)
        if wheel is not None and release.confidence == "confirmed" and _archs_ok(wheel.archs, target):
            name = release.wheel_filename(torch.version, build.cuda, build.cxx11_abi, target.python, target.platform)
            return Pin("flash-attn", release.version, variant=release.wheel_key(torch.version, build.cuda, build.cxx11_abi),
                       url=fa.url(release, name), requires=("torch", "einops"),
                       reasons=(f"flash-attn {release.version} publishes {name}: built with nvcc {wheel.nvcc} for sm "
                                f"{', '.join(wheel.archs)}, this torch's CUDA major and C++ ABI",))
    return _source_build(matrix, target, torch, rows)


def _prebuilt_order(rows: list, policy: str) -> list:
    return rows if policy == "newest" else sorted(rows, key=lambda r: (r.confidence == "confirmed", Version(r.version)), reverse=True)


def _archs_ok(archs, target: Target) -> bool:
    return all(cubin_runs(archs, cc) for cc in target.ccs)


def _source_build(matrix, target: Target, torch: TorchCandidate, rows: list) -> Pin | RuledOut:
    sb = matrix.flash_attn.source_build
    cxx = torch.release.cxx_std
    buildable = [r for r in rows if r.cxx_std >= cxx]
    if not buildable:
        return RuledOut("flash-attn", f"no prebuilt wheel for {torch.label} on Python {target.python}, and its source "
                        f"build passes -std=c++17 while torch {torch.release.series} needs C++{cxx}", "extra:flash-attn",
                        "an older torch with a prebuilt flash-attn wheel, or drop flash-attn")
    release = buildable[0]
    env = " ".join(f"{k}={v}" for k, v in sb.env.items())
    commands = (f"pip install {' '.join(p for p in sb.build_requires if p != 'torch')}",
                f"{env} pip install {' '.join(sb.pip_flags)} flash-attn=={release.version}")
    return Pin("flash-attn", release.version, variant="source build", requires=("torch", "einops"), build=commands,
               reasons=(f"no published flash-attn wheel fits {torch.label} on Python {target.python}: build "
                        f"{release.version} from source after torch is installed (nvcc >= {sb.min_nvcc} of CUDA "
                        f"{Version(torch.build().cuda).major}, ~{sb.memory_gib_per_job} GiB RAM per job; {sb.hours})",))


def bitsandbytes(matrix, target: Target, torch: TorchCandidate, floor: SpecifierSet, policy: str) -> Pin | RuledOut:
    bnb = matrix.bitsandbytes
    cuda = torch.build().cuda
    reasons = []
    for row in _ordered(bnb.newest_first(), policy):
        why = _bnb_unfit(bnb, row, target, torch, cuda, floor)
        if why is None:
            how = "its CPU ops" if cuda is None else f"libbitsandbytes_cuda{cuda.replace('.', '')}" + (
                "" if bnb.choose(row.version, cuda).how == "exact" else f" (falls back to {bnb.choose(row.version, cuda).library})")
            return Pin("bitsandbytes", row.version, requires=(f"torch{row.torch}",) if row.torch else (),
                       reasons=(f"bitsandbytes {row.version} fits {torch.label}: {how}",))
        reasons.append(f"{row.version}: {why}")
    return RuledOut("bitsandbytes", "; ".join(reasons[:3]), "extra:bitsandbytes", "drop bitsandbytes")


def _bnb_unfit(bnb, row, target: Target, torch: TorchCandidate, cuda: str | None, floor: SpecifierSet) -> str | None:
    if not floor.contains(row.version, prereleases=True):
        return f"trl needs bitsandbytes{floor}"
    if row.requires_python and not SpecifierSet(row.requires_python).contains(target.python):
        return f"needs Python {row.requires_python}"
    if row.torch and not SpecifierSet(row.torch).contains(torch.version):
        return f"needs torch{row.torch}"
    if cuda is None:
        return None if row.cpu_ops else "no CPU implementation of its ops"
    choice = bnb.choose(row.version, cuda)
    if choice.library is None:
        return f"ships no library for CUDA {cuda}"
    archs = row.archs_for(choice.library)
    if archs is not None and not _archs_ok(archs, target):
        return f"its CUDA {choice.library} library has no code for sm_{target.ccs[0].replace('.', '')}"
    floor_cc = bnb.floor("nf4_fp4", row.version)
    if floor_cc and any(Version(cc) < Version(floor_cc.min_cc) for cc in target.ccs):
        return f"4-bit needs compute capability {floor_cc.min_cc}"
    return None


def deepspeed(matrix, target: Target, torch: TorchCandidate, floor: SpecifierSet, policy: str) -> Pin | RuledOut:
    ds = matrix.deepspeed
    reasons = []
    for version in _ordered(sorted(ds.known_versions, key=Version, reverse=True), policy):
        row = ds.release(version)
        if row is None or not floor.contains(version, prereleases=True):
            reasons.append(f"{version}: trl needs deepspeed{floor}")
            continue
        if row.torch and not SpecifierSet(row.torch).contains(torch.version):
            reasons.append(f"{version}: needs torch{row.torch}")
            continue
        if Version(torch.release.series) >= Version("2.12") and row.cxx_std_torch_2_12 < torch.release.cxx_std:
            reasons.append(f"{version}: builds its ops with C++{row.cxx_std_torch_2_12}, torch {torch.release.series} needs C++{torch.release.cxx_std}")
            continue
        requires = tuple(r for r in ds.requires if not r.startswith("torch")) + ((f"torch{row.torch}",) if row.torch else ("torch",))
        return Pin("deepspeed", version, requires=requires, reasons=(_ds_reason(ds, version, torch, target),))
    return RuledOut("deepspeed", "; ".join(reasons[:3]), "extra:deepspeed", "drop deepspeed")


def _ds_reason(ds, version: str, torch: TorchCandidate, target: Target) -> str:
    cuda = torch.build().cuda
    if cuda is None:
        return f"deepspeed {version}: runs its CPU accelerator with a CPU torch"
    if target.nvcc:
        verdict = ds.agreement(version, target.nvcc, cuda)
        return f"deepspeed {version}: accepts nvcc {target.nvcc} with torch's CUDA {cuda} ({verdict.how})"
    return (f"deepspeed {version}: its CUDA ops compile at first use and need a CUDA {cuda} toolkit "
            f"(nvcc major.minor must match torch's CUDA{'' if Version(cuda).major >= 13 else ' or share its 10/11/12 family'})")
