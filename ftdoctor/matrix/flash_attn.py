"""flash-attn rows: the wheel key its setup computes, the prebuilt wheels each release published, the GPUs it runs on.

flash-attn ships no wheels on the package index, only an sdist whose setup.py imports torch, guesses the name of
a prebuilt wheel from the torch it finds (`+cu{tag}torch{major.minor}cxx11abi{TRUE|FALSE}`) and downloads it
from the project's release page; when no such wheel exists it falls back to an nvcc build. These classes turn
that into lookups: which key a torch build produces, and whether a release published that wheel.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from ftdoctor.matrix.model import _check_source, _specifier, _version, cc_tuple


@dataclass(frozen=True)
class WheelExclude:
    """One `exclude` entry of a release workflow's build matrix: an empty field matches anything."""

    torch: str = ""
    python: str = ""
    cuda_tag: str = ""

    def matches(self, torch: str, python: str, cuda_tag: str) -> bool:
        return all(not want or want == have for want, have in ((self.torch, torch), (self.python, python), (self.cuda_tag, cuda_tag)))


@dataclass(frozen=True)
class WheelBuild:
    """A block of prebuilt wheels: every combination of these lists, minus `exclude`."""

    torch: tuple[str, ...]  # torch major.minor the wheels were built against ("2.8")
    cuda_tags: tuple[str, ...]  # "cu12", "cu118"
    nvcc: str  # the CUDA toolkit that compiled them
    python: tuple[str, ...]
    cxx11abi: tuple[bool, ...]
    archs: tuple[str, ...]  # SASS in the wheels; no PTX (`code=sm_XX` only)
    source: str
    platforms: tuple[str, ...] = ("linux_x86_64",)
    exclude: tuple[WheelExclude, ...] = ()
    note: str = ""
    confidence: str = "confirmed"

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.nvcc, "nvcc")
        for cc in self.archs:
            cc_tuple(cc)

    def has(self, torch: str, cuda_tag: str, python: str, abi: bool, platform: str) -> bool:
        if torch not in self.torch or cuda_tag not in self.cuda_tags or python not in self.python:
            return False
        if abi not in self.cxx11abi or platform not in self.platforms:
            return False
        return not any(ex.matches(torch, python, cuda_tag) for ex in self.exclude)


@dataclass(frozen=True)
class FlashAttnRelease:
    version: str
    date: str
    requires_python: str
    # torch CUDA major -> the CUDA tag setup.py puts into the wheel name; a major not listed here (CUDA 13 before
    # 2.8.3.post1) falls into `other_cuda_tag`, which is exactly the guess that never matches a published wheel
    cuda_tag_for_major: dict[str, str]
    other_cuda_tag: str
    builds: tuple[WheelBuild, ...]
    source: str
    cxx_std: int = 17  # setup.py's -std for the C++ and nvcc sides of a source build
    confidence: str = "confirmed"
    note: str = ""

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.version, "version")
        _specifier(self.requires_python, "requires_python")

    def cuda_tag(self, torch_cuda: str) -> str:
        return self.cuda_tag_for_major.get(str(Version(torch_cuda).major), self.other_cuda_tag)

    def wheel_key(self, torch_version: str, torch_cuda: str, cxx11_abi: bool) -> str:
        """The local version label setup.py computes: `cu12torch2.8cxx11abiTRUE`."""
        torch = Version(torch_version)
        return f"{self.cuda_tag(torch_cuda)}torch{torch.major}.{torch.minor}cxx11abi{str(cxx11_abi).upper()}"

    def wheel_filename(self, torch_version: str, torch_cuda: str, cxx11_abi: bool, python: str, platform: str) -> str:
        tag = "cp" + python.replace(".", "")
        key = self.wheel_key(torch_version, torch_cuda, cxx11_abi)
        return f"flash_attn-{self.version}+{key}-{tag}-{tag}-{platform}.whl"

    def build_for(self, torch_version: str, torch_cuda: str, cxx11_abi: bool, python: str, platform: str) -> WheelBuild | None:
        """The published build block holding the wheel setup.py would download, or None (a source build follows)."""
        torch = Version(torch_version)
        series = f"{torch.major}.{torch.minor}"
        tag = self.cuda_tag(torch_cuda)
        for build in self.builds:
            if build.has(series, tag, python, cxx11_abi, platform):
                # a cu12 wheel under a CUDA 13 torch: the name matches, the binary does not
                if _tag_major(tag) == Version(torch_cuda).major:
                    return build
        return None


def _tag_major(tag: str) -> int:
    digits = tag.removeprefix("cu")
    return int(digits[:2]) if len(digits) >= 3 else int(digits)


@dataclass(frozen=True)
class FlashAttnGpu:
    """Which GPUs each flash-attn generation runs on."""

    fa2_min_cc: str  # FA2: Ampere and newer
    fa2_source: str
    fa3_ccs: tuple[str, ...]  # FA3 (`flash_attn_3`, the hopper/ build): Hopper only
    fa3_source: str
    fa4_ccs: tuple[str, ...]  # FA4 (`flash-attn-4`, CuTeDSL): Hopper and Blackwell
    fa4_source: str

    def __post_init__(self) -> None:
        for source in (self.fa2_source, self.fa3_source, self.fa4_source):
            _check_source(source)


@dataclass(frozen=True)
class FlashAttnSourceBuild:
    """What `pip install flash-attn` means when no prebuilt wheel fits: a local nvcc build against the installed torch."""

    min_nvcc: str
    build_requires: tuple[str, ...]  # must be installed first, because setup.py imports them outside build isolation
    pip_flags: tuple[str, ...]
    env: dict[str, str]  # what the recipe sets, e.g. MAX_JOBS
    memory_gib_per_job: int
    hours: str  # how long it takes, as a human range
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.min_nvcc, "min_nvcc")


@dataclass(frozen=True)
class FlashAttnMatrix:
    schema: str
    package: str
    wheel_url: str  # where setup.py downloads prebuilt wheels from, with {version} and {filename}
    index_files: str  # what the package index holds for it
    index_source: str
    gpu: FlashAttnGpu
    source_build: FlashAttnSourceBuild
    releases: tuple[FlashAttnRelease, ...]

    def release(self, version: str) -> FlashAttnRelease | None:
        try:
            wanted = Version(Version(version).public)  # drop the wheel key (local label), keep .postN
        except ValueError:
            return None
        return next((r for r in self.releases if Version(r.version) == wanted), None)

    def newest_first(self) -> list[FlashAttnRelease]:
        return sorted(self.releases, key=lambda r: Version(r.version), reverse=True)

    def url(self, release: FlashAttnRelease, filename: str) -> str:
        return self.wheel_url.format(version=release.version, filename=filename)

    def python_ok(self, release: FlashAttnRelease, python: str) -> bool:
        return Version(python) in SpecifierSet(release.requires_python)
