"""Static ABI facts: what every compiled extension in the diagnosed environment needs from torch and from the
system, read from ELF files. Nothing is imported or loaded, so this predicts "undefined symbol" and
"GLIBCXX_3.4.30 not found" before any import runs, and works where importing would crash.

Scanned: every shared object under the environment's site-packages that links libc10/libtorch, every one in
a package known to ship CUDA/C++ extensions, and the JIT-built ops in torch's extensions cache (DeepSpeed
ops). torch's own folder is the reference, not a subject; `nvidia/` and `*.libs/` hold dependencies.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import AbiFacts, ExtensionAbi, NeededLibrary, PythonEnvFacts, Status
from ftdoctor.probes import elf
from ftdoctor.probes.host import Host

KNOWN_PACKAGES = frozenset({
    "flash_attn", "flash_attn_2_cuda", "flash_attn_3", "flash_attn_interface", "xformers", "deepspeed",
    "bitsandbytes", "apex", "mamba_ssm", "causal_conv1d", "vllm", "liger_kernel",
})
SKIPPED_TOP = frozenset({"torch", "nvidia", "triton", "__pycache__"})
SKIPPED_SUFFIXES = (".dist-info", ".egg-info", ".libs", ".data")
RUNTIME_VARIANT = re.compile(r"^libbitsandbytes_(cuda|rocm|xpu)\d*")  # bitsandbytes loads one of these, chosen at run time
TORCH_LIBRARY = re.compile(r"^lib(c10|torch|shm)[\w.]*\.so")
# A symbol torch should provide: its own namespace is c10::, at::, torch:: or caffe2:: (plus THP* Python glue).
TORCH_SYMBOL = re.compile(r"^_Z(?:T[VIS])?N?[rVK]*(?:3c10|2at|5torch|6caffe2)(?=\d|[A-Z])|^(?:_Z\d+)?THP")
NEW_STRING = "NSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"
OLD_STRING = "Ss"
MISSING_KEPT = 12
SYSTEM_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
               "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu")


def probe(host: Host, python: PythonEnvFacts) -> AbiFacts:
    start = time.monotonic()
    sites = _site_dirs(python)
    if not sites:
        return AbiFacts(status=Status.UNKNOWN, reason="no site-packages folder of the diagnosed interpreter is known")
    torch_lib = next((s / "torch" / "lib" for s in sites if (s / "torch" / "lib").is_dir()), None)
    torch_libs = sorted(p for p in torch_lib.iterdir() if _is_library_file(p)) if torch_lib else []
    resolver = _Resolver(host, sites, torch_lib)
    candidates = list(_candidates(sites)) + list(_jit_ops(host, python))
    with elf.Exports(torch_libs) as exports:
        scanned, extensions = _scan(candidates, exports if torch_libs else None, resolver)
    return AbiFacts(
        status=Status.OK,
        torch_lib_dir=str(torch_lib) if torch_lib else None,
        torch_libraries=tuple(p.name for p in torch_libs),
        scanned=scanned,
        extensions=tuple(extensions),
        elapsed_s=round(time.monotonic() - start, 3),
        reason="" if torch_lib else "torch is not installed: torch symbols were not checked",
    )


def _site_dirs(python: PythonEnvFacts) -> list[Path]:
    """The folders the environment's distributions live in (a relative one comes from an in-tree egg-info)."""
    seen: dict[str, Path] = {}
    for dist in python.distributions:
        where = dist.location
        if where and where not in seen and Path(where).is_absolute() and Path(where).is_dir():
            seen[where] = Path(where)
    return list(seen.values())


def _is_library_file(path: Path) -> bool:
    return path.is_file() and (path.name.endswith(".so") or ".so." in path.name)


def _candidates(sites: list[Path]):
    """(file, top-level package) for every shared object worth a look, torch's own and dependency folders left out."""
    for site in sites:
        for top in sorted(site.iterdir()):
            if top.name in SKIPPED_TOP or top.name.startswith(".") or top.name.endswith(SKIPPED_SUFFIXES):
                continue
            if top.is_file() and _is_library_file(top):
                yield top, top.name.split(".")[0]
            elif top.is_dir():
                yield from ((path, top.name) for path in _libraries_under(top))


def _libraries_under(folder: Path | str):
    """Files first, then sub-folders, each sorted: a stable order for the findings. os.scandir gives each
    entry's type with the listing, so a package of 10,000 .py files costs no stat call per file."""
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if (name.endswith(".so") or ".so." in name) and entry.is_file(follow_symlinks=False):
            yield Path(entry.path)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False) and entry.name not in ("__pycache__", "tests"):
            yield from _libraries_under(entry.path)


def _jit_ops(host: Host, python: PythonEnvFacts):
    """Ops torch's JIT built for this Python (DeepSpeed's first-use builds): stale ones fail with undefined symbols.

    torch builds into $TORCH_EXTENSIONS_DIR/<op>/ when that is set, else ~/.cache/torch_extensions/py311_cu128/<op>/.
    """
    chosen = host.env.get("TORCH_EXTENSIONS_DIR")
    if chosen:
        folders = [Path(chosen)]
    else:
        tag = "py" + "".join(python.version.split(".")[:2])
        default = Path(host.env.get("HOME", "~")).expanduser() / ".cache" / "torch_extensions"
        folders = sorted(default.glob(f"{tag}_*")) if python.version and default.is_dir() else []
    for folder in folders:
        for path in sorted(folder.glob("*/*.so")):
            yield path, "torch_extensions"


def _scan(candidates, exports: elf.Exports | None, resolver: _Resolver) -> tuple[int, list[ExtensionAbi]]:
    scanned, found = 0, []
    for path, package in candidates:
        try:
            needs = elf.read_needs(path, symbols=False)
        except elf.NotElf:
            continue
        except elf.ElfReadError as exc:
            scanned += 1
            if package in KNOWN_PACKAGES:
                found.append(ExtensionAbi(path=str(path), package=package, links_torch=False, error=str(exc)))
            continue
        scanned += 1
        links_torch = any(TORCH_LIBRARY.match(name) for name in needs.needed)
        if links_torch or package in KNOWN_PACKAGES or package == "torch_extensions":
            found.append(_extension(path, package, links_torch, needs, exports, resolver))
    return scanned, found


def _extension(path: Path, package: str, links_torch: bool, needs: elf.ElfNeeds, exports: elf.Exports | None,
               resolver: _Resolver) -> ExtensionAbi:
    base = {"path": str(path), "package": package, "links_torch": links_torch,
            "runtime_selected": bool(RUNTIME_VARIANT.match(path.name))}
    if links_torch and exports is not None:  # the symbol table is read only for what links torch
        try:
            needs = elf.read_needs(path, symbols=True)
        except elf.ElfReadError as exc:
            return ExtensionAbi(**base, error=str(exc))
    missing = [s for s in needs.undefined if TORCH_SYMBOL.search(s) and not exports.provides(s)] if exports else []
    return ExtensionAbi(
        **base,
        needed=tuple(NeededLibrary(name, resolver.find(name, path, needs)) for name in needs.needed),
        missing_torch_symbols=tuple(missing[:MISSING_KEPT]),
        missing_torch_symbol_count=len(missing),
        abi_flip_count=sum(1 for s in missing if exports and exports.provides(_flip_string_abi(s))),
        glibc_needed=_highest(needs.version_needs, "GLIBC_"),
        glibcxx_needed=_highest(needs.version_needs, "GLIBCXX_"),
    )


def _flip_string_abi(symbol: str) -> str:
    """The same symbol under the other libstdc++ string ABI (cxx11abi TRUE <-> FALSE)."""
    if NEW_STRING in symbol:
        return symbol.replace(NEW_STRING, OLD_STRING)
    return symbol.replace(OLD_STRING, NEW_STRING)


def _highest(needs: tuple[str, ...], prefix: str) -> str | None:
    versions = []
    for need in needs:
        if need.startswith(prefix):
            try:
                versions.append(Version(need[len(prefix):]))
            except InvalidVersion:
                continue
    return str(max(versions)) if versions else None


class _Resolver:
    """Where ld.so would find a DT_NEEDED library for an extension imported after torch.

    Order: RPATH, LD_LIBRARY_PATH, RUNPATH (with $ORIGIN), what torch loads first (its lib folder and the
    nvidia-* wheels' libraries, matched by soname once loaded), then ld.so.conf folders and the defaults.
    """

    def __init__(self, host: Host, sites: list[Path], torch_lib: Path | None) -> None:
        self._host = host
        self._listing: dict[str, frozenset[str]] = {}
        self._ld_library_path = [d for d in host.env.get("LD_LIBRARY_PATH", "").split(":") if d]
        torch_side = [str(torch_lib)] if torch_lib else []
        torch_side += [str(p) for site in sites for p in sorted(site.glob("nvidia/*/lib"))]
        self._after = torch_side + [str(host.path(d)) for d in self._system_dirs()]

    def find(self, name: str, origin: Path, needs: elf.ElfNeeds) -> str | None:
        own = [d.replace("$ORIGIN", str(origin.parent)).replace("${ORIGIN}", str(origin.parent)) for d in needs.search_path]
        order = (own + self._ld_library_path) if needs.uses_rpath else (self._ld_library_path + own)
        for folder in order + self._after:
            if name in self._files(folder):
                return str(Path(folder, name))
        return None

    def _files(self, folder: str) -> frozenset[str]:
        if folder not in self._listing:
            try:
                self._listing[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._listing[folder] = frozenset()
        return self._listing[folder]

    def _system_dirs(self) -> list[str]:
        conf = [self._host.read_text("/etc/ld.so.conf") or ""]
        conf_d = self._host.path("/etc/ld.so.conf.d")
        if conf_d.is_dir():
            conf += [p.read_text(errors="replace") for p in sorted(conf_d.glob("*.conf"))]
        listed = [line.strip() for text in conf for line in text.splitlines()]
        dirs = [line for line in listed if line.startswith("/")]
        return dirs + [d for d in SYSTEM_DIRS if d not in dirs]
