"""Read what a shared library needs and exports, with pyelftools, without loading it.

The dynamic loader's view: DT_NEEDED, RUNPATH/RPATH, the symbol versions it needs (GLIBC_2.32,
GLIBCXX_3.4.30), its undefined dynamic symbols; and, for a library that provides symbols, a lookup through
its own hash table (.gnu.hash or .hash), the way ld.so resolves a name: no full symbol table is built.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.dynamic import DynamicSegment
from elftools.elf.elffile import ELFFile

ELF_MAGIC = b"\x7fELF"


class ElfReadError(Exception):
    """The file is not an ELF shared object pyelftools can read; the message says why."""


@dataclass(frozen=True)
class ElfNeeds:
    needed: tuple[str, ...] = ()
    search_path: tuple[str, ...] = ()  # RUNPATH entries, or RPATH when there is no RUNPATH (raw, "$ORIGIN" kept)
    uses_rpath: bool = False  # RPATH (searched before LD_LIBRARY_PATH) rather than RUNPATH (after)
    version_needs: tuple[str, ...] = ()  # "GLIBC_2.14", "GLIBCXX_3.4.21", "CXXABI_1.3.9", ...
    undefined: tuple[str, ...] = ()  # undefined, non-weak dynamic symbols (only when asked for)


def is_elf(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(4) == ELF_MAGIC
    except OSError:
        return False


def needed_libraries(path: Path) -> tuple[str, ...]:
    """DT_NEEDED only: the cheap first look that decides whether a file is worth a full read."""
    with _open(path) as elf:
        try:
            dynamic = _dynamic_segment(elf)
            return tuple(tag.needed for tag in dynamic.iter_tags("DT_NEEDED")) if dynamic else ()
        except (ELFError, ValueError, KeyError, AttributeError) as exc:
            raise ElfReadError(f"unreadable dynamic section: {exc}") from None


def read_needs(path: Path, *, symbols: bool) -> ElfNeeds:
    with _open(path) as elf:
        try:
            return _needs(elf, symbols)
        except (ELFError, ValueError, KeyError, AttributeError) as exc:  # a damaged section table
            raise ElfReadError(f"unreadable ELF data: {exc}") from None


def _needs(elf: ELFFile, symbols: bool) -> ElfNeeds:
    dynamic = _dynamic_segment(elf)
    tags = list(dynamic.iter_tags()) if dynamic else []
    runpath = [t.runpath for t in tags if t.entry.d_tag == "DT_RUNPATH"]
    rpath = [t.rpath for t in tags if t.entry.d_tag == "DT_RPATH"]
    search = ":".join(runpath or rpath)
    return ElfNeeds(
        needed=tuple(t.needed for t in tags if t.entry.d_tag == "DT_NEEDED"),
        search_path=tuple(p for p in search.split(":") if p),
        uses_rpath=bool(rpath) and not runpath,
        version_needs=_version_needs(elf),
        undefined=_undefined(elf) if symbols else (),
    )


def _version_needs(elf: ELFFile) -> tuple[str, ...]:
    section = elf.get_section_by_name(".gnu.version_r")
    if section is None:
        return ()
    return tuple(sorted({aux.name for _, auxes in section.iter_versions() for aux in auxes}))


def _undefined(elf: ELFFile) -> tuple[str, ...]:
    section = elf.get_section_by_name(".dynsym")
    if section is None:
        return ()
    return tuple(
        sym.name
        for sym in section.iter_symbols()
        if sym.name and sym["st_shndx"] == "SHN_UNDEF" and sym["st_info"]["bind"] != "STB_WEAK"
    )


class Exports:
    """The defined dynamic symbols of a set of libraries (torch's own), answered through their hash tables.

    Open files are kept until `close()`: pyelftools reads sections lazily from them.
    """

    def __init__(self, paths: list[Path]) -> None:
        self._stack = ExitStack()
        self._tables = []
        self.unreadable: list[str] = []
        for path in paths:
            try:
                elf = self._stack.enter_context(_open(path))
                self._tables.append(_lookup_table(elf))
            except ElfReadError as exc:
                self.unreadable.append(f"{path.name}: {exc}")

    def __enter__(self) -> Exports:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stack.close()

    def provides(self, name: str) -> bool:
        return any(table(name) for table in self._tables)


def _lookup_table(elf: ELFFile):
    """A function name -> defined? using .gnu.hash, else .hash, else a set built once from .dynsym."""
    for section_name in (".gnu.hash", ".hash"):
        table = elf.get_section_by_name(section_name)
        if table is not None and hasattr(table, "get_symbol"):
            return lambda name, table=table: _defined(table.get_symbol(name))
    dynsym = elf.get_section_by_name(".dynsym")
    names = {s.name for s in dynsym.iter_symbols() if s["st_shndx"] != "SHN_UNDEF"} if dynsym else set()
    return names.__contains__


def _defined(symbol) -> bool:
    return symbol is not None and symbol["st_shndx"] != "SHN_UNDEF"


def _dynamic_segment(elf: ELFFile) -> DynamicSegment | None:
    return next((seg for seg in elf.iter_segments() if isinstance(seg, DynamicSegment)), None)


@contextmanager
def _open(path: Path) -> Iterator[ELFFile]:
    """An ELFFile over the open file; every way the file can be wrong becomes ElfReadError."""
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise ElfReadError(exc.strerror or str(exc)) from None
    with file:
        try:
            elf = ELFFile(file)
        except (ELFError, ValueError, KeyError) as exc:
            raise ElfReadError(f"not a readable ELF file: {exc}") from None
        yield elf
