"""The shipped matrix loads, every row names its source, and a malformed file fails with file and key."""

import dataclasses

import pytest

from ftdoctor.errors import MatrixError
from ftdoctor.matrix import Matrix, cc_tuple, load_matrix
from ftdoctor.matrix.load import FILES, matrix_dir, read_file


def _rows(obj):
    if dataclasses.is_dataclass(obj):
        yield obj
        for f in dataclasses.fields(obj):
            yield from _rows(getattr(obj, f.name))
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _rows(item)


def test_every_row_has_a_source():
    matrix = load_matrix().read_all()
    rows = [r for name in Matrix.__annotations__ for r in _rows(getattr(matrix, name))
            if any(f.name == "source" for f in dataclasses.fields(r))]
    assert len(rows) > 100
    assert all(r.source.strip() for r in rows)


def test_every_matrix_file_is_loaded():
    assert {p.name for p in matrix_dir().glob("*.toml")} == set(FILES)
    assert {field for field, _ in FILES.values()} == set(Matrix.__annotations__)


def test_parts_are_read_on_first_use_and_a_damaged_one_fails_there(tmp_path):
    for name in FILES:
        (tmp_path / name).write_text((matrix_dir() / name).read_text())
    (tmp_path / "hf_releases.toml").write_text('schema = "ftdoctor-matrix/1"\npackages = 3\n')
    matrix = load_matrix(tmp_path)
    assert matrix.gpus.lookup("NVIDIA H100 80GB HBM3").compute_capability == "9.0"
    assert "hf_releases" not in vars(matrix)  # `check` never reads the release list
    with pytest.raises(MatrixError) as err:
        matrix.read_all()
    assert "hf_releases.toml" in err.value.one_line() and "packages" in err.value.one_line()
    with pytest.raises(AttributeError):
        matrix.no_such_part  # noqa: B018 - a typo is not a part
    with pytest.raises(AttributeError):
        matrix.torch = None


@pytest.mark.parametrize(
    "text, message",
    [
        ('schema = "ftdoctor-matrix/1"\n[[gpus]]\nname = "X"\n', "required key is missing"),
        ('schema = "ftdoctor-matrix/9"\n', "schema must be"),
        ('schema = "ftdoctor-matrix/1"\n[[gpus]\n', "cannot read"),
        (
            'schema = "ftdoctor-matrix/1"\n[[gpus]]\nname = "X"\npattern = "("\ncompute_capability = "9.0"\n'
            'architecture = "H"\nmemory_gib = [1]\nsource = "s"\n',
            "pattern",
        ),
    ],
)
def test_malformed_matrix_names_file_and_key(tmp_path, text, message):
    from ftdoctor.matrix.model import GpuMatrix

    path = tmp_path / "gpus.toml"
    path.write_text(text)
    with pytest.raises(MatrixError) as err:
        read_file(path, GpuMatrix)
    assert message in err.value.one_line()
    assert str(path) in err.value.one_line()


@pytest.mark.parametrize(
    "text, expected", [("8.6", (8, 6)), ("sm_90", (9, 0)), ("compute_120", (12, 0)), ("100", (10, 0)), ("sm_90a", (9, 0))]
)
def test_compute_capability_spellings(text, expected):
    assert cc_tuple(text) == expected


def test_gpu_lookup_prefers_the_longest_match():
    gpus = load_matrix().gpus
    assert gpus.lookup("NVIDIA GeForce RTX 4090").compute_capability == "8.9"
    assert gpus.lookup("NVIDIA L40S").name == "L40S"
    assert gpus.lookup("NVIDIA L4").name == "L4"
    assert gpus.lookup("NVIDIA GeForce GTX 1080 Ti").name == "GTX 1080 Ti"
    assert gpus.lookup("Tesla V100-SXM2-32GB").compute_capability == "7.0"
    assert gpus.lookup("some other card") is None


def test_torch_release_lookup_ignores_local_labels():
    torch = load_matrix().torch
    assert torch.release_for("2.8.0+cu128").default_cuda == "12.8"
    assert torch.release_for("2.11.0").default_cuda == "13.0"
    assert torch.release_for("2.10.0").variant("12.8").archs[0] == "7.0"
    assert torch.release_for("1.13.1") is None
    assert torch.release_for("not a version") is None


@pytest.mark.parametrize(("arch", "first"), [
    ("compute_80", "11.0"), ("sm_86", "11.1"), ("compute_89", "11.8"), ("sm_90", "11.8"), ("compute_90a", "12.0"),
    ("sm_100", "12.8"), ("compute_120", "12.8"), ("sm_121", "12.9"), ("compute_100f", None), ("sm_21", None),
])
def test_first_nvcc_for_an_architecture(arch, first):
    assert load_matrix().cuda.first_nvcc_for(arch) == first


def test_first_transformers_for_a_model_type():
    api = load_matrix().trainer_api
    assert api.first_release_knowing("gemma2") == "4.42.0"
    assert api.first_release_knowing("qwen3_moe") == "4.51.0"
    assert api.first_release_knowing("no-such-model") is None
    assert all(row.source for row in api.features if row.feature.startswith("model_type:"))


def test_replace_swaps_parts_and_shares_the_rest():
    matrix = load_matrix()
    gpus = dataclasses.replace(matrix.gpus, gpus=())
    changed = matrix.replace(gpus=gpus)
    assert changed.gpus is gpus and changed.torch is matrix.torch
    assert matrix.gpus.lookup("NVIDIA L4") is not None  # the original is untouched
    with pytest.raises(TypeError, match="no part 'gpu'"):
        matrix.replace(gpu=gpus)
