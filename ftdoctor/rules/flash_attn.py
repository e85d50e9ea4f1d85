"""FLA70x-74x: flash-attn judged from installed metadata, never imported (the verify family imports it, FLA75x+).

    FLA700  flash-attn is installed (prerequisite of the others)
    FLA701  the GPUs are ones flash-attn runs on (FA2: sm_80+, FA3: Hopper)
    FLA702  the installed prebuilt wheel was built for this torch (wheel key vs torch minor, CUDA major, ABI, Python)
    FLA703  a wheel or a source build exists for this torch (what a reinstall after a torch change means)
    FLA704  the installed prebuilt wheel carries code for these GPUs
"""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.compat import cubin_runs
from ftdoctor.rules import facts_view
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown

FAMILY = "flash_attn"
DOCS = "https://github.com/Dao-AILab/flash-attention#installation-and-features"
FA2, FA3 = "flash-attn", "flash-attn-3"


def _installed(ctx: Context):
    return ctx.facts.distribution(FA2) or ctx.facts.distribution(FA3)


class FlashAttnInstalled(Rule):
    """flash-attn is installed (the other FLA checks need it)."""

    code = "FLA700"
    family = FAMILY
    severity = Severity.INFO

    def check(self, ctx: Context) -> Pass | NotApplicable:
        dist = _installed(ctx)
        if dist is None:
            return NotApplicable("flash-attn is not installed")
        origin = facts_view.wheel_name(dist) or "the package index (sdist: a downloaded prebuilt wheel or a local build)"
        return Pass(f"{dist.name} {dist.version} installed from {origin}", {"version": dist.version, "from": origin})


class FlashAttnGpu(Rule):
    """The GPUs are ones flash-attn runs on (FlashAttention 2: compute capability 8.0+, FlashAttention 3: Hopper)."""

    code = "FLA701"
    family = FAMILY
    requires = frozenset({"FLA700"})

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        dist = _installed(ctx)
        rows = ctx.matrix.flash_attn.gpu
        gpus = facts_view.physical_gpus(ctx.facts, ctx.matrix)
        if not gpus:
            return Fail(
                f"{dist.name} {dist.version} is installed but this machine has no NVIDIA GPU: it cannot run here",
                {"gpus": 0}, severity=Severity.WARNING,
            )
        unknown = [g.name for g in gpus if g.capability is None]
        if unknown:
            return Unknown(f"compute capability of {', '.join(unknown)} is not known", {"gpus": unknown})
        if dist.name == FA3:
            bad = [g for g in gpus if g.capability not in rows.fa3_ccs]
            need = "a Hopper GPU (compute capability 9.0)"
        else:
            bad = [g for g in gpus if Version(g.capability) < Version(rows.fa2_min_cc)]
            need = f"compute capability {rows.fa2_min_cc} or newer (Ampere, Ada, Hopper, Blackwell)"
        if not bad:
            return Pass(f"{dist.name} runs on {', '.join(f'{g.name} (sm {g.capability})' for g in gpus)}")
        names = ", ".join(f"{g.name} (compute capability {g.capability})" for g in bad)
        return Fail(
            f"{dist.name} {dist.version} needs {need}; {names} cannot run it: attn_implementation='flash_attention_2' fails",
            {"gpus": [g.name for g in bad], "compute_capabilities": [g.capability for g in bad]},
            fixes=(Fix("Use PyTorch's built-in attention instead and remove flash-attn from this environment",
                       ("# in the training config: attn_implementation=\"sdpa\"", ctx.pip("uninstall", "-y", dist.name)),
                       DOCS),),
        )


def torch_key(ctx: Context):
    """(torch version, torch CUDA, ABI, Python) of the installed torch, or a reason why one is unknown."""
    t = ctx.facts.torch
    cuda = facts_view.torch_cuda(ctx.facts, ctx.matrix)
    abi = facts_view.torch_cxx11_abi(ctx.facts, ctx.matrix)
    python = facts_view.python_series(ctx.facts)
    if not t.version:
        return None, "torch is not installed"
    if cuda is None:
        return None, f"torch {t.version} is not a CUDA build"
    if abi is None or python is None:
        return None, "the C++ ABI of torch or the Python version is unknown"
    try:
        Version(t.version), Version(cuda)
    except InvalidVersion:
        return None, f"torch {t.version} (CUDA {cuda}) does not carry versions the wheel key can be computed from"
    return (t.version, cuda, abi, python), ""


class FlashAttnWheelKey(Rule):
    """The installed flash-attn wheel was built for this torch (torch minor, CUDA major, C++ ABI, Python)."""

    code = "FLA702"
    family = FAMILY
    requires = frozenset({"FLA700"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        dist = ctx.facts.distribution(FA2)
        if dist is None:
            return NotApplicable("only FlashAttention 2 wheels carry a torch key")
        name = facts_view.wheel_name(dist)
        if name is None or "+" not in name:
            return Info("flash-attn came from the package index (its sdist fetched a wheel or compiled locally): "
                        "the wheel it used is not recorded, FLA703 says what fits this torch")
        key, why = torch_key(ctx)
        if key is None:
            return Unknown(why)
        release = ctx.matrix.flash_attn.release(dist.version)
        if release is None:
            return Unknown(f"flash-attn {dist.version} is not in ftdoctor's matrix")
        platform = name.rsplit("-", 1)[-1].removesuffix(".whl")
        expected = release.wheel_filename(*key, platform)
        if name == expected:
            return Pass(f"flash-attn wheel {name} matches torch {key[0]} (CUDA {key[1]}, cxx11abi {key[2]}, Python {key[3]})")
        return Fail(
            f"flash-attn wheel {name} was built for another torch: this torch needs {expected} "
            "(an ABI mismatch fails at import with `undefined symbol`)",
            {"installed_wheel": name, "expected_wheel": expected},
            fixes=(reinstall_fix(ctx, release, key, platform),),
        )


def wheel_platform(ctx: Context) -> str:
    """The platform tag of the prebuilt wheels that fit this machine (flash-attn publishes Linux wheels only)."""
    return f"linux_{ctx.facts.system.machine or 'x86_64'}"


def published_release(ctx: Context, key: tuple, platform: str, wanted=None):
    """The release whose published wheel fits this torch: `wanted` (the installed or requested release) when
    it published one, else the newest confirmed release that did and whose SASS runs on every GPU here; None
    when the matrix records no such wheel."""
    if wanted is not None and wanted.build_for(*key, platform) is not None:
        return wanted
    ccs = [g.capability for g in facts_view.physical_gpus(ctx.facts, ctx.matrix) if g.capability]
    for release in ctx.matrix.flash_attn.newest_first():
        build = release.build_for(*key, platform) if release.confidence == "confirmed" else None
        if build is not None and all(cubin_runs(build.archs, cc) for cc in ccs):
            return release
    return None


def buildable_release(ctx: Context, key: tuple, wanted=None):
    """The release to compile against this torch when no wheel fits: `wanted` when its setup.py's C++ standard
    is enough for torch's headers, else the newest confirmed release for this Python whose is; None if none."""
    torch_row = ctx.matrix.torch.release_for(key[0])
    need = torch_row.cxx_std if torch_row is not None else 0
    fa = ctx.matrix.flash_attn
    if wanted is not None and wanted.cxx_std >= need:
        return wanted
    return next((r for r in fa.newest_first()
                 if r.confidence == "confirmed" and fa.python_ok(r, key[3]) and r.cxx_std >= need), None)


def reinstall_fix(ctx: Context, release, key, platform: str) -> Fix:
    fa = ctx.matrix.flash_attn
    build = release.build_for(*key, platform)
    if build is not None:
        name = release.wheel_filename(*key, platform)
        return Fix(f"Install the flash-attn {release.version} wheel built for this torch: {name} (published)",
                   (ctx.pip("install", "--no-deps", "--force-reinstall", fa.url(release, name)),), DOCS)
    return source_build_fix(ctx, release.version)


def source_build_needs(ctx: Context) -> str:
    """What compiling flash-attn takes, from the matrix: the toolkit, the memory, the time."""
    sb = ctx.matrix.flash_attn.source_build
    return (f"needs nvcc >= {sb.min_nvcc} of torch's CUDA major under CUDA_HOME, about {sb.memory_gib_per_job} GiB "
            f"of RAM per job; {sb.hours}")


def source_build_fix(ctx: Context, version: str) -> Fix:
    sb = ctx.matrix.flash_attn.source_build
    env = " ".join(f"{k}={v}" for k, v in sb.env.items())
    return Fix(
        f"No prebuilt wheel fits: build flash-attn {version} against this torch ({source_build_needs(ctx)})",
        # --no-cache-dir: pip would otherwise reinstall the wheel it built (or fetched) earlier for another torch
        (ctx.pip("install", *[p for p in sb.build_requires if p != "torch"]),
         f"{env} {ctx.pip('install', *sb.pip_flags, '--no-cache-dir', f'flash-attn=={version}')}"),
        DOCS,
    )


class FlashAttnBuildable(Rule):
    """flash-attn has a prebuilt wheel for this torch, or its source build can compile against it."""

    code = "FLA703"
    family = FAMILY
    requires = frozenset({"FLA700"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        dist = ctx.facts.distribution(FA2)
        if dist is None:
            return NotApplicable("FlashAttention 3 is always built from source")
        key, why = torch_key(ctx)
        if key is None:
            return Unknown(why)
        release = ctx.matrix.flash_attn.release(dist.version)
        if release is None:
            return Unknown(f"flash-attn {dist.version} is not in ftdoctor's matrix")
        platform = wheel_platform(ctx)
        if release.build_for(*key, platform) is not None:
            url = ctx.matrix.flash_attn.url(release, release.wheel_filename(*key, platform))
            return Pass(f"flash-attn {release.version} publishes a prebuilt wheel for this torch: {url}", {"wheel": url})
        guess = release.wheel_key(key[0], key[1], key[2])
        evidence = {"wheel_key": guess, "flash_attn": release.version, "torch": key[0], "torch_cuda": key[1]}
        torch_row = ctx.matrix.torch.release_for(key[0])
        if torch_row is not None and torch_row.cxx_std > release.cxx_std:
            return Fail(
                f"flash-attn {release.version} has no prebuilt wheel `{guess}` and cannot be compiled against torch "
                f"{key[0]}: torch's headers need C++{torch_row.cxx_std}, flash-attn's setup.py passes -std=c++{release.cxx_std} "
                "(`#error C++20 or later compatible compiler is required`). The installed binary was built for another torch.",
                evidence,
                fixes=(Fix("Use a torch that flash-attn has a prebuilt wheel for; `ftdoctor lock --with flash-attn` picks one",
                           ("ftdoctor lock --target auto --with flash-attn --explain",)),),
            )
        mismatch = ""
        if str(Version(key[1]).major) not in release.cuda_tag_for_major:
            mismatch = (f" (flash-attn {release.version} maps CUDA {Version(key[1]).major} to `{release.other_cuda_tag}`, "
                        "so it never finds a wheel for this torch)")
        return Info(
            f"flash-attn {release.version} publishes no prebuilt wheel `{guess}`{mismatch}: reinstalling it (or changing "
            "torch) means an nvcc build from source",
            evidence, fixes=(source_build_fix(ctx, release.version),),
        )


class FlashAttnWheelArchs(Rule):
    """The installed prebuilt flash-attn wheel carries code for these GPUs (it ships SASS only, no PTX)."""

    code = "FLA704"
    family = FAMILY
    requires = frozenset({"FLA700", "FLA701"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        dist = ctx.facts.distribution(FA2)
        name = facts_view.wheel_name(dist) if dist else None
        if name is None or "+" not in name:
            return NotApplicable("not installed from a recorded prebuilt wheel")
        build = _build_of(ctx, dist.version, name)
        if build is None:
            return Unknown(f"{name} is not among the prebuilt wheels in ftdoctor's matrix")
        gpus = facts_view.physical_gpus(ctx.facts, ctx.matrix)
        bad = [g for g in gpus if g.capability and not cubin_runs(build.archs, g.capability)]
        if not bad:
            return Pass(f"{name} carries sm {', '.join(build.archs)}: enough for these GPUs")
        return Fail(
            f"{name} was compiled by nvcc {build.nvcc} for sm {', '.join(build.archs)} only (no PTX): "
            f"{', '.join(f'{g.name} (sm {g.capability})' for g in bad)} fails with `no kernel image is available`",
            {"wheel_archs": list(build.archs), "gpus": [g.name for g in bad]},
            fixes=(Fix("Use a flash-attn release whose wheels target this GPU (2.8.0 or newer carries sm_100 and sm_120)",
                       ("ftdoctor lock --target auto --with flash-attn --explain",)),),
        )


def _build_of(ctx: Context, version: str, filename: str):
    release = ctx.matrix.flash_attn.release(version)
    if release is None:
        return None
    key = filename.split("+", 1)[1].split("-", 1)[0]  # cu12torch2.8cxx11abiTRUE
    python = filename.split("-")[2].removeprefix("cp")
    platform = filename.rsplit("-", 1)[-1].removesuffix(".whl")
    try:
        tag, rest = key.split("torch", 1)
        series, abi = rest.split("cxx11abi", 1)
    except ValueError:
        return None
    py = f"{python[0]}.{python[1:]}"
    return next((b for b in release.builds if b.has(series, tag, py, abi == "TRUE", platform)), None)


RULES = (FlashAttnInstalled, FlashAttnGpu, FlashAttnWheelKey, FlashAttnBuildable, FlashAttnWheelArchs)
