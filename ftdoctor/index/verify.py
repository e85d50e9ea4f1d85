"""`ftdoctor matrix verify`: re-derive from the package index what can be derived, and list every place where
the matrix says something else. Each topic reads only what the index itself states: version lists, file names
and their tags, wheel METADATA, files inside wheels (torch/version.py, TorchConfig.cmake, the arch list in
libtorch_python.so, bitsandbytes' native libraries) and inside sdists (DeepSpeed's requirements and op builder)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ftdoctor.index.client import IndexFile

TOPICS = ("torch", "bitsandbytes", "flash-attn", "deepspeed", "hf")


@dataclass(frozen=True)
class Disagreement:
    file: str  # compat_matrix/torch.toml
    row: str  # "torch 2.8"
    field: str
    matrix: str
    index: str


@dataclass
class VerifyReport:
    disagreements: list[Disagreement] = field(default_factory=list)
    checked: int = 0  # facts compared
    notes: list[str] = field(default_factory=list)

    def check(self, file: str, row: str, name: str, matrix: object, index: object, same: bool | None = None) -> None:
        self.checked += 1
        if not (matrix == index if same is None else same):
            self.disagreements.append(Disagreement(file, row, name, str(matrix), str(index)))


def verify(matrix, index, topics: tuple[str, ...] = TOPICS) -> VerifyReport:
    report = VerifyReport()
    steps = {"torch": _torch, "bitsandbytes": _bitsandbytes, "flash-attn": _flash_attn, "deepspeed": _deepspeed, "hf": _hf}
    for topic in topics:
        steps[topic](matrix, index, report)
    return report


def same_specifiers(a: str, b: str) -> bool:
    """'>=3.8' and '>=3.8.0' say the same thing."""
    def norm(text: str) -> set[tuple[str, Version]]:
        out = set()
        for spec in SpecifierSet(text):
            if spec.operator == "~=":  # ~=2.0 means >=2.0,<3 (and ~=2.0.1 means >=2.0.1,<2.1)
                low = Version(spec.version)
                parts = list(low.release[:-1])
                parts[-1] += 1
                out |= {(">=", low), ("<", Version(".".join(map(str, parts))))}
            else:
                out.add((spec.operator, Version(spec.version.rstrip(".*"))))
        return out
    try:
        return norm(a) == norm(b)
    except InvalidVersion:
        return a == b


def _released(versions: list[str], floor: str) -> list[Version]:
    out = []
    for text in versions:
        v = Version(text)
        if not v.is_prerelease and not v.local and v >= Version(floor):
            out.append(v)
    return out


def _linux_wheels(files: list[IndexFile], arch: str = "x86_64") -> list[IndexFile]:
    return [f for f in files if f.is_wheel and "linux" in f.filename and arch in f.filename]


def _glibc_of(filename: str) -> Version | None:
    """The glibc floor a manylinux tag promises: PEP 600 tags say it, legacy ones map to 2.5/2.12/2.17."""
    legacy = {"manylinux1": "2.5", "manylinux2010": "2.12", "manylinux2014": "2.17"}
    floors = []
    for tag in parse_wheel_filename(filename)[3]:
        match = re.fullmatch(r"manylinux_(\d+)_(\d+)_\w+", tag.platform)
        if match:
            floors.append(Version(f"{match.group(1)}.{match.group(2)}"))
        elif tag.platform.split("_x86_64")[0] in legacy:
            floors.append(Version(legacy[tag.platform.split("_x86_64")[0]]))
    return min(floors) if floors else None


def _check_glibc(report: VerifyReport, file: str, row: str, claimed: str, wheel: IndexFile) -> None:
    floor = _glibc_of(wheel.filename)
    if floor is None:
        return
    pep600 = "manylinux_" in wheel.filename
    ok = Version(claimed) == floor if pep600 else Version(claimed) >= floor
    report.check(file, row, "glibc_min", claimed, f"{floor} (wheel tag of {wheel.filename})", ok)


def _metadata(index, wheel: IndexFile) -> tuple[str, list[str]]:
    text = index.wheel_text(wheel, ".dist-info/METADATA") or ""
    python = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("Requires-Python:")), "")
    requires = [ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("Requires-Dist:")]
    return python, requires


# -- torch --------------------------------------------------------------------------------------------------

def _torch(matrix, index, report: VerifyReport) -> None:
    file = "compat_matrix/torch.toml"
    known = {Version(v) for r in matrix.torch.releases for v in r.versions}
    on_index = _released(index.versions("torch"), "2.1")
    for v in sorted(set(on_index) - known):
        report.check(file, f"torch {v}", "versions", "absent", "released on the index", False)
    for release in matrix.torch.releases:
        for v in release.versions:
            report.check(file, f"torch {v}", "exists", "listed", "missing", Version(v) in on_index)
        _torch_release(matrix, index, report, release)


def _torch_release(matrix, index, report: VerifyReport, release) -> None:
    file, row = "compat_matrix/torch.toml", f"torch {release.series}"
    newest = str(release.newest)
    wheels = _linux_wheels(index.files("torch", newest))
    if not wheels:
        report.check(file, row, "linux x86_64 wheels", "present", "none on the index", False)
        return
    pythons = sorted({_cpython(w.filename) for w in wheels} - {None}, key=Version)
    report.check(file, row, "python_wheels", list(release.python_wheels), pythons)
    wheel = _representative(wheels, release)
    report.check(file, row, "requires_python", release.requires_python, wheel.requires_python,
                 same_specifiers(release.requires_python, wheel.requires_python))
    _check_glibc(report, file, row, release.glibc_min, wheel)
    _, requires = _metadata(index, wheel)
    pinned = _cuda_from_requires(requires)
    version_py = index.wheel_text(wheel, "torch/version.py") or ""
    found = re.search(r"^cuda\b[^=]*=\s*'([\d.]+)'", version_py, re.M)
    report.check(file, row, "default_cuda (Requires-Dist pins)", release.default_cuda, pinned or "no CUDA pins")
    report.check(file, row, "default_cuda (torch/version.py)", release.default_cuda, found.group(1) if found else "none")
    cmake = index.wheel_text(wheel, "share/cmake/Torch/TorchConfig.cmake") or ""
    abi = "_GLIBCXX_USE_CXX11_ABI=0" not in cmake  # no flag: the compiler's default, the cxx11 ABI
    report.check(file, row, "cxx11_abi (TorchConfig.cmake)", release.cxx11_abi, abi)
    _torch_archs(index, report, file, row, release, wheel)


# The arch list torch was compiled for, as torch.cuda.get_arch_list() returns it: CMake's readable gencode list
# ("sm_75 ... sm_120", plus "compute_XY" for each arch that also carries PTX), a string in libtorch_python.so.
ARCH_FLAGS = r"(?:sm|compute)_[0-9]{2,3}[af]?(?: (?:sm|compute)_[0-9]{2,3}[af]?)+"


def _torch_archs(index, report: VerifyReport, file: str, row: str, release, wheel: IndexFile) -> None:
    """The default wheel's SASS and PTX architectures against the matrix's row for its CUDA variant."""
    variant = next((v for v in release.variants if v.cuda == release.default_cuda), None)
    if variant is None:
        return
    runs = index.wheel_grep(wheel, "torch/lib/libtorch_python.so", ARCH_FLAGS) or []
    if not runs:
        report.check(file, row, "archs (libtorch_python.so arch list)", "present", "not found in the wheel", False)
        return
    flags = [f.split("_") for f in max(runs, key=len).split()]  # other runs are stray fragments of other strings
    sass = [_cc(number) for kind, number in flags if kind == "sm"]
    ptx = [_cc(number) for kind, number in flags if kind == "compute"]
    name = f"cu{release.default_cuda.replace('.', '')}"
    report.check(file, row, f"archs of {name} (libtorch_python.so arch list)", list(variant.archs), sass)
    report.check(file, row, f"ptx of {name} (libtorch_python.so arch list)", list(variant.ptx), ptx)


def _cc(number: str) -> str:
    """'120' -> '12.0', '90a' -> '9.0a': the matrix's spelling of an nvcc arch number."""
    major, minor, suffix = re.fullmatch(r"(\d+)(\d)([af]?)", number).groups()
    return f"{major}.{minor}{suffix}"


def _cpython(filename: str) -> str | None:
    for tag in parse_wheel_filename(filename)[3]:
        match = re.fullmatch(r"cp3(\d+)", tag.abi)
        if match:
            return f"3.{match.group(1)}"
    return None


def _representative(wheels: list[IndexFile], release) -> IndexFile:
    wanted = "cp" + release.python_wheels[-1].replace(".", "") if release.python_wheels else ""
    for py in ("cp312", wanted):
        for w in wheels:
            if f"-{py}-{py}-" in w.filename:
                return w
    return wheels[0]


def _cuda_from_requires(requires: list[str]) -> str | None:
    """The CUDA of `nvidia-cuda-runtime[-cuXX]==X.Y.Z` or `cuda-toolkit[...]==X.Y.Z` (from 2.11)."""
    for text in requires:
        req = Requirement(text)
        if re.fullmatch(r"nvidia-cuda-runtime(-cu\d+)?|cuda-toolkit", req.name.lower()):
            for spec in req.specifier:
                if spec.operator == "==":
                    release = Version(spec.version.rstrip(".*")).release
                    return f"{release[0]}.{release[1]}"
    return None


# -- bitsandbytes -------------------------------------------------------------------------------------------

def _bitsandbytes(matrix, index, report: VerifyReport) -> None:
    file = "compat_matrix/bitsandbytes.toml"
    rows = {Version(v): r for r in matrix.bitsandbytes.releases for v in (r.version, *r.versions)}
    on_index = _released(index.versions("bitsandbytes"), "0.43")
    for v in sorted(set(on_index) - set(rows)):
        report.check(file, f"bitsandbytes {v}", "versions", "absent", "released on the index", False)
    for v, row in sorted(rows.items()):
        wheels = [w for w in _linux_wheels(index.files("bitsandbytes", str(v))) if "manylinux" in w.filename]
        if not wheels:
            report.check(file, f"bitsandbytes {v}", "linux x86_64 wheel", "present", "missing", False)
            continue
        _bnb_wheel(index, report, file, f"bitsandbytes {v}", row, wheels[0])


def _bnb_wheel(index, report: VerifyReport, file: str, name: str, row, wheel: IndexFile) -> None:
    libs = []
    for path in index.wheel_listing(wheel):
        found = re.search(r"libbitsandbytes_cuda(\d+)(\d)\.so$", path)
        if found:
            libs.append(f"{found.group(1)}.{found.group(2)}")
    report.check(file, name, "cuda_libs", sorted(row.cuda_libs, key=Version), sorted(libs, key=Version))
    python, requires = _metadata(index, wheel)
    report.check(file, name, "requires_python", row.requires_python, python, same_specifiers(row.requires_python, python))
    torch = next((str(Requirement(r).specifier) for r in requires if Requirement(r).name == "torch"), "")
    report.check(file, name, "torch", row.torch, torch, same_specifiers(row.torch, torch))
    _check_glibc(report, file, name, row.glibc_min, wheel)


# -- flash-attn ---------------------------------------------------------------------------------------------

def _flash_attn(matrix, index, report: VerifyReport) -> None:
    file, fa = "compat_matrix/flash_attn.toml", matrix.flash_attn
    known = {Version(r.version) for r in fa.releases}
    on_index = _released(index.versions("flash-attn"), "2.5")
    newest_known = max(known)
    for v in sorted(v for v in set(on_index) - known if v > newest_known):
        report.check(file, f"flash-attn {v}", "versions", "absent", "released on the index", False)
    for release in fa.releases:
        row = f"flash-attn {release.version}"
        files = index.files("flash-attn", release.version)
        report.check(file, row, "exists", "listed", "missing", bool(files))
        wheels = [f.filename for f in files if f.is_wheel]
        report.check(file, row, "index files", "sdist only", f"wheels: {wheels}", not wheels)
        sdist = next((f for f in files if not f.is_wheel), None)
        if sdist is not None:
            report.check(file, row, "requires_python", release.requires_python, sdist.requires_python,
                         same_specifiers(release.requires_python, sdist.requires_python))


# -- deepspeed ----------------------------------------------------------------------------------------------

def _deepspeed(matrix, index, report: VerifyReport) -> None:
    file, ds = "compat_matrix/deepspeed.toml", matrix.deepspeed
    known = sorted((Version(v) for v in ds.known_versions))
    on_index = _released(index.versions("deepspeed"), "0.14")
    for v in sorted(v for v in on_index if v > known[-1]):
        report.check(file, f"deepspeed {v}", "known_versions", f"newest {known[-1]}", "released on the index", False)
    for v in known:
        files = index.files("deepspeed", str(v))
        linux = [f.filename for f in files if f.is_wheel and "linux" in f.filename]
        report.check(file, f"deepspeed {v}", "index files", "sdist only for Linux", f"Linux wheels: {linux}", not linux)
        sdist = next((f for f in files if not f.is_wheel), None)
        if sdist is not None:
            _deepspeed_sdist(ds, index, report, file, str(v), sdist, newest=v == known[-1])


def _deepspeed_sdist(ds, index, report: VerifyReport, file: str, version: str, sdist: IndexFile, newest: bool) -> None:
    row, name = ds.release(version), f"deepspeed {version}"
    text = index.sdist_text(sdist, "requirements/requirements.txt") or ""
    reqs = sorted(ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#"))
    torch = next((str(Requirement(r).specifier) for r in reqs if Requirement(r).name == "torch"), "")
    report.check(file, name, "torch (requirements.txt)", row.torch, torch, same_specifiers(row.torch, torch))
    if newest:  # `requires` describes the newest known release
        others = sorted(str(Requirement(r)) for r in reqs if Requirement(r).name != "torch")
        mine = sorted(str(Requirement(r)) for r in ds.requires if Requirement(r).name != "torch")
        report.check(file, name, "requires (requirements.txt)", mine, others)
    builder = index.sdist_text(sdist, "op_builder/builder.py") or ""
    report.check(file, name, "mismatch_ok (op_builder/builder.py)", _families(row.mismatch_ok), _parse_families(builder))
    cxx20 = re.search(r"c\+\+20'? if \(TORCH_MAJOR, TORCH_MINOR\) >= \(2, 12\)", builder) is not None
    report.check(file, name, "C++20 for torch >= 2.12 (builder.py)", row.cxx_std_torch_2_12 == 20, cxx20)


def _families(families) -> dict[int, list[str]]:
    return {f.major: list(f.minors) for f in families}


def _parse_families(builder: str) -> dict[int, list[str]]:
    body = re.search(r"cuda_minor_mismatch_ok\s*=\s*\{(.*?)\n\}", builder, re.S)
    if not body:
        return {}
    text = re.sub(r"#.*", "", body.group(1))
    return {int(major): re.findall(r'"([\d.]+)"', minors) for major, minors in re.findall(r"(\d+)\s*:\s*\[(.*?)\]", text, re.S)}


# -- the HF stack ---------------------------------------------------------------------------------------------

def _hf(matrix, index, report: VerifyReport) -> None:
    from ftdoctor.matrix.hf_releases import counted_requirements

    file = "compat_matrix/hf_releases.toml"
    for package in matrix.hf_releases.packages:
        newest_row = max(Version(r.version) for r in package.releases)
        newer = [v for v in _released(index.versions(package.name), "0") if v > newest_row]
        if newer:
            report.check(file, package.name, "newest release", str(newest_row), f"{max(newer)} on the index", False)
        for row in package.releases:
            name = f"{package.name} {row.version}"
            wheels = [f for f in index.files(package.name, row.version) if f.is_wheel]
            if not wheels:
                report.check(file, name, "wheel", "present", "missing", False)
                continue
            python, requires = _metadata(index, wheels[0])
            report.check(file, name, "requires_python", row.requires_python, python, same_specifiers(row.requires_python, python))
            kept, torch = counted_requirements(package.name, requires)
            report.check(file, name, "requires", list(row.requires), list(kept))
            report.check(file, name, "torch", row.torch, torch, same_specifiers(row.torch, torch))
