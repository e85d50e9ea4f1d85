"""Matrix rows for multi-process training on one machine: shared memory, and GPUs whose peer-to-peer or
InfiniBand paths must be switched off for NCCL on some drivers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ftdoctor.matrix.model import _check_source, _version


@dataclass(frozen=True)
class ShmFloor:
    min_bytes: int  # below this, NCCL's shared-memory transport and DataLoader workers fail or crawl
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        if self.min_bytes <= 0:
            raise ValueError("min_bytes must be positive")


@dataclass(frozen=True)
class P2pRule:
    """Several GPUs whose name contains `gpu_name` need `env` for NCCL, on drivers older than `driver_below`."""

    gpu_name: str  # a case-insensitive regex matched against the GPU names
    env: dict[str, str]
    source: str
    min_gpus: int = 2
    driver_below: str | None = None  # None: on every driver

    def __post_init__(self) -> None:
        _check_source(self.source)
        re.compile(self.gpu_name)
        if self.driver_below is not None:
            _version(self.driver_below, "driver_below")
        if not self.env:
            raise ValueError("env must name at least one variable")


@dataclass(frozen=True)
class DistributedMatrix:
    schema: str
    shm: ShmFloor
    p2p: tuple[P2pRule, ...] = field(default_factory=tuple)
