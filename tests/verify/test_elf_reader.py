"""The ELF reader behind the static ABI check: what it reads from shared objects built here with gcc, that
it agrees with pyelftools (a general ELF library, a dev dependency only) on real files, and that a damaged
file is one ElfReadError, never another exception and never a long loop."""

from __future__ import annotations

import random
import sysconfig
from pathlib import Path

import pytest
from verify_helpers import gcc

from ftdoctor.probes import elf

LIBRARY = """
    int exported_one(void) { return 1; }
    int exported_two(void) { return 2; }
    static int hidden(void) { return 3; }
    extern int needed_elsewhere(void);
    extern int maybe_there(void) __attribute__((weak));
    int use(void) { return hidden() + needed_elsewhere() + (maybe_there ? maybe_there() : 0); }
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("elf")
    dep = gcc("int needed_elsewhere(void) { return 0; }", folder / "libdep.so", "-Wl,-soname,libdep.so")
    common = (f"-L{folder}", "-ldep")
    return {
        "gnu": gcc(LIBRARY, folder / "libgnu.so", *common, "-Wl,--hash-style=gnu"),
        "sysv": gcc(LIBRARY, folder / "libsysv.so", *common, "-Wl,--hash-style=sysv"),
        "runpath": gcc(LIBRARY, folder / "librunpath.so", *common, "-Wl,-rpath,$ORIGIN/a:/opt/b",
                       "-Wl,--enable-new-dtags"),
        "rpath": gcc(LIBRARY, folder / "librpath.so", *common, "-Wl,-rpath,$ORIGIN/a", "-Wl,--disable-new-dtags"),
    }


@pytest.mark.parametrize("kind", ["gnu", "sysv"])
def test_needs_and_exports_through_either_hash_table(built, kind):
    needs = elf.read_needs(built[kind], symbols=True)
    assert needs.needed[0] == "libdep.so" and "libc.so.6" in needs.needed
    assert "needed_elsewhere" in needs.undefined
    assert "maybe_there" not in needs.undefined  # weak: the loader does not insist
    assert any(v.startswith("GLIBC_2.") for v in needs.version_needs) or not needs.version_needs
    with elf.Exports([built[kind]]) as exports:
        assert exports.provides("exported_one") and exports.provides("exported_two")
        assert not exports.provides("hidden")  # static: not in the dynamic table
        assert not exports.provides("needed_elsewhere")  # undefined here, though named
        assert not exports.provides("exported_three")
        assert not exports.unreadable


def test_one_set_of_libraries_with_both_hash_styles(built, tmp_path):
    other = gcc("int only_here(void) { return 4; }", tmp_path / "libother.so", "-Wl,--hash-style=sysv")
    with elf.Exports([built["gnu"], other, built["sysv"]]) as exports:
        # asked repeatedly and in turns: the library that answered last is asked first, answers stay the same
        for _ in range(3):
            assert exports.provides("only_here") and exports.provides("exported_one")
            assert not exports.provides("needed_elsewhere") and not exports.provides("absent_everywhere")


def test_runpath_and_rpath_are_told_apart(built):
    runpath = elf.read_needs(built["runpath"], symbols=False)
    assert runpath.search_path == ("$ORIGIN/a", "/opt/b") and not runpath.uses_rpath
    rpath = elf.read_needs(built["rpath"], symbols=False)
    assert rpath.search_path == ("$ORIGIN/a",) and rpath.uses_rpath


def test_a_text_file_named_so_is_not_elf_and_a_missing_file_is_one_error(tmp_path):
    script = tmp_path / "libfoo.so"
    script.write_text("/* GNU ld script */\nINPUT(libfoo.so.1)\n")
    with pytest.raises(elf.NotElf):
        elf.read_needs(script, symbols=False)
    with pytest.raises(elf.ElfReadError, match="No such file"):
        elf.read_needs(tmp_path / "absent.so", symbols=False)
    exports = elf.Exports([script])
    assert not exports.provides("anything") and exports.unreadable[0].startswith("libfoo.so: ")


@pytest.mark.parametrize("keep", [4, 20, 63, 200])
def test_a_truncated_file_is_one_error(built, tmp_path, keep):
    cut = tmp_path / "cut.so"
    cut.write_bytes(built["gnu"].read_bytes()[:keep])
    with pytest.raises(elf.ElfReadError):
        elf.read_needs(cut, symbols=True)


def test_damaged_files_never_raise_anything_else(built, tmp_path):
    """Random bytes written over a real library, 300 times: each read ends in a result or ElfReadError."""
    original = bytearray(built["gnu"].read_bytes())
    rng = random.Random(2)
    damaged = tmp_path / "damaged.so"
    outcomes = {"read": 0, "refused": 0}
    for _ in range(300):
        data = bytearray(original)
        for _ in range(rng.randint(1, 40)):
            at = rng.randrange(4, min(len(data), 4096))  # headers, dynamic segment and tables live up front
            data[at] = rng.randrange(256)
        damaged.write_bytes(bytes(data))
        try:
            elf.read_needs(damaged, symbols=True)
            outcomes["read"] += 1
        except elf.ElfReadError:
            outcomes["refused"] += 1
        with elf.Exports([damaged]) as exports:
            exports.provides("exported_one")
    assert outcomes["read"] and outcomes["refused"]  # both paths were taken


def _real_libraries(limit: int) -> list[Path]:
    """Small shared objects of the test interpreter's environment (torch's small ones included)."""
    site = Path(sysconfig.get_paths()["purelib"])
    found = [p for p in sorted(site.rglob("*.so")) if not p.is_symlink() and p.stat().st_size < 4_000_000
             and p.read_bytes()[:4] == elf.ELF_MAGIC]
    return found[:limit]


def test_agrees_with_pyelftools_on_real_files(built):
    elffile = pytest.importorskip("elftools.elf.elffile")
    dynamic_mod = pytest.importorskip("elftools.elf.dynamic")
    files = list(built.values()) + _real_libraries(40)
    assert len(files) > 4
    for path in files:
        with open(path, "rb") as file:
            other = elffile.ELFFile(file)
            dynamic = next((s for s in other.iter_segments() if isinstance(s, dynamic_mod.DynamicSegment)), None)
            needed = tuple(t.needed for t in dynamic.iter_tags("DT_NEEDED")) if dynamic else ()
            verneed = other.get_section_by_name(".gnu.version_r")
            versions = tuple(sorted({a.name for _, auxes in verneed.iter_versions() for a in auxes})) if verneed else ()
            dynsym = other.get_section_by_name(".dynsym")
            symbols = list(dynsym.iter_symbols()) if dynsym else []
        undefined = tuple(s.name for s in symbols
                          if s.name and s["st_shndx"] == "SHN_UNDEF" and s["st_info"]["bind"] != "STB_WEAK")
        defined = [s.name for s in symbols if s.name and s["st_shndx"] != "SHN_UNDEF"]
        ours = elf.read_needs(path, symbols=True)
        assert (ours.needed, ours.version_needs, ours.undefined) == (needed, versions, undefined), path
        with elf.Exports([path]) as exports:
            assert all(exports.provides(name) for name in defined[:200]), path
            assert not any(exports.provides(name) for name in undefined[:50] if name not in defined), path
