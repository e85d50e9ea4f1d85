"""Load and validate `compat_matrix/*.toml`. A malformed matrix is a bug in ftdoctor: it fails with the file
and key, and the test suite loads every file so that such a bug never ships."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ftdoctor.errors import MatrixError
from ftdoctor.matrix.bitsandbytes import BitsandbytesMatrix
from ftdoctor.matrix.deepspeed import DeepSpeedMatrix
from ftdoctor.matrix.flash_attn import FlashAttnMatrix
from ftdoctor.matrix.hf_releases import HfReleasesMatrix
from ftdoctor.matrix.images import ImageMatrix
from ftdoctor.matrix.hf_stack import HfStackMatrix
from ftdoctor.matrix.distributed import DistributedMatrix
from ftdoctor.matrix.model import MATRIX_SCHEMA, CudaMatrix, GpuMatrix, Matrix, TorchMatrix
from ftdoctor.matrix.platforms import PlatformMatrix
from ftdoctor.matrix.trainer_api import TrainerApiMatrix
from ftdoctor.typed_data import DataError, from_plain

# file name -> (Matrix field, row class)
FILES: dict[str, tuple[str, type]] = {
    "torch.toml": ("torch", TorchMatrix),
    "cuda.toml": ("cuda", CudaMatrix),
    "gpus.toml": ("gpus", GpuMatrix),
    "flash_attn.toml": ("flash_attn", FlashAttnMatrix),
    "bitsandbytes.toml": ("bitsandbytes", BitsandbytesMatrix),
    "deepspeed.toml": ("deepspeed", DeepSpeedMatrix),
    "hf_releases.toml": ("hf_releases", HfReleasesMatrix),
    "images.toml": ("images", ImageMatrix),
    "hf_stack.toml": ("hf_stack", HfStackMatrix),
    "platform.toml": ("platform", PlatformMatrix),
    "trainer_api.toml": ("trainer_api", TrainerApiMatrix),
    "distributed.toml": ("distributed", DistributedMatrix),
}


def matrix_dir() -> Path:
    return Path(str(resources.files("ftdoctor.compat_matrix")))


def read_file(path: Path, cls: type, schema: str = MATRIX_SCHEMA, what: str = "the matrix") -> Any:
    """One TOML data file of ftdoctor's (the matrix, explain's catalog) as `cls`; errors name the file and key."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MatrixError(f"cannot read {what}: {exc}", where=str(path)) from None
    if data.get("schema") != schema:
        raise MatrixError(f"schema must be {schema!r}", where=str(path))
    try:
        return from_plain(cls, data)
    except DataError as exc:
        raise MatrixError(f"key {exc.path}: {exc.message}", where=str(path)) from None


PARTS: dict[str, tuple[str, type]] = {field: (name, cls) for name, (field, cls) in FILES.items()}


@cache
def load_matrix(directory: Path | None = None) -> Matrix:
    """The matrix in `directory` (default: the one shipped with ftdoctor); each part is read on first use."""
    folder = directory or matrix_dir()

    def read_part(field: str) -> Any:
        name, cls = PARTS[field]
        return read_file(folder / name, cls)

    return Matrix(read_part)
