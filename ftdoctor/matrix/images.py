"""Container base images: the nvidia/cuda tag for the CUDA of a torch variant, per OS, and each OS's own
Python. Data in `compat_matrix/images.toml`; the Dockerfile writer (`ftdoctor.lock.dockerfile`) reads it."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from ftdoctor.matrix.model import _check_source, _version

FLAVOURS = ("base", "runtime", "devel")  # every nvidia/cuda release is published in these three


@dataclass(frozen=True)
class CudaImage:
    cuda: str  # "12.8": the CUDA of the torch variant (major.minor)
    version: str  # "12.8.1": the release in the image tag
    systems: tuple[str, ...]  # "ubuntu22.04", "ubuntu24.04": the OS parts of the tags that exist
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        if Version(self.version).release[:2] != Version(_version(self.cuda, "cuda").base_version).release[:2]:
            raise ValueError(f"image {self.version} is not a CUDA {self.cuda} release")

    def tag(self, flavour: str, system: str) -> str:
        return f"{self.version}-{flavour}-{system}"


@dataclass(frozen=True)
class OsImage:
    name: str  # "ubuntu24.04", as in the nvidia/cuda tags
    base: str  # "ubuntu:24.04": the plain image, for CPU-only targets
    python: str  # "3.12": the python3 its own packages install
    source: str

    def __post_init__(self) -> None:
        _check_source(self.source)
        _version(self.python, "python")


@dataclass(frozen=True)
class ImageMatrix:
    schema: str
    repository: str  # "nvidia/cuda"
    images: tuple[CudaImage, ...]
    systems: tuple[OsImage, ...]

    def for_cuda(self, cuda: str) -> CudaImage | None:
        wanted = Version(cuda).release[:2]
        return next((i for i in self.images if Version(i.cuda).release[:2] == wanted), None)

    def system(self, name: str) -> OsImage | None:
        return next((s for s in self.systems if s.name == name), None)
