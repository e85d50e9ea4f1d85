"""Load and validate `compat_matrix/*.toml`. A malformed matrix is a bug in ftdoctor: it fails with the file
and key, and the test suite loads every file so that such a bug never ships."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ftdoctor.errors import MatrixError
from ftdoctor.matrix.distributed import DistributedMatrix
from ftdoctor.matrix.model import MATRIX_SCHEMA, CudaMatrix, GpuMatrix, Matrix, TorchMatrix
from ftdoctor.matrix.trainer_api import TrainerApiMatrix
from ftdoctor.typed_data import DataError, from_plain

# file name -> (Matrix field, row class)
FILES: dict[str, tuple[str, type]] = {
    "torch.toml": ("torch", TorchMatrix),
    "cuda.toml": ("cuda", CudaMatrix),
    "gpus.toml": ("gpus", GpuMatrix),
    "trainer_api.toml": ("trainer_api", TrainerApiMatrix),
    "distributed.toml": ("distributed", DistributedMatrix),
}


def matrix_dir() -> Path:
    return Path(str(resources.files("ftdoctor.compat_matrix")))


def read_file(path: Path, cls: type) -> Any:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MatrixError(f"cannot read the matrix: {exc}", where=str(path)) from None
    if data.get("schema") != MATRIX_SCHEMA:
        raise MatrixError(f"schema must be {MATRIX_SCHEMA!r}", where=str(path))
    try:
        return from_plain(cls, data)
    except DataError as exc:
        raise MatrixError(f"key {exc.path}: {exc.message}", where=str(path)) from None


@cache
def load_matrix(directory: Path | None = None) -> Matrix:
    folder = directory or matrix_dir()
    parts = {field: read_file(folder / name, cls) for name, (field, cls) in FILES.items()}
    return Matrix(**parts)
