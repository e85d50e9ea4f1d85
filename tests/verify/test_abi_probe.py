"""The static ABI check on shared objects built here with gcc: a fake torch, extensions against it, and the
verdicts of ABI1xx on what was read. Nothing is loaded."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from verify_helpers import gcc

from ftdoctor.facts import serialize
from ftdoctor.facts.model import Distribution, Facts, PythonEnvFacts, Status, SystemFacts, TorchFacts
from ftdoctor.findings import Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.probes import abi
from ftdoctor.probes.host import Host
from ftdoctor.rules.abi import RULES
from ftdoctor.rules.base import Context
from ftdoctor.rules.engine import judge

NEW_ERROR = "_ZN3c105ErrorC2ENS_14SourceLocationENSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"
OLD_ERROR = "_ZN3c105ErrorC2ENS_14SourceLocationESs"


@pytest.fixture
def site(tmp_path) -> Path:
    """A site-packages with a fake torch whose libc10.so exports c10::foo() and the cxx11 c10::Error ctor."""
    folder = tmp_path / "site-packages"
    gcc(f"void _ZN3c103fooEv(void) {{}}\nvoid {NEW_ERROR}(void) {{}}\n", folder / "torch" / "lib" / "libc10.so",
        "-Wl,-soname,libc10.so")
    return folder


def probe(site: Path, env: dict | None = None):
    python = PythonEnvFacts(status=Status.OK, version="3.11.7",
                            distributions=(Distribution(name="torch", version="2.8.0", location=str(site)),))
    return abi.probe(Host(env={"PATH": "/usr/bin", "HOME": str(site.parent), **(env or {})}), python)


def extension(site: Path, relative: str, source: str, *flags: str) -> Path:
    return gcc(source, site / relative, f"-L{site / 'torch' / 'lib'}", "-lc10", *flags)


def verdicts(found, **facts_fields):
    facts = Facts(abi=found, torch=TorchFacts(status=Status.OK, version="2.8.0+cu128", cuda="12.8", cxx11_abi=True),
                  **facts_fields)
    return {f.code: f for f in judge(RULES, Context(facts=facts, matrix=load_matrix()))}


def test_missing_torch_symbols_and_the_abi_flip_are_found(site):
    extension(site, "myext/_C.so", f"""
        void _ZN3c103fooEv(void); void _ZN3c103barEv(void); void {OLD_ERROR}(void);
        void use(void) {{ _ZN3c103fooEv(); _ZN3c103barEv(); {OLD_ERROR}(); }}
    """)
    found = probe(site)
    ext = next(e for e in found.extensions if e.package == "myext")
    assert ext.links_torch and ext.missing_torch_symbol_count == 2
    assert set(ext.missing_torch_symbols) == {"_ZN3c103barEv", OLD_ERROR}
    assert ext.abi_flip_count == 1
    assert ext.needed[0].name == "libc10.so" and ext.needed[0].path == str(site / "torch" / "lib" / "libc10.so")
    finding = verdicts(found)["ABI100"]
    assert finding.severity == Severity.ERROR
    assert "myext/_C.so: 2 torch symbol(s)" in finding.message and "cxx11abi FALSE" in finding.message
    assert finding.fixes[0].commands[0].endswith("pip install --force-reinstall --no-deps --no-cache-dir myext")


def test_an_extension_that_fits_passes(site):
    extension(site, "good/_C.so", "void _ZN3c103fooEv(void); void use(void) { _ZN3c103fooEv(); }")
    finding = verdicts(probe(site))["ABI100"]
    assert finding.severity == Severity.OK and "1 extension(s) linking torch" in finding.message


def test_glibc_need_is_read_and_judged_at_the_boundary(site):
    # close_range appeared in glibc 2.34
    extension(site, "newlibc/_C.so", "int close_range(unsigned, unsigned, int); int use(void) { return close_range(3, 4, 0); }")
    found = probe(site)
    assert next(e for e in found.extensions if e.package == "newlibc").glibc_needed == "2.34"
    old = verdicts(found, system=SystemFacts(glibc_version="2.31"))["ABI101"]
    assert old.severity == Severity.ERROR and "newlibc/_C.so (GLIBC_2.34)" in old.message
    assert "version `GLIBC_2.34' not found" in old.message
    assert verdicts(found, system=SystemFacts(glibc_version="2.34"))["ABI101"].severity == Severity.OK
    assert verdicts(found, system=SystemFacts(glibc_version=None))["ABI101"].severity == Severity.WARNING


def test_glibcxx_need_against_the_libstdcxx_in_use(site):
    extension(site, "cxx/_C.so", "void use(void) {}")
    found = probe(site)
    ext = next(e for e in found.extensions if e.package == "cxx")
    needing = replace(found, extensions=(replace(ext, glibcxx_needed="3.4.32"),))
    bad = verdicts(needing, system=SystemFacts(glibcxx_max="3.4.30", libstdcxx_path="/usr/lib/libstdc++.so.6"))["ABI102"]
    assert bad.severity == Severity.ERROR and "GLIBCXX_3.4.32" in bad.message


def test_a_cuda_runtime_of_another_major_cannot_be_found(site, tmp_path):
    stub = gcc("void cudaMalloc(void) {}", tmp_path / "stubs" / "libcudart.so.11.0", "-Wl,-soname,libcudart.so.11.0")
    extension(site, "oldcuda/_C.so", "void cudaMalloc(void); void use(void) { cudaMalloc(); }",
              f"-L{stub.parent}", "-l:libcudart.so.11.0")
    # the same need in one of bitsandbytes' per-CUDA builds is not a problem: it loads only the one that fits
    gcc("void cudaMalloc(void); void use(void) { cudaMalloc(); }", site / "bitsandbytes" / "libbitsandbytes_cuda118.so",
        f"-L{stub.parent}", "-l:libcudart.so.11.0")
    found = probe(site)
    variant = next(e for e in found.extensions if e.package == "bitsandbytes")
    assert variant.runtime_selected and variant.needed[0].path is None
    finding = verdicts(found)["ABI103"]
    assert finding.severity == Severity.ERROR
    assert finding.message.startswith("oldcuda/_C.so needs libcudart.so.11.0 (built for CUDA 11; torch uses CUDA 12.8)")
    assert "bitsandbytes" not in finding.message


def test_runpath_with_origin_is_followed(site):
    lib = gcc("void helper(void) {}", site / "rp" / "libs" / "libhelper.so", "-Wl,-soname,libhelper.so")
    extension(site, "rp/_C.so", "void helper(void); void use(void) { helper(); }",
              f"-L{lib.parent}", "-lhelper", "-Wl,-rpath,$ORIGIN/libs", "-Wl,--enable-new-dtags")
    ext = next(e for e in probe(site).extensions if e.package == "rp" and e.path.endswith("_C.so"))
    helper = next(n for n in ext.needed if n.name == "libhelper.so")
    assert helper.path == str(lib)


def test_an_unreadable_extension_of_a_known_package_is_reported(site):
    broken = site / "flash_attn" / "broken.so"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"\x7fELF" + b"\x00" * 10)
    found = probe(site)
    assert next(e for e in found.extensions if e.package == "flash_attn").error
    assert verdicts(found)["ABI104"].severity == Severity.WARNING


def test_jit_built_ops_and_unrelated_libraries(site, tmp_path):
    jit = tmp_path / "extensions"
    extension(tmp_path, "extensions/cpu_adam/cpu_adam.so", "void _ZN3c103barEv(void); void use(void) { _ZN3c103barEv(); }",
              f"-L{site / 'torch' / 'lib'}")
    gcc("int plain(void) { return 1; }", site / "numpylike" / "_core.so")  # links no torch, unknown package
    found = probe(site, {"TORCH_EXTENSIONS_DIR": str(jit)})
    packages = {e.package for e in found.extensions}
    assert "torch_extensions" in packages and "numpylike" not in packages
    assert found.scanned >= 2
    finding = verdicts(found)["ABI100"]
    assert "cpu_adam.so" in finding.message
    assert any("torch_extensions" in c for c in finding.fixes[0].commands)


def test_facts_with_abi_and_verify_round_trip(site):
    extension(site, "myext/_C.so", "void _ZN3c103barEv(void); void use(void) { _ZN3c103barEv(); }")
    facts = Facts(abi=probe(site))
    assert serialize.from_dict(json.loads(serialize.dumps(facts))) == facts


def test_a_failed_scan_is_one_warning_not_five_and_a_snapshot_without_one_is_skipped():
    found = verdicts(replace(Facts().abi, reason="no site-packages folder of the diagnosed interpreter is known"))
    assert found["ABI100"].severity == Severity.WARNING
    assert {found[c].severity for c in ("ABI101", "ABI102", "ABI103", "ABI104")} == {Severity.SKIPPED}
    found = verdicts(Facts().abi)
    assert found["ABI100"].severity == Severity.SKIPPED
    assert {found[c].severity for c in ("ABI101", "ABI102", "ABI103", "ABI104")} == {Severity.SKIPPED}
