"""compat_matrix/hf_stack.toml and platform.toml: typed rows, lookups at their boundaries, bad rows rejected."""

import pytest

from ftdoctor.errors import MatrixError
from ftdoctor.matrix import load_matrix
from ftdoctor.matrix.hf_stack import HfStackMatrix
from ftdoctor.matrix.load import read_file

M = load_matrix()


@pytest.mark.parametrize(
    "transformers, floor",
    [("4.57.0", ">=2.1"), ("4.99", ">=2.1"), ("5.0.0", ">=2.2"), ("5.0.0rc1", ">=2.2"), ("5.1.0", ">=2.4"),
     ("5.14.1", ">=2.4"), ("5.15.0", ">=2.5"), ("5.19.0", ">=2.5"), ("5.20.0", ">=2.6"), ("5.23.0.dev0", ">=2.6")],
)
def test_transformers_import_time_torch_floor_rows(transformers, floor):
    rows = M.hf_stack.bounds_for("transformers", transformers, "disables-torch")
    assert [r.spec for r in rows] == [floor]


def test_versions_without_a_row_have_none():
    assert M.hf_stack.bounds_for("transformers", "4.46.3", "disables-torch") == []
    assert M.hf_stack.bounds_for("transformers", "not a version") == []


@pytest.mark.parametrize("torch, met", [("2.6.0", True), ("2.6.0+cu124", True), ("2.5.1", False), ("2.6.0rc1", False)])
def test_met_by_compares_as_the_packages_do(torch, met):
    (row,) = M.hf_stack.bounds_for("transformers", "5.20.0", "disables-torch")
    assert row.met_by(torch) is met


def test_lowest_is_the_row_lower_end():
    assert M.hf_stack.bounds_for("transformers", "5.3.0", "disables-torch")[0].lowest == "5.1"


@pytest.mark.parametrize("trl, default", [("0.18.2", None), ("0.19.0", "True unless fp16=True"), ("1.16.0", "True unless fp16=True")])
def test_trl_bf16_default_starts_at_0_19(trl, default):
    row = M.hf_stack.default_for("trl", trl, "bf16")
    assert (row.value if row else None) == default


def test_every_row_has_a_source_and_a_known_effect():
    assert all(r.source and r.effect for r in M.hf_stack.bounds)
    assert len(M.hf_stack.bounds) >= 20


def test_an_unknown_effect_names_the_file_and_key(tmp_path):
    path = tmp_path / "hf_stack.toml"
    path.write_text('schema = "ftdoctor-matrix/1"\n[[bounds]]\npackage = "transformers"\nversions = ">=5"\n'
                    'needs = "torch"\nspec = ">=2.4"\neffect = "explodes"\nsource = "s"\n')
    with pytest.raises(MatrixError) as err:
        read_file(path, HfStackMatrix)
    assert "effect 'explodes'" in err.value.one_line() and "bounds[0]" in err.value.one_line()


@pytest.mark.parametrize(
    "tag, glibc, glibcxx",
    [("cp311-cp311-manylinux_2_28_x86_64", "2.28", "3.4.24"), ("py3-none-manylinux2014_x86_64", "2.17", "3.4.19"),
     ("manylinux1_x86_64", "2.5", "3.4.8"), ("cp310-abi3-manylinux_2_17_aarch64", "2.17", "3.4.19"),
     ("manylinux_2_30_x86_64", "2.30", "3.4.24"), ("manylinux_2_35_x86_64", "2.35", "3.4.30")],
)
def test_wheel_tag_needs(tag, glibc, glibcxx):
    needs = M.platform.wheel_needs(tag)
    assert (str(needs.glibc), str(needs.glibcxx_max)) == (glibc, glibcxx)


@pytest.mark.parametrize("tag", ["py3-none-any", "cp311-cp311-linux_x86_64", "cp312-cp312-macosx_14_0_arm64", "cp311-cp311-win_amd64"])
def test_tags_without_a_glibc_promise(tag):
    assert M.platform.wheel_needs(tag) is None
