"""What rules read about the machine, settled once: the GPUs' compute capabilities, torch's CUDA and C++ ABI,
the nvcc that extension builds will use. Each answer comes from the facts first and the matrix second, and
says None when neither can tell."""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Distribution, Facts


@dataclass(frozen=True)
class GpuCc:
    name: str
    cc: str | None  # None: neither the driver nor the matrix knows this card


def gpu_ccs(facts: Facts, matrix) -> list[GpuCc]:
    gpus = facts.driver.gpus or facts.torch.devices
    found = []
    for gpu in gpus:
        cc = gpu.compute_capability
        if not cc:
            model = matrix.gpus.lookup(gpu.name)
            cc = model.compute_capability if model else None
        found.append(GpuCc(gpu.name, cc))
    return found


def torch_cuda(facts: Facts, matrix) -> str | None:
    """torch.version.cuda: from the import probe, else the local label or the nvidia-* pins, else the matrix's
    default for that release (a label-less index wheel). None for a CPU build or when torch is absent."""
    t = facts.torch
    if t.cuda:
        return t.cuda
    if t.version is None or "+" in t.version:
        return None  # '+cpu' (or absent); '+cuXYZ' would have filled t.cuda
    if t.source == "subprocess":
        return None  # torch imported and said it has no CUDA
    release = matrix.torch.release_for(t.version)
    return release.default_cuda if release and release.default_cuda != "cpu" else None


def torch_series(facts: Facts) -> str | None:
    try:
        v = Version(facts.torch.version or "")
    except InvalidVersion:
        return None
    return f"{v.major}.{v.minor}"


def torch_cxx11_abi(facts: Facts, matrix) -> bool | None:
    """torch._C._GLIBCXX_USE_CXX11_ABI: from the probe, else from the matrix row of that wheel."""
    if facts.torch.cxx11_abi is not None:
        return facts.torch.cxx11_abi
    version = facts.torch.version
    release = matrix.torch.release_for(version) if version else None
    if release is None:
        return None
    label = version.partition("+")[2]
    if label.startswith("cu"):
        variant = release.variant(f"{label[2:-1]}.{label[-1]}")
        if variant is not None and getattr(variant, "cxx11_abi", None) is not None:
            return variant.cxx11_abi
    return release.cxx11_abi


def python_version(facts: Facts) -> str | None:
    try:
        v = Version(facts.python.version)
    except InvalidVersion:
        return None
    return f"{v.major}.{v.minor}"


def build_nvcc(facts: Facts) -> str | None:
    """The nvcc release an extension build would use: the toolkit under torch's CUDA_HOME, else the one resolved
    from CUDA_HOME/CUDA_PATH/PATH."""
    tk = facts.toolkit
    home = facts.torch.cuda_home or tk.cuda_home.value
    if home:
        for install in tk.installs:
            if install.path.rstrip("/") == home.rstrip("/") and install.version:
                return install.version
    return tk.nvcc_version


def installed(facts: Facts, name: str) -> Distribution | None:
    return facts.distribution(name)


def wheel_name(dist: Distribution) -> str | None:
    """The file name a distribution was installed from, when pip recorded a URL or file (direct_url.json)."""
    if not dist.direct_url:
        return None
    tail = dist.direct_url.rstrip("/").rsplit("/", 1)[-1]
    from urllib.parse import unquote

    tail = unquote(tail)
    return tail if tail.endswith(".whl") else None
