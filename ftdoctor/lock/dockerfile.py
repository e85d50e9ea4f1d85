"""A Dockerfile for a locked environment: `ftdoctor lock --format dockerfile`.

Input is small and explicit (`DockerfileSpec`): the torch variant's CUDA, the Python, the lockfile's pinned
requirement lines, the indexes, and how flash-attn gets in. Output is the text of a Dockerfile that
  1. starts from the nvidia/cuda image whose CUDA is the torch wheel's, pinned by tag (the matrix says which
     tags exist: `compat_matrix/images.toml`), `devel` only when something must be compiled (a flash-attn
     source build, or DeepSpeed, whose ops compile with nvcc at first use);
  2. installs that Python (the OS's own when it is the one, else the deadsnakes archive on Ubuntu) in a venv;
  3. installs every pinned line in one pip step (hash-checked when the lock has hashes);
  4. adds flash-attn after torch, without letting pip touch torch: the exact prebuilt wheel (`--no-deps`),
     or a source build against the installed torch (`--no-build-isolation`, nvcc of the same CUDA);
  5. ends with `pip check` and an import of torch that asserts its CUDA build.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from ftdoctor import __version__
from ftdoctor.errors import UsageError
from ftdoctor.facts.model import normalize_name
from ftdoctor.matrix.images import CudaImage, ImageMatrix, OsImage

VENV = "/opt/venv"
FLASH_ATTN = "flash-attn"
BUILD_TOOLS = ("packaging", "psutil", "ninja")  # what flash-attn's setup.py imports before it builds
# Packages that compile their ops at run time, in the container: DeepSpeed builds them (FusedAdam with nvcc,
# CPUAdam for offload with g++, ...) against the Python headers the first time they are used.
JIT_BUILDERS = ("deepspeed",)


@dataclass(frozen=True)
class PrebuiltWheel:
    """flash-attn from the one prebuilt wheel that fits this torch, CUDA, Python and C++ ABI."""

    url: str
    sha256: str | None = None


@dataclass(frozen=True)
class SourceBuild:
    """flash-attn compiled in the image against the installed torch, when no prebuilt wheel fits."""

    requirement: str  # "flash-attn==2.8.3"
    cuda_archs: str = ""  # FLASH_ATTN_CUDA_ARCHS ("90" for H100 only: a much shorter build); "" builds its default set
    max_jobs: int = 4  # MAX_JOBS: each nvcc job needs several GB of memory
    build_requirements: tuple[str, ...] = ()  # pinned packaging/psutil/ninja lines when the lock lacks them


@dataclass(frozen=True)
class DockerfileSpec:
    python: str  # "3.11"
    requirements: tuple[str, ...]  # the lockfile's pinned lines, flash-attn excluded; options like --hash allowed
    cuda: str | None = None  # the torch variant's CUDA ("12.8"); None for a CPU-only target
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    flash_attn: PrebuiltWheel | SourceBuild | None = None
    system: str | None = None  # "ubuntu24.04"; None picks the newest OS with this image, its own Python first
    comment: tuple[str, ...] = ()  # lines for the header: the target, the lockfile


@dataclass(frozen=True)
class Base:
    image: str  # "nvidia/cuda:12.8.1-runtime-ubuntu24.04"
    system: OsImage


def render(spec: DockerfileSpec, images: ImageMatrix) -> str:
    names = check_requirements(spec)
    base = choose_base(spec, images)
    blocks = [
        _header(spec, base, names),
        _environment(),
        _python(spec, base.system, names),
        _venv(spec),
        _requirements(spec),
        _flash_attn(spec, names),
        _final_checks(spec, names),
    ]
    return "\n\n".join(block for block in blocks if block) + "\n"


def requirement_part(line: str) -> str:
    """'torch==2.8.0 --hash=sha256:ab' -> 'torch==2.8.0' (pip options follow the requirement)."""
    return re.split(r"\s+--", line.strip(), maxsplit=1)[0].strip()


def check_requirements(spec: DockerfileSpec) -> set[str]:
    """Every line pinned exactly, flash-attn not among them, hashes on all or none. Returns the names."""
    names, hashed = set(), set()
    for line in spec.requirements:
        requirement = _parse(line)
        name = normalize_name(requirement.name)
        if name == FLASH_ATTN:
            raise UsageError(
                "flash-attn is in the requirement lines", where=line,
                hint="give it as the flash-attn step (a prebuilt wheel or a build): it must be installed after torch",
            )
        if not (requirement.url or _exact(requirement)):
            raise UsageError("not pinned to one version", where=line, hint="a Dockerfile from a lock pins every package (==)")
        if name == "torch":
            _check_torch_variant(requirement, spec.cuda, line)
        names.add(name)
        hashed.add("--hash=" in line)
    if len(hashed) > 1:
        raise UsageError("some requirement lines have hashes and others not", hint="pip checks hashes for all or for none")
    return names


def _check_torch_variant(requirement: Requirement, cuda: str | None, line: str) -> None:
    """A torch pin with a local label (+cu128, +cpu) must be the build the image is chosen for."""
    pinned = next(iter(requirement.specifier), None)
    local = Version(pinned.version).local if pinned else None
    if not local:
        return
    wanted = "cpu" if cuda is None else "cu" + "".join(Version(cuda).base_version.split(".")[:2])
    if local != wanted:
        raise UsageError(
            f"this torch is the +{local} build but the image is for {'CPU only' if cuda is None else 'CUDA ' + cuda}",
            where=line, hint="give the CUDA of the locked torch variant",
        )


def _parse(line: str) -> Requirement:
    try:
        return Requirement(requirement_part(line))
    except InvalidRequirement as exc:
        raise UsageError(f"not a requirement: {exc}", where=line) from None


def _exact(requirement: Requirement) -> bool:
    specs = list(requirement.specifier)
    return len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version


def _jit_builders(names: set[str]) -> list[str]:
    return [name for name in JIT_BUILDERS if name in names]


def choose_base(spec: DockerfileSpec, images: ImageMatrix) -> Base:
    building = isinstance(spec.flash_attn, SourceBuild) or bool(_jit_builders(check_requirements(spec)))
    if spec.cuda is None:
        if spec.flash_attn is not None:
            raise UsageError("flash-attn needs a CUDA target", hint="lock for a GPU (--gpu/--facts), or drop flash-attn")
        system = _pick_system(spec, [s.name for s in images.systems], images)
        return Base(system.base, system)
    image = images.for_cuda(spec.cuda)
    if image is None:
        known = ", ".join(i.cuda for i in images.images)
        raise UsageError(f"no nvidia/cuda image is known for CUDA {spec.cuda}", hint=f"known: {known}")
    system = _pick_system(spec, list(image.systems), images, image)
    return Base(f"{images.repository}:{image.tag('devel' if building else 'runtime', system.name)}", system)


def _pick_system(spec: DockerfileSpec, available: list[str], images: ImageMatrix, image: CudaImage | None = None) -> OsImage:
    if spec.system is not None:
        if spec.system not in available:
            what = f"nvidia/cuda {image.version}" if image else "the known base images"
            raise UsageError(f"{what} has no {spec.system} image", hint=f"choose one of: {', '.join(available)}")
        return images.system(spec.system)  # type: ignore[return-value]
    systems = [images.system(name) for name in available]
    own = [s for s in systems if s and Version(s.python) == Version(spec.python)]
    return (own or [s for s in systems if s])[-1]


def _header(spec: DockerfileSpec, base: Base, names: set[str]) -> str:
    why = f"# Base: CUDA {spec.cuda} to match the torch build" if spec.cuda else "# Base: CPU-only target, no CUDA"
    if spec.cuda and _jit_builders(names):
        why += f"; devel: {', '.join(_jit_builders(names))} compiles its CUDA ops with this nvcc at first use"
    lines = [
        "# syntax=docker/dockerfile:1",
        f"# Generated by ftdoctor {__version__} (`ftdoctor lock --format dockerfile`): regenerate it, do not edit it.",
        *(f"# {line}" for line in spec.comment),
        why,
        f"FROM {base.image}",
    ]
    return "\n".join(lines)


def _environment() -> str:
    return "\n".join([
        "ENV DEBIAN_FRONTEND=noninteractive \\",
        "    PYTHONUNBUFFERED=1 \\",
        "    PIP_DISABLE_PIP_VERSION_CHECK=1",
        "WORKDIR /workspace",
    ])


def _python(spec: DockerfileSpec, system: OsImage, names: set[str]) -> str:
    own = Version(system.python) == Version(spec.python)
    package = "python3" if own else f"python{spec.python}"
    packages = ["ca-certificates", package, f"{package}-venv"]
    if isinstance(spec.flash_attn, SourceBuild) or _jit_builders(names):
        packages += [f"{package}-dev", "build-essential"]
    steps = ["apt-get update"]
    if not own:
        steps += [
            "apt-get install -y --no-install-recommends software-properties-common gpg-agent",
            "add-apt-repository -y ppa:deadsnakes/ppa",
            "apt-get update",
        ]
    steps += [f"apt-get install -y --no-install-recommends {' '.join(packages)}", "rm -rf /var/lib/apt/lists/*"]
    why = f"the OS's own Python {system.python}" if own else f"Python {spec.python} from deadsnakes ({system.name} ships {system.python})"
    return "\n".join([
        f"# {why}; OS packages follow the base image's archive, hence unpinned",
        "# hadolint ignore=DL3008",
        "RUN " + " \\\n && ".join(steps),
    ])


def _venv(spec: DockerfileSpec) -> str:
    return "\n".join([
        f"RUN python{spec.python} -m venv {VENV}",
        f"ENV VIRTUAL_ENV={VENV} \\",
        f"    PATH={VENV}/bin:$PATH",
    ])


def _index_options(spec: DockerfileSpec) -> list[str]:
    options = [f"--index-url {shlex.quote(spec.index_url)}"] if spec.index_url else []
    return options + [f"--extra-index-url {shlex.quote(url)}" for url in spec.extra_index_urls]


def _write_file(path: str, lines: tuple[str, ...] | list[str]) -> str:
    quoted = " \\\n      ".join(shlex.quote(line.strip()) for line in lines)
    return f"printf '%s\\n' \\\n      {quoted} \\\n      > {path}"


def _requirements(spec: DockerfileSpec) -> str:
    hashes = any("--hash=" in line for line in spec.requirements)
    pip = ["pip install --no-cache-dir", *(["--require-hashes"] if hashes else []), *_index_options(spec)]
    pip.append("-r /tmp/requirements.txt")
    return "\n".join([
        f"# The lockfile's {len(spec.requirements)} pinned packages, torch among them, in one resolver run",
        "RUN " + _write_file("/tmp/requirements.txt", spec.requirements)
        + " \\\n && " + " ".join(pip) + " \\\n && rm /tmp/requirements.txt",
    ])


def _flash_attn(spec: DockerfileSpec, names: set[str]) -> str:
    match spec.flash_attn:
        case PrebuiltWheel(url=url, sha256=sha256):
            line = f"{FLASH_ATTN} @ {url}" + (f" --hash=sha256:{sha256}" if sha256 else "")
            return "\n".join([
                "# flash-attn after torch: the exact prebuilt wheel for this torch, CUDA, Python and C++ ABI;",
                "# --no-deps so that pip cannot replace the torch installed above",
                "RUN " + _write_file("/tmp/flash-attn.txt", [line])
                + " \\\n && pip install --no-cache-dir --no-deps -r /tmp/flash-attn.txt \\\n && rm /tmp/flash-attn.txt",
            ])
        case SourceBuild() as build:
            return _source_build(build, names)
    return ""


def _source_build(build: SourceBuild, names: set[str]) -> str:
    missing = [tool for tool in BUILD_TOOLS if tool not in names]
    given = {normalize_name(_parse(line).name) for line in build.build_requirements}
    if set(missing) - given:
        raise UsageError(
            f"the flash-attn build needs pinned {', '.join(sorted(set(missing) - given))}",
            hint="add them to the lock, or give them as the build's requirement lines",
        )
    env = [f"MAX_JOBS={build.max_jobs}", "FLASH_ATTENTION_FORCE_BUILD=TRUE"]
    if build.cuda_archs:
        env.insert(1, f"FLASH_ATTN_CUDA_ARCHS={shlex.quote(build.cuda_archs)}")
    steps = []
    tools = [line for line in build.build_requirements if normalize_name(_parse(line).name) in missing]
    if tools:
        steps.append("pip install --no-cache-dir " + " ".join(shlex.quote(requirement_part(t)) for t in tools))
    steps.append(f"{' '.join(env)} pip install --no-cache-dir --no-build-isolation --no-deps {shlex.quote(build.requirement)}")
    return "\n".join([
        "# flash-attn after torch, compiled here: no prebuilt wheel fits this torch/CUDA/Python. Its setup imports",
        "# torch (--no-build-isolation), builds with this image's nvcc (the CUDA of the torch build), and must not",
        "# fetch a guessed wheel (FORCE_BUILD); --no-deps leaves torch alone. MAX_JOBS bounds the memory it takes.",
        "RUN " + " \\\n && ".join(steps),
    ])


def _final_checks(spec: DockerfileSpec, names: set[str]) -> str:
    steps = ["pip check"]
    if "torch" in names:
        expected = f'"{spec.cuda}"' if spec.cuda else "None"
        code = f"import torch; assert torch.version.cuda == {expected}, torch.version.cuda; print(torch.__version__)"
        steps.append(f"python -c {shlex.quote(code)}")
    return "# The environment is consistent, and torch is the CUDA build it should be\nRUN " + " \\\n && ".join(steps)
