"""Read what a shared library needs and exports from its ELF dynamic segment, without loading it.

The dynamic loader's view, read the way ld.so reads it (program headers, not the optional section table):
DT_NEEDED, RUNPATH/RPATH, the symbol versions it needs (GLIBC_2.32, GLIBCXX_3.4.30), its undefined dynamic
symbols; and, for a library that provides symbols, a lookup through its own hash table (DT_GNU_HASH or
DT_HASH), so no symbol table is built. Files are memory-mapped: of a 500 MB libtorch_cpu.so only the pages a
lookup touches are read. A general ELF library parses every header into objects first, which made this
scan most of `ftdoctor check --no-torch`'s time.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
PT_LOAD, PT_DYNAMIC = 1, 2
DT_NULL, DT_NEEDED, DT_HASH, DT_STRTAB, DT_SYMTAB, DT_RPATH, DT_RUNPATH = 0, 1, 4, 5, 6, 15, 29
DT_GNU_HASH, DT_VERNEED, DT_VERNEEDNUM = 0x6FFFFEF5, 0x6FFFFFFE, 0x6FFFFFFF
SHT_DYNSYM = 11
SHN_UNDEF = 0
STB_WEAK = 2
# Every count read from the file is bounded by what the file can hold; this caps the loops a damaged
# (or hostile) file could otherwise make long.
MAX_ENTRIES = 1 << 22
DAMAGE = (struct.error, IndexError, ValueError, OverflowError, UnicodeDecodeError)


class ElfReadError(Exception):
    """The file is not an ELF shared object that can be read; the message says why."""


class NotElf(ElfReadError):
    """The file does not start with the ELF magic (a linker script, a text file named .so)."""


@dataclass(frozen=True)
class ElfNeeds:
    needed: tuple[str, ...] = ()
    search_path: tuple[str, ...] = ()  # RUNPATH entries, or RPATH when there is no RUNPATH (raw, "$ORIGIN" kept)
    uses_rpath: bool = False  # RPATH (searched before LD_LIBRARY_PATH) rather than RUNPATH (after)
    version_needs: tuple[str, ...] = ()  # "GLIBC_2.14", "GLIBCXX_3.4.21", "CXXABI_1.3.9", ...
    undefined: tuple[str, ...] = ()  # undefined, non-weak dynamic symbols (only when asked for)


def read_needs(path: Path, *, symbols: bool) -> ElfNeeds:
    with _Image.open(path) as image:
        return image.guard(image.needs, symbols)


class Exports:
    """The defined dynamic symbols of a set of libraries (torch's own), answered through their hash tables.

    The libraries are opened on the first question, so a scan that finds nothing linking torch never maps
    them; they stay mapped until `close()`.
    """

    def __init__(self, paths: list[Path]) -> None:
        self._paths = list(paths)
        self._images: list[_Image] | None = None
        self.unreadable: list[str] = []

    def __enter__(self) -> Exports:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for image in self._images or ():
            image.close()
        self._images = []

    def provides(self, name: str) -> bool:
        if self._images is None:
            self._images = self._open_all()
        key = _Name(name.encode())
        for position, image in enumerate(self._images):
            try:
                found = image.defines(key)
            except (ElfReadError, *DAMAGE):
                continue  # a damaged table answers nothing; the other libraries still can
            if found:
                if position:  # the library that answered is asked first next time: most names live in one or two
                    self._images.insert(0, self._images.pop(position))
                return True
        return False

    def _open_all(self) -> list[_Image]:
        images = []
        for path in self._paths:
            try:
                image = _Image.open(path)
                image.guard(image.prepare_lookup)
                images.append(image)
            except ElfReadError as exc:
                self.unreadable.append(f"{path.name}: {exc}")
        return images


class _Name:
    """A symbol name with its two ELF hashes, each computed once however many libraries are asked."""

    __slots__ = ("text", "_gnu", "_sysv")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._gnu: int | None = None
        self._sysv: int | None = None

    @property
    def gnu(self) -> int:
        if self._gnu is None:
            h = 5381
            for byte in self.text:
                h = h * 33 + byte
            self._gnu = h & 0xFFFFFFFF  # the masking once at the end gives the same low 32 bits
        return self._gnu

    @property
    def sysv(self) -> int:
        if self._sysv is None:
            h = 0
            for byte in self.text:
                h = ((h << 4) + byte) & 0xFFFFFFFF
                high = h & 0xF0000000
                if high:
                    h ^= high >> 24
                h &= ~high & 0xFFFFFFFF
            self._sysv = h
        return self._sysv


class _Image:
    """One mapped ELF file and the parts of its dynamic segment this module reads."""

    def __init__(self, data: mmap.mmap | bytes) -> None:
        self.data = data
        self._lookup = None
        self._read_header()
        self._read_dynamic()

    @classmethod
    def open(cls, path: Path) -> _Image:
        try:
            with open(path, "rb") as file:
                if file.read(4) != ELF_MAGIC:
                    raise NotElf("not an ELF file")
                # A file cut short in place while mapped would fault on access; installers write new files
                # (new inodes) instead, so a mapped old copy stays whole until it is closed.
                try:
                    data = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
                except ValueError:
                    raise ElfReadError("truncated ELF file") from None
                except OSError:  # a file system that cannot map: small files only reach here in practice
                    file.seek(0)
                    data = file.read()
        except OSError as exc:
            raise ElfReadError(exc.strerror or str(exc)) from None
        try:
            return cls(data)
        except ElfReadError:
            _close(data)
            raise
        except DAMAGE as exc:
            _close(data)
            raise ElfReadError(f"not a readable ELF file: {exc}") from None

    def __enter__(self) -> _Image:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        _close(self.data)

    def guard(self, read, *args):
        """Run one read; a damaged table anywhere becomes ElfReadError."""
        try:
            return read(*args)
        except DAMAGE as exc:
            raise ElfReadError(f"unreadable ELF data: {exc}") from None

    # -- headers ---------------------------------------------------------------------------------------------

    def _read_header(self) -> None:
        data = self.data
        elf_class, encoding = data[4], data[5]
        if elf_class not in (1, 2) or encoding not in (1, 2):
            raise ElfReadError(f"not a readable ELF file: class {elf_class}, data encoding {encoding}")
        order = "<" if encoding == 1 else ">"
        self.wide = elf_class == 2
        if self.wide:
            phoff, shoff = struct.unpack_from(order + "QQ", data, 32)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", data, 54)
            program = struct.Struct(order + "IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align
            self._dyn = struct.Struct(order + "qQ")
            self._sym = struct.Struct(order + "IBBHQQ")  # name, info, other, shndx, value, size
            self._section = struct.Struct(order + "IIQQQQIIQQ")
        else:
            phoff, shoff = struct.unpack_from(order + "II", data, 28)
            phentsize, phnum, shentsize, shnum = struct.unpack_from(order + "HHHH", data, 42)
            program = struct.Struct(order + "IIIIIIII")  # type, offset, vaddr, paddr, filesz, memsz, flags, align
            self._dyn = struct.Struct(order + "iI")
            self._sym = struct.Struct(order + "IIIBBH")  # name, value, size, info, other, shndx
            self._section = struct.Struct(order + "IIIIIIIIII")
        self._order = order
        self._shoff, self._shentsize, self._shnum = shoff, shentsize, shnum
        self.loads: list[tuple[int, int, int]] = []  # (vaddr, file offset, size in the file)
        self._dynamic: tuple[int, int] | None = None
        for index in range(phnum):
            fields = program.unpack_from(data, phoff + index * phentsize)
            kind, offset, vaddr, filesz = (fields[0], fields[2], fields[3], fields[5]) if self.wide else fields[:3] + (fields[4],)
            if kind == PT_LOAD:
                self.loads.append((vaddr, offset, filesz))
            elif kind == PT_DYNAMIC:
                self._dynamic = (offset, filesz)

    def _read_dynamic(self) -> None:
        self.tags: list[tuple[int, int]] = []
        self._first: dict[int, int] = {}
        self._strtab: int | None = None
        if self._dynamic is None:
            return
        offset, size = self._dynamic
        end = min(offset + size, len(self.data))
        for start in range(offset, end - self._dyn.size + 1, self._dyn.size):
            tag, value = self._dyn.unpack_from(self.data, start)
            if tag == DT_NULL:
                break
            self.tags.append((tag, value))
        for tag, value in self.tags:
            self._first.setdefault(tag, value)
        self._strtab = self._offset(self._first[DT_STRTAB]) if DT_STRTAB in self._first else None

    def _offset(self, vaddr: int) -> int:
        """The file offset of an address the dynamic segment names, through the PT_LOAD that maps it."""
        for start, offset, size in self.loads:
            if start <= vaddr < start + size:
                return vaddr - start + offset
        raise ElfReadError(f"address {vaddr:#x} is outside every loaded segment")

    def _string(self, index: int) -> str:
        if self._strtab is None:
            raise ElfReadError("no dynamic string table")
        start = self._strtab + index
        end = self.data.find(b"\0", start)
        if end < 0:
            raise ElfReadError("unterminated string")
        return self.data[start:end].decode("utf-8", "replace")

    # -- what it needs ---------------------------------------------------------------------------------------

    def needed(self) -> tuple[str, ...]:
        return tuple(self._string(value) for tag, value in self.tags if tag == DT_NEEDED)

    def needs(self, symbols: bool) -> ElfNeeds:
        runpath = [self._string(v) for t, v in self.tags if t == DT_RUNPATH]
        rpath = [self._string(v) for t, v in self.tags if t == DT_RPATH]
        search = ":".join(runpath or rpath)
        return ElfNeeds(
            needed=self.needed(),
            search_path=tuple(p for p in search.split(":") if p),
            uses_rpath=bool(rpath) and not runpath,
            version_needs=self._version_needs(),
            undefined=self._undefined() if symbols else (),
        )

    def _version_needs(self) -> tuple[str, ...]:
        if DT_VERNEED not in self._first:
            return ()
        names = set()
        entry = self._offset(self._first[DT_VERNEED])
        for _ in range(min(self._first.get(DT_VERNEEDNUM, 0), MAX_ENTRIES)):
            _, count, _, aux_offset, next_offset = struct.unpack_from(self._order + "HHIII", self.data, entry)
            aux = entry + aux_offset
            for _ in range(count):
                _, _, _, name, aux_next = struct.unpack_from(self._order + "IHHII", self.data, aux)
                names.add(self._string(name))
                if not aux_next:
                    break
                aux += aux_next
            if not next_offset:
                break
            entry += next_offset
        return tuple(sorted(names))

    def _undefined(self) -> tuple[str, ...]:
        table, count = self._symbol_table()
        found = []
        for index in range(1, count):
            name, info, shndx = self._symbol(table, index)
            if name and shndx == SHN_UNDEF and info >> 4 != STB_WEAK:
                found.append(self._string(name))
        return tuple(found)

    def _symbol(self, table: int, index: int) -> tuple[int, int, int]:
        fields = self._sym.unpack_from(self.data, table + index * self._sym.size)
        return (fields[0], fields[1], fields[3]) if self.wide else (fields[0], fields[3], fields[5])

    def _symbol_table(self) -> tuple[int, int]:
        """(file offset, number of symbols) of the dynamic symbol table; the count comes from a hash table,
        which is how ld.so knows it, else from the section table."""
        if DT_SYMTAB not in self._first:
            return 0, 0
        table = self._offset(self._first[DT_SYMTAB])
        if DT_GNU_HASH in self._first:
            count = self._gnu_hash_count(self._offset(self._first[DT_GNU_HASH]))
        elif DT_HASH in self._first:
            count = struct.unpack_from(self._order + "I", self.data, self._offset(self._first[DT_HASH]) + 4)[0]
        else:
            count = self._section_symbol_count()
        return table, min(count, (len(self.data) - table) // self._sym.size, MAX_ENTRIES)

    def _gnu_hash_count(self, offset: int) -> int:
        buckets, first, bloom_words = self._gnu_header(offset)[:3]
        bucket_start = offset + 16 + bloom_words * (8 if self.wide else 4)
        last = max(struct.unpack_from(f"{self._order}{buckets}I", self.data, bucket_start), default=0)
        if last < first:
            return first
        chain = bucket_start + 4 * buckets
        for index in range(last, last + MAX_ENTRIES):
            if struct.unpack_from(self._order + "I", self.data, chain + 4 * (index - first))[0] & 1:
                return index + 1
        raise ElfReadError("endless GNU hash chain")

    def _gnu_header(self, offset: int) -> tuple[int, int, int, int]:
        buckets, first, bloom_words, shift = struct.unpack_from(self._order + "IIII", self.data, offset)
        if buckets > MAX_ENTRIES or bloom_words > MAX_ENTRIES:
            raise ElfReadError("implausible GNU hash table")
        return buckets, first, bloom_words, shift

    def _section_symbol_count(self) -> int:
        for index in range(self._shnum if self._shoff else 0):
            fields = self._section.unpack_from(self.data, self._shoff + index * self._shentsize)
            if fields[1] == SHT_DYNSYM:
                size, entsize = (fields[5], fields[9])
                return size // entsize if entsize else 0
        return 0

    # -- what it defines -------------------------------------------------------------------------------------

    def prepare_lookup(self) -> None:
        if self._strtab is None:
            raise ElfReadError("no dynamic string table")
        table = self._offset(self._first[DT_SYMTAB]) if DT_SYMTAB in self._first else 0
        if DT_GNU_HASH in self._first:
            self._lookup = _GnuHash(self, self._offset(self._first[DT_GNU_HASH]), table)
        elif DT_HASH in self._first:
            self._lookup = _SysvHash(self, self._offset(self._first[DT_HASH]), table)
        else:  # no hash table: one set of names, built once
            start, count = self._symbol_table()
            names = frozenset(
                self._string(name).encode()
                for name, _, shndx in (self._symbol(start, i) for i in range(1, count))
                if name and shndx != SHN_UNDEF
            )
            self._lookup = lambda key: key.text in names

    def defines(self, name: _Name) -> bool:
        return self._lookup(name)

    def symbol_named(self, table: int, index: int, name: bytes) -> bool:
        """Symbol `index` is a defined one called `name` (compared in place, without decoding)."""
        offset, _, shndx = self._symbol(table, index)
        start = self._strtab + offset
        return shndx != SHN_UNDEF and self.data[start:start + len(name) + 1] == name + b"\0"


class _GnuHash:
    """DT_GNU_HASH lookup as ld.so does it: bloom filter, bucket, then the chain of equal-bucket hashes."""

    def __init__(self, image: _Image, offset: int, table: int) -> None:
        self.image, self.table = image, table
        self.buckets, self.first, self.bloom_words, self.shift = image._gnu_header(offset)
        self.word_bits = 64 if image.wide else 32
        order = image._order
        self.bloom = struct.unpack_from(f"{order}{self.bloom_words}{'Q' if image.wide else 'I'}", image.data, offset + 16)
        bucket_start = offset + 16 + self.bloom_words * self.word_bits // 8
        self.bucket = struct.unpack_from(f"{order}{self.buckets}I", image.data, bucket_start)
        self.chain = bucket_start + 4 * self.buckets
        self.word = struct.Struct(order + "I")

    def __call__(self, key: _Name) -> bool:
        if not self.buckets or not self.bloom_words:
            return False
        h, name = key.gnu, key.text
        word = self.bloom[(h // self.word_bits) % self.bloom_words]
        mask = (1 << (h % self.word_bits)) | (1 << ((h >> self.shift) % self.word_bits))
        if word & mask != mask:
            return False
        index = self.bucket[h % self.buckets]
        if index < self.first:
            return False
        for _ in range(MAX_ENTRIES):
            other = self.word.unpack_from(self.image.data, self.chain + 4 * (index - self.first))[0]
            if (other | 1) == (h | 1) and self.image.symbol_named(self.table, index, name):
                return True
            if other & 1:
                return False
            index += 1
        return False


class _SysvHash:
    """DT_HASH lookup (older linkers, some musl builds)."""

    def __init__(self, image: _Image, offset: int, table: int) -> None:
        self.image, self.table = image, table
        order = image._order
        self.buckets, chains = struct.unpack_from(order + "II", image.data, offset)
        if self.buckets > MAX_ENTRIES or chains > MAX_ENTRIES:
            raise ElfReadError("implausible hash table")
        self.bucket = struct.unpack_from(f"{order}{self.buckets}I", image.data, offset + 8)
        self.chain = struct.unpack_from(f"{order}{chains}I", image.data, offset + 8 + 4 * self.buckets)

    def __call__(self, key: _Name) -> bool:
        if not self.buckets:
            return False
        h, name = key.sysv, key.text
        index = self.bucket[h % self.buckets]
        for _ in range(len(self.chain)):
            if index == 0 or index >= len(self.chain):
                return False
            if self.image.symbol_named(self.table, index, name):
                return True
            index = self.chain[index]
        return False


def _close(data: mmap.mmap | bytes) -> None:
    if isinstance(data, mmap.mmap):
        data.close()
