"""TLK4xx: the CUDA toolkit (nvcc) that compiles code against torch: DeepSpeed's JIT ops, flash-attn, xformers
or apex built from source. torch carries its own CUDA runtime; a toolkit only matters for these builds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ftdoctor.facts.model import Facts, Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.matrix.compat import kernel_for
from ftdoctor.matrix.model import cc_tuple
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import installed, not_a_cuda_build, parse_version, torch_build, visible_gpus

TOOLKIT_DOCS = "https://docs.nvidia.com/cuda/cuda-installation-guide-linux/"
# Environment variables that ask for a CUDA compilation at install or first use.
BUILD_VARIABLES = ("DS_BUILD_OPS", "FLASH_ATTENTION_FORCE_BUILD")


@dataclass(frozen=True)
class BuildToolkit:
    """The toolkit torch.utils.cpp_extension builds with: CUDA_HOME, CUDA_PATH, nvcc on PATH, /usr/local/cuda."""

    home: str | None
    version: str | None
    source: str


def build_toolkit(facts: Facts) -> BuildToolkit | None:
    tk = facts.toolkit
    if facts.torch.status == Status.OK and facts.torch.cuda_home:
        home, source = facts.torch.cuda_home, "torch.utils.cpp_extension.CUDA_HOME"
    elif tk.cuda_home.value:
        home, source = tk.cuda_home.value, tk.cuda_home.source
    elif any(i.path.rstrip("/") == "/usr/local/cuda" for i in tk.installs):
        home, source = "/usr/local/cuda", "/usr/local/cuda"
    else:
        return None
    return BuildToolkit(home, _version_at(facts, home), source)


def _version_at(facts: Facts, home: str) -> str | None:
    tk = facts.toolkit
    for install in tk.installs:
        if install.path.rstrip("/") == home.rstrip("/") and install.version:
            return install.version
    if tk.nvcc_path and tk.nvcc_path.startswith(home.rstrip("/") + "/"):
        return tk.nvcc_version
    return None


def _builders(ctx: Context) -> list[str]:
    """What on this machine compiles CUDA code against torch at install or first use."""
    found = []
    if (ds := installed(ctx.facts, "deepspeed")) is not None:
        found.append(f"DeepSpeed {ds} (JIT-compiles its CUDA ops at first use)")
    found += [f"{name}={ctx.facts.env[name]}" for name in BUILD_VARIABLES if ctx.facts.env.get(name)]
    return found


def _toolkit_fix(cuda: str, installs) -> Fix:
    major_minor = ".".join(cuda.split(".")[:2])
    match = next((i for i in installs if i.version and i.version.startswith(major_minor + ".")), None)
    if match:
        return Fix(f"Point builds at the CUDA {major_minor} toolkit already installed here",
                   (f"export CUDA_HOME={match.path} PATH={match.path}/bin:$PATH",))
    dashed = major_minor.replace(".", "-")
    return Fix(
        f"Install the CUDA {major_minor} toolkit (torch's CUDA) and point CUDA_HOME at it",
        (f"sudo apt-get install cuda-toolkit-{dashed}   # from NVIDIA's CUDA apt repository",
         f"export CUDA_HOME=/usr/local/cuda-{major_minor} PATH=/usr/local/cuda-{major_minor}/bin:$PATH"),
        TOOLKIT_DOCS,
    )


class ToolkitMatchesTorch(Rule):
    """The CUDA toolkit that builds extensions has the same CUDA major as torch.

    torch.utils.cpp_extension refuses a different major ("The detected CUDA version (X) mismatches the version
    that was used to compile PyTorch (Y)") and only warns about a different minor.
    """

    code = "TLK400"
    family = "toolkit"
    severity = Severity.ERROR
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        build = torch_build(ctx.facts, ctx.matrix)
        if why := not_a_cuda_build(build):
            return NotApplicable(why)
        if ctx.facts.toolkit.status == Status.UNKNOWN:
            return Unknown(ctx.facts.toolkit.reason or "the CUDA toolkit was not probed")
        tk = build_toolkit(ctx.facts)
        if tk is None:
            return NotApplicable("no CUDA toolkit here (TLK401 judges whether one is needed)")
        have, want = parse_version(tk.version), parse_version(build.cuda)
        evidence = {"toolkit": tk.home, "toolkit_version": tk.version, "found_by": tk.source, "torch_cuda": build.cuda}
        if have is None or want is None:
            return Unknown(f"the version of the CUDA toolkit at {tk.home} is unknown", evidence)
        if have.major != want.major:
            builders = _builders(ctx)
            return Fail(
                f"the CUDA toolkit at {tk.home} is {tk.version} but {build.label} is CUDA {build.cuda}: torch's "
                "extension builder refuses a different CUDA major, so "
                + (f"{'; '.join(builders)} cannot compile" if builders else "no CUDA extension can be built here"),
                evidence,
                fixes=(_toolkit_fix(build.cuda, ctx.facts.toolkit.installs),),
                severity=Severity.ERROR if builders else Severity.WARNING,
            )
        if have.release[:2] != want.release[:2]:
            return Info(f"toolkit {tk.version} vs torch CUDA {build.cuda}: same major, so builds work "
                        "(torch warns about the minor)", evidence)
        return Pass(f"toolkit {tk.version} at {tk.home} matches torch's CUDA {build.cuda}", evidence)


class ToolkitForBuilds(Rule):
    """A CUDA toolkit (CUDA_HOME, nvcc) is there when something installed will compile CUDA code.

    DeepSpeed is an sdist that compiles its CUDA ops (FusedAdam, CPUAdam, ...) with nvcc at first use; without
    a toolkit the install succeeds and the training run fails later with MissingCUDAException.
    """

    code = "TLK401"
    family = "toolkit"
    severity = Severity.WARNING
    requires = frozenset({"TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        builders = _builders(ctx)
        build = torch_build(ctx.facts, ctx.matrix)
        if not builders:
            return NotApplicable("nothing installed here compiles CUDA code at run time")
        if build is None or not build.cuda:
            return NotApplicable("torch is not a CUDA build: there is no CUDA code to compile")
        if ctx.facts.toolkit.status == Status.UNKNOWN:
            return Unknown(ctx.facts.toolkit.reason or "the CUDA toolkit was not probed")
        tk = build_toolkit(ctx.facts)
        if tk is not None:
            return Pass(f"{'; '.join(builders)}: builds use {tk.home} ({tk.version or 'version unknown'})")
        return Fail(
            f"{'; '.join(builders)}, but there is no CUDA toolkit (CUDA_HOME and CUDA_PATH unset, no nvcc on PATH, "
            "no /usr/local/cuda): the first op that needs compiling fails with MissingCUDAException",
            {"builders": builders, "CUDA_HOME": ctx.facts.env.get("CUDA_HOME"), "torch_cuda_home": ctx.facts.torch.cuda_home},
            fixes=(
                _toolkit_fix(build.cuda, ()),
                Fix("Or keep DeepSpeed off compiled ops: use torch's Adam in the DeepSpeed config",
                    ('"optimizer": {"type": "AdamW", "params": {"torch_adam": true}}',)),
            ),
        )


class OneToolkit(Rule):
    """Builds use one CUDA toolkit: the nvcc on PATH belongs to the toolkit CUDA_HOME names.

    With several toolkits side by side, torch compiles with CUDA_HOME's nvcc and headers while setup scripts
    that call `nvcc` directly (and version checks) use the one first on PATH.
    """

    code = "TLK402"
    family = "toolkit"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable:
        tk = ctx.facts.toolkit
        versions = sorted({i.version or "?" for i in tk.installs})
        if len(versions) < 2:
            return NotApplicable("one CUDA toolkit version at most" + (f" ({versions[0]})" if versions else ""))
        used = build_toolkit(ctx.facts)
        evidence = {"toolkits": {i.path: i.version for i in tk.installs}, "nvcc_on_path": tk.nvcc_path,
                    "CUDA_HOME": used.home if used else None}
        if used and used.version and tk.nvcc_version and used.version != tk.nvcc_version:
            return Fail(
                f"{len(versions)} CUDA toolkits ({', '.join(versions)}): CUDA_HOME is {used.home} ({used.version}) "
                f"but the nvcc on PATH is {tk.nvcc_path} ({tk.nvcc_version}), so one build can mix two toolkits",
                evidence,
                fixes=(Fix("Put CUDA_HOME's nvcc first on PATH", (f"export PATH={used.home}/bin:$PATH",)),),
            )
        return Info(f"{len(versions)} CUDA toolkits ({', '.join(versions)}); builds use "
                    f"{used.home if used else 'none of them (no CUDA_HOME, no nvcc on PATH)'}", evidence)


class ArchListCoversGpus(Rule):
    """TORCH_CUDA_ARCH_LIST, when set, includes every visible GPU's architecture.

    It decides which GPUs the extensions built here (DeepSpeed ops, flash-attn from source) get kernels for:
    a GPU it leaves out fails later with "no kernel image is available".
    """

    code = "TLK403"
    family = "toolkit"
    severity = Severity.WARNING

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        value = ctx.facts.env.get("TORCH_CUDA_ARCH_LIST")
        if not value:
            return NotApplicable("TORCH_CUDA_ARCH_LIST is not set (builds target the GPUs they find)")
        gpus = visible_gpus(ctx.facts, ctx.matrix)
        if not gpus:
            return NotApplicable("no visible GPU")
        parsed = _arch_list(value)
        if parsed is None:
            return Unknown(f"TORCH_CUDA_ARCH_LIST={value!r} has entries ftdoctor cannot read (named architectures?)")
        sass, ptx = parsed
        missing = [g for g in gpus if g.cc and kernel_for(g.cc, sass, ptx) is None]
        if not missing:
            return Pass(f"TORCH_CUDA_ARCH_LIST={value} covers " + ", ".join(g.label for g in gpus))
        wanted = ";".join(sorted({f"{g.cc[0]}.{g.cc[1]}" for g in gpus if g.cc}))
        return Fail(
            f"TORCH_CUDA_ARCH_LIST={value} leaves out {', '.join(g.label for g in missing)}: extensions built here "
            "will have no kernel for it",
            {"TORCH_CUDA_ARCH_LIST": value, "gpus": [f"{g.label}" for g in gpus]},
            fixes=(Fix("Build for this machine's GPUs", (f'export TORCH_CUDA_ARCH_LIST="{wanted}"',)),),
        )


def _arch_list(value: str) -> tuple[tuple, tuple] | None:
    sass, ptx = [], []
    for entry in (e for e in re.split(r"[;\s,]+", value) if e):
        base, plus, _ = entry.partition("+")
        try:
            cc = cc_tuple(base)
        except ValueError:
            return None
        sass.append(cc)
        if plus:
            ptx.append(cc)
    return tuple(sass), tuple(ptx)


RULES = (ToolkitMatchesTorch, ToolkitForBuilds, OneToolkit, ArchListCoversGpus)
