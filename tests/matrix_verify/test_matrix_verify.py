"""`ftdoctor matrix verify` against recorded index answers (tests/fixtures/index, recorded from the real index
with `ftdoctor matrix verify --record`): the shipped matrix agrees, and each kind of wrong row is caught."""

import dataclasses
import os
from pathlib import Path

import pytest

from ftdoctor.index.recorded import RecordedIndex
from ftdoctor.index.verify import same_specifiers, verify
from ftdoctor.matrix import load_matrix

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "index"
M = load_matrix()


def fields(report):
    return {(d.row, d.field) for d in report.disagreements}


def test_the_shipped_matrix_agrees_with_the_recorded_index():
    report = verify(M, RecordedIndex(FIXTURES))
    assert report.disagreements == []
    assert report.checked > 400


def _replace_torch(series, **changes):
    releases = tuple(dataclasses.replace(r, **changes) if r.series == series else r for r in M.torch.releases)
    return M.replace(torch=dataclasses.replace(M.torch, releases=releases))


@pytest.mark.parametrize("changes, field", [
    (dict(default_cuda="12.6", variants=()), "default_cuda (Requires-Dist pins)"),
    (dict(python_wheels=("3.9", "3.10")), "python_wheels"),
    (dict(requires_python=">=3.8"), "requires_python"),
    (dict(glibc_min="2.17"), "glibc_min"),
    (dict(cxx11_abi=False), "cxx11_abi (TorchConfig.cmake)"),
])
def test_wrong_torch_rows_are_reported(changes, field):
    if "default_cuda" in changes:  # keep the row constructible: default_cuda must be one of its variants
        variant = dataclasses.replace(M.torch.release_for("2.8.0").variants[0], cuda="12.6")
        changes["variants"] = (variant,)
    report = verify(_replace_torch("2.8", **changes), RecordedIndex(FIXTURES), ("torch",))
    assert ("torch 2.8", field) in fields(report)


@pytest.mark.parametrize("changes, field", [
    (dict(ptx=("12.0",)), "ptx of cu130 (libtorch_python.so arch list)"),  # the index wheel carries no PTX
    (dict(archs=("7.5", "8.0", "8.6", "9.0", "10.0")), "archs of cu130 (libtorch_python.so arch list)"),  # sm_120 is in it
])
def test_wrong_arch_lists_of_the_default_wheel_are_reported(changes, field):
    release = M.torch.release_for("2.14.1")
    variants = tuple(dataclasses.replace(v, **changes) if v.cuda == release.default_cuda else v for v in release.variants)
    report = verify(_replace_torch("2.14", variants=variants), RecordedIndex(FIXTURES), ("torch",))
    assert fields(report) == {("torch 2.14", field)}


def test_a_release_missing_from_the_matrix_is_reported():
    releases = tuple(r for r in M.torch.releases if r.series != "2.15")
    report = verify(M.replace(torch=dataclasses.replace(M.torch, releases=releases)), RecordedIndex(FIXTURES), ("torch",))
    assert ("torch 2.15.0", "versions") in fields(report)


def test_wrong_bitsandbytes_libraries_are_reported():
    bnb = M.bitsandbytes
    rows = tuple(dataclasses.replace(r, cuda_libs=r.cuda_libs[:-1]) if r.version == "0.50.2" else r for r in bnb.releases)
    report = verify(M.replace(bitsandbytes=dataclasses.replace(bnb, releases=rows)), RecordedIndex(FIXTURES), ("bitsandbytes",))
    assert {("bitsandbytes 0.50.0", "cuda_libs"), ("bitsandbytes 0.50.2", "cuda_libs")} <= fields(report)


def test_wrong_deepspeed_families_are_reported():
    ds = M.deepspeed
    newest = ds.releases[-1]
    family = dataclasses.replace(newest.mismatch_ok[-1], minors=newest.mismatch_ok[-1].minors + ("13.0",))
    rows = ds.releases[:-1] + (dataclasses.replace(newest, mismatch_ok=newest.mismatch_ok[:-1] + (family,)),)
    report = verify(M.replace(deepspeed=dataclasses.replace(ds, releases=rows)), RecordedIndex(FIXTURES), ("deepspeed",))
    assert ("deepspeed 0.19.8", "mismatch_ok (op_builder/builder.py)") in fields(report)


def test_wrong_hf_requirements_are_reported():
    hf = M.hf_releases
    trl = hf.package("trl")
    rows = tuple(dataclasses.replace(r, requires=r.requires[1:]) if r.version == "1.16.0" else r for r in trl.releases)
    packages = tuple(dataclasses.replace(p, releases=rows) if p.name == "trl" else p for p in hf.packages)
    report = verify(M.replace(hf_releases=dataclasses.replace(hf, packages=packages)), RecordedIndex(FIXTURES), ("hf",))
    assert fields(report) == {("trl 1.16.0", "requires")}


@pytest.mark.parametrize("a, b, same", [
    (">=3.8", ">=3.8.0", True), (">=2.0,<3", "~=2.0", True), ("<3,>=2.0", ">=2.0,<3", True),
    (">=3.9", ">=3.10", False), ("", "", True), (">=2.0,<3", ">=2.0", False),
])
def test_specifier_equivalence(a, b, same):
    assert same_specifiers(a, b) is same


def test_cli_offline_against_recordings(cli):
    result = cli("matrix", "verify", "--recorded", str(FIXTURES))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("0 disagreement(s)")
    body = cli("matrix", "verify", "--recorded", str(FIXTURES), "--topic", "flash-attn", "--json").json()
    assert body["exit_code"] == 0 and body["data"]["disagreements"] == [] and body["data"]["checked"] > 10


def test_missing_recording_is_one_line(cli, tmp_path):
    result = cli("matrix", "verify", "--recorded", str(tmp_path))
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "no recorded index answer for torch" in result.stderr


def test_no_network_is_one_line(cli):
    result = cli("matrix", "verify", "--topic", "flash-attn", env={"PIP_INDEX_URL": "http://127.0.0.1:9/simple/"})
    assert result.returncode == 3
    assert result.stderr.strip().startswith("ftdoctor: error: the package index could not be reached")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.network
@pytest.mark.skipif(os.environ.get("FTDOCTOR_NETWORK_TESTS") != "1", reason="opt-in: FTDOCTOR_NETWORK_TESTS=1 asks the real index")
def test_the_matrix_agrees_with_the_live_index(cli):
    result = cli("matrix", "verify", timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
