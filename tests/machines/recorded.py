"""Builds the recorded machines of tests/machines/*.json from published facts, with ftdoctor's own model classes
(and the probe's own requirement checker), so that every snapshot loads exactly as a saved one does.

    python tests/machines/recorded.py          # rewrite the JSON files
    python tests/machines/recorded.py --check  # exit 1 if a committed file differs from what this builds

README.md beside this file says what each machine is and where its facts come from. Package lists are trimmed
to the fine-tuning stack, and requirements to those among the listed packages.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from packaging.markers import default_environment

from ftdoctor.facts import serialize
from ftdoctor.facts.model import (
    CudaDriverApiFacts, Distribution, DriverFacts, Facts, Gpu, KernelModule, NvidiaSmiFacts, NvmlFacts, PciDevice,
    PythonEnvFacts, Resolved, Status, SystemFacts, ToolkitFacts, ToolkitInstall, TorchFacts, VisibleDevice,
)
from ftdoctor.probes.python_env import violations

HERE = Path(__file__).resolve().parent
VERSION = "0.1.0"
COLLECTED = "2026-10-20T09:00:00+00:00"
LINUX_X86 = 'platform_system == "Linux" and platform_machine == "x86_64"'
GIB = 1024**3

# --- GPUs, as NVML names them -----------------------------------------------------------------------------------

MODELS = {  # name, compute capability, MiB, architecture
    "H100": ("NVIDIA H100 80GB HBM3", "9.0", 81559, "Hopper"),
    "A100-80": ("NVIDIA A100-SXM4-80GB", "8.0", 81920, "Ampere"),
    "A100-40": ("NVIDIA A100-SXM4-40GB", "8.0", 40960, "Ampere"),
    "T4": ("Tesla T4", "7.5", 15360, "Turing"),
    "4090": ("NVIDIA GeForce RTX 4090", "8.9", 24564, "Ada"),
    "5090": ("NVIDIA GeForce RTX 5090", "12.0", 32607, "Blackwell"),
    "V100": ("Tesla V100-SXM2-16GB", "7.0", 16384, "Volta"),
    "1080Ti": ("NVIDIA GeForce GTX 1080 Ti", "6.1", 11264, "Pascal"),
    "3060L": ("NVIDIA GeForce RTX 3060 Laptop GPU", "8.6", 6144, "Ampere"),
    "3090": ("NVIDIA GeForce RTX 3090", "8.6", 24576, "Ampere"),
    "A10G": ("NVIDIA A10G", "8.6", 23028, "Ampere"),
    "L40S": ("NVIDIA L40S", "8.9", 46068, "Ada"),
    "L4": ("NVIDIA L4", "8.9", 23034, "Ada"),
}
PCI_IDS = {"H100": "0x2330", "A100-80": "0x20b2", "A100-40": "0x20b0", "T4": "0x1eb8", "4090": "0x2684",
           "5090": "0x2b85", "V100": "0x1db1", "1080Ti": "0x1b06", "3060L": "0x2560", "3090": "0x2204",
           "A10G": "0x2237", "L40S": "0x26b9", "L4": "0x27b8"}


def gpu(index: int, model: str, *, mig: str = "disabled", mode: str = "default", source: str = "nvml") -> Gpu:
    name, cc, mib, arch = MODELS[model]
    return Gpu(
        index=index, name=name, source=source, uuid=f"GPU-{index:08x}-5a1e-4c3b-9f20-{model.lower()[:4]:0<4}0000{index:04x}",
        pci_bus_id=f"00000000:{0x18 + 0x10 * index:02X}:00.0", compute_capability=cc, memory_total_mib=mib,
        architecture=arch, mig_mode=mig, compute_mode=mode,
    )


def pci(models: list[str], bound: str | None = "nvidia") -> tuple[PciDevice, ...]:
    return tuple(PciDevice(f"0000:{0x18 + 0x10 * i:02x}:00.0", "0x10de", PCI_IDS[m], "0x030200" if m in
                           ("H100", "A100-80", "A100-40", "V100", "A10G", "L40S", "L4", "T4") else "0x030000", bound)
                 for i, m in enumerate(models))


def nodes(count: int) -> tuple[str, ...]:
    return tuple(sorted([f"nvidia{i}" for i in range(count)] + ["nvidia-uvm", "nvidia-uvm-tools", "nvidiactl"]))


def driver(version: str, cuda: str, gpus: tuple[Gpu, ...], models: list[str], *, visible: str | None = None,
           open_module: bool = False) -> DriverFacts:
    """A healthy driver: kernel module and NVML agree."""
    return DriverFacts(
        kernel_module=KernelModule(status=Status.OK, source="/sys/module/nvidia/version", version=version,
                                   open_module=open_module),
        nvml=NvmlFacts(status=Status.OK, driver_version=version, cuda_driver_version=cuda,
                       nvml_version=f"{cuda.split('.')[0]}.{version}", gpus=gpus),
        cuda_driver_api=CudaDriverApiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered"),
        nvidia_smi=NvidiaSmiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered"),
        pci_devices=pci(models), pci_status=Status.OK, dev_nodes=nodes(len(gpus)),
        driver_version=Resolved(version, "nvml"), cuda_driver_version=Resolved(cuda, "nvml"), gpus=gpus,
        cuda_visible_devices=visible, visible_devices=_visible(visible, gpus),
    )


def _visible(value: str | None, gpus: tuple[Gpu, ...]) -> tuple[VisibleDevice, ...]:
    from ftdoctor.probes.visible_devices import map_visible

    return map_visible(value, gpus)


NO_DRIVER = DriverFacts(
    kernel_module=KernelModule(status=Status.ABSENT, reason="no /sys/module/nvidia and no /proc/driver/nvidia: "
                                                           "the nvidia kernel module is not loaded"),
    nvml=NvmlFacts(status=Status.ERROR, error="LibraryNotFound", reason="NVML Shared Library Not Found"),
    cuda_driver_api=CudaDriverApiFacts(status=Status.ABSENT, reason="libcuda.so.1 not found: libcuda.so.1: cannot "
                                                                    "open shared object file: No such file or directory"),
    nvidia_smi=NvidiaSmiFacts(status=Status.ABSENT, reason="nvidia-smi is not on PATH"),
    pci_status=Status.OK,
)

# --- system ------------------------------------------------------------------------------------------------------


def system(distro: str, glibc: str, glibcxx: str, *, libstdcxx: str = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30",
           kernel: str = "6.8.0-48-generic", container: tuple[str, ...] = (), wsl: bool = False, shm_gib: float = 64,
           cpus: int = 32, mem_gib: int = 256) -> SystemFacts:
    return SystemFacts(
        os="Linux", machine="x86_64", kernel_release=kernel, distro=distro, glibc_version=glibc,
        libstdcxx_path=libstdcxx, glibcxx_max=glibcxx, container=container, wsl=wsl,
        shm_bytes=int(shm_gib * GIB), cpu_count=cpus, memory_total_bytes=mem_gib * GIB,
    )


UBUNTU_2204 = dict(distro="Ubuntu 22.04.5 LTS", glibc="2.35", glibcxx="3.4.30")
UBUNTU_2404 = dict(distro="Ubuntu 24.04.1 LTS", glibc="2.39", glibcxx="3.4.33",
                   libstdcxx="/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.33")

# --- Python environments ---------------------------------------------------------------------------------------

ANY = ("py3-none-any",)
M228 = "manylinux_2_28_x86_64"
M217 = ("manylinux_2_17_x86_64", "manylinux2014_x86_64")


def dist(name: str, version: str, site: str, *, tags: tuple[str, ...] = ANY, requires: tuple[str, ...] = (),
         py: str = "cp311-cp311") -> Distribution:
    full_tags = tuple(t if t.count("-") == 2 else f"{py}-{t}" for t in tags)
    return Distribution(name=name, version=version, location=site, installer="pip", requires=requires,
                        wheel_tags=full_tags)


def torch_dists(version: str, site: str, pins: dict[str, str], triton: str, py: str) -> list[Distribution]:
    """torch and the CUDA wheels it pins (pins: wheel name -> version)."""
    requires = ("filelock", "typing-extensions>=4.10.0", *(f"{n}=={v}; {LINUX_X86}" for n, v in pins.items()),
                f"triton=={triton}; {LINUX_X86}")
    modern = _at_least(version, "2.7")  # torch 2.7 moved its wheels (and their CUDA wheels) to manylinux_2_28
    torch_tags = (M228,) if modern else ("manylinux1_x86_64",)
    triton_tags = ("manylinux_2_27_x86_64", "manylinux_2_28_x86_64") if modern else M217
    cuda_tags = ("py3-none-manylinux_2_27_x86_64",) if modern else ("py3-none-manylinux2014_x86_64",)
    found = [dist("torch", version, site, tags=torch_tags, requires=requires, py=py),
             dist("triton", triton, site, tags=triton_tags, py=py),
             dist("filelock", "3.16.1", site), dist("typing-extensions", "4.12.2", site)]
    found += [dist(n, v, site, tags=cuda_tags) for n, v in pins.items()]
    return found


def _at_least(version: str, floor: str) -> bool:
    from packaging.version import Version

    return Version(Version(version).base_version) >= Version(floor)


CU121 = {"nvidia-cuda-runtime-cu12": "12.1.105", "nvidia-cudnn-cu12": "8.9.2.26", "nvidia-cublas-cu12": "12.1.3.1",
         "nvidia-nccl-cu12": "2.20.5"}
CU124 = {"nvidia-cuda-runtime-cu12": "12.4.127", "nvidia-cudnn-cu12": "9.1.0.70", "nvidia-cublas-cu12": "12.4.5.8",
         "nvidia-nccl-cu12": "2.21.5"}
CU126 = {"nvidia-cuda-runtime-cu12": "12.6.77", "nvidia-cudnn-cu12": "9.5.1.17", "nvidia-cublas-cu12": "12.6.4.1",
         "nvidia-nccl-cu12": "2.26.2"}
CU128 = {"nvidia-cuda-runtime-cu12": "12.8.90", "nvidia-cudnn-cu12": "9.10.2.21", "nvidia-cublas-cu12": "12.8.4.1",
         "nvidia-nccl-cu12": "2.27.3"}
CU130 = {"cuda-toolkit": "13.0.2", "nvidia-cuda-runtime": "13.0.96", "nvidia-cudnn-cu13": "9.19.0.56",
         "nvidia-cublas": "13.1.0.3", "nvidia-nccl-cu13": "2.28.7"}


def hf_stack(site: str, *, transformers: str, hub: str, accelerate: str, peft: str | None = None,
             trl: str | None = None, datasets: str | None = None, extra: tuple[Distribution, ...] = (),
             py: str = "cp311-cp311") -> list[Distribution]:
    major5 = transformers.startswith("5.")
    hub_req = {"4.46": "huggingface-hub<1.0,>=0.23.2", "4.57": "huggingface-hub<1.0,>=0.34.0"}.get(
        transformers[:4], "huggingface-hub<2.0,>=1.3.0")
    found = [
        dist("transformers", transformers, site, requires=(hub_req, "safetensors>=0.4.3", "numpy>=1.17",
                                                           'torch>=2.2; extra == "torch"',
                                                           'accelerate>=0.26.0; extra == "torch"')),
        dist("huggingface-hub", hub, site),
        dist("safetensors", "0.6.2", site, tags=M217, py="cp38-abi3"),
        dist("tokenizers", "0.22.1", site, tags=M217, py="cp39-abi3"),
        dist("numpy", "2.1.3" if major5 else "1.26.4", site, tags=M217, py=py),
        dist("accelerate", accelerate, site, requires=("torch>=2.0.0", "huggingface-hub>=0.21.0", "numpy<3.0.0,>=1.17")),
    ]
    if peft:
        found.append(dist("peft", peft, site, requires=("torch>=1.13.0", "transformers", "accelerate>=0.21.0",
                                                        "huggingface-hub>=0.25.0")))
    if datasets:
        found.append(dist("datasets", datasets, site, requires=("numpy>=1.17",)))
    if trl:
        found.append(dist("trl", trl, site, requires=_trl_requires(trl)))
    return found + list(extra)


def _trl_requires(version: str) -> tuple[str, ...]:
    """From the package index metadata of each TRL release."""
    table = {
        "0.19.1": ("transformers>=4.51.0", "accelerate>=1.4.0", "datasets>=3.0.0"),
        "0.29.1": ("transformers>=4.56.2", "accelerate>=1.4.0", "datasets>=3.0.0"),
        "1.5.1": ("transformers>=4.56.2", "accelerate>=1.4.0", "datasets>=4.7.0"),
        "1.12.0": ("transformers>=4.56.2", "accelerate>=1.4.0", "datasets>=4.7.0"),
        "1.16.0": ("transformers>=4.56.2", "accelerate>=1.10.1", "datasets>=4.7.0"),
    }
    return table[version]


def pyenv(executable: str, version: str, prefix: str, dists: list[Distribution], *, kind: str = "venv",
          duplicates: tuple[str, ...] = ()) -> PythonEnvFacts:
    markers = {**default_environment(), "python_version": ".".join(version.split(".")[:2]),
               "python_full_version": version, "implementation_version": version,
               "platform_system": "Linux", "platform_machine": "x86_64", "sys_platform": "linux"}
    ordered = tuple(sorted(dists, key=lambda d: d.name))
    return PythonEnvFacts(
        status=Status.OK, executable=executable, version=version, implementation="CPython", prefix=prefix,
        base_prefix="/usr" if kind == "venv" else prefix, kind=kind, distributions=ordered, duplicates=duplicates,
        violations=violations(ordered, markers),
    )


# --- torch -------------------------------------------------------------------------------------------------------

ARCH = {
    "cu121": ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
    "cu124": ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
    "cu126": ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"),
    "cu128": ("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"),
    "cu130": ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"),
}


def cuda_libs(site: str, cuda13: bool, driver_lib: str = "/usr/lib/x86_64-linux-gnu/libcuda.so.550.127.05") -> tuple[str, ...]:
    n = f"{site}/nvidia"
    if cuda13:
        libs = [f"{n}/cu13/lib/libcudart.so.13", f"{n}/cu13/lib/libcublas.so.13", f"{n}/cu13/lib/libcublasLt.so.13",
                f"{n}/cudnn/lib/libcudnn.so.9", f"{n}/nccl/lib/libnccl.so.2", f"{n}/cu13/lib/libnvrtc.so.13"]
    else:
        libs = [f"{n}/cuda_runtime/lib/libcudart.so.12", f"{n}/cublas/lib/libcublas.so.12",
                f"{n}/cublas/lib/libcublasLt.so.12", f"{n}/cudnn/lib/libcudnn.so.9", f"{n}/nccl/lib/libnccl.so.2",
                f"{n}/cuda_nvrtc/lib/libnvrtc.so.12"]
    return tuple(sorted([*libs, f"{site}/torch/lib/libtorch_cuda.so", driver_lib]))


def torch_ok(version: str, cuda: str | None, *, variant: str | None, devices: tuple[Gpu, ...] = (), available=True,
             warnings: tuple[str, ...] = (), libs: tuple[str, ...] = (), cuda_home: str | None = None,
             cudnn: int | None = None, nccl: str | None = None, elapsed: float = 3.2) -> TorchFacts:
    as_torch = tuple(Gpu(index=i, name=g.name, source="torch", compute_capability=g.compute_capability,
                         memory_total_mib=g.memory_total_mib) for i, g in enumerate(devices)) if available else ()
    return TorchFacts(
        status=Status.OK, source="subprocess", version=version, cuda=cuda, git_version="0" * 40, cxx11_abi=True,
        cudnn=cudnn, nccl=nccl, arch_list=ARCH[variant] if variant else (), cuda_home=cuda_home,
        cuda_available=available and bool(devices), device_count=len(as_torch), devices=as_torch, warnings=warnings,
        loaded_libraries=libs, returncode=0, elapsed_s=elapsed,
    )


def toolkit(*installs: tuple[str, str, str], cuda_home: tuple[str, str] | None = None,
            nvcc: tuple[str, str] | None = None) -> ToolkitFacts:
    if not installs:
        return ToolkitFacts(status=Status.ABSENT, reason="no CUDA toolkit: CUDA_HOME/CUDA_PATH unset, no nvcc on "
                                                         "PATH, no /usr/local/cuda*")
    return ToolkitFacts(
        status=Status.OK, cuda_home=Resolved(*cuda_home) if cuda_home else Resolved(),
        nvcc_path=nvcc[0] if nvcc else None, nvcc_version=nvcc[1] if nvcc else None,
        installs=tuple(ToolkitInstall(path, version, source) for path, version, source in installs),
    )


def facts(label: str, **sections) -> Facts:
    return Facts(ftdoctor_version=VERSION, collected_at=COLLECTED, label=label, **sections)


VENV = "/home/ubuntu/ft/.venv"


def site(prefix: str, py: str = "3.11") -> str:
    return f"{prefix}/lib/python{py}/site-packages"


# --- the machines ---------------------------------------------------------------------------------------------


def h100_driver580_cu130() -> Facts:
    """HGX H100 node, driver 580.95.05 (CUDA 13.0.2's), torch 2.9.1+cu130 from PyTorch's index: all fits."""
    sp = site(VENV, "3.12")
    gpus = tuple(gpu(i, "H100") for i in range(8))
    stack = hf_stack(sp, transformers="5.5.4", hub="1.5.0", accelerate="1.12.0", peft="0.18.1", trl="1.5.1",
                     datasets="4.7.0", py="cp312-cp312",
                     extra=(dist("deepspeed", "0.18.6", sp, requires=("torch", "numpy", "packaging>=20.0", "ninja")),
                            dist("ninja", "1.13.0", sp),
                            dist("packaging", "25.0", sp)))
    return facts(
        "h100-driver580-cu130",
        driver=driver("580.95.05", "13.0", gpus, ["H100"] * 8),
        toolkit=toolkit(("/usr/local/cuda-13.0", "13.0.88", "CUDA_HOME"), cuda_home=("/usr/local/cuda-13.0", "CUDA_HOME"),
                        nvcc=("/usr/local/cuda-13.0/bin/nvcc", "13.0.88")),
        system=system(**UBUNTU_2204, cpus=224, mem_gib=2048, shm_gib=1024),
        python=pyenv(f"{VENV}/bin/python", "3.12.3", VENV,
                     torch_dists("2.9.1+cu130", sp, CU130, "3.5.1", "cp312-cp312") + stack),
        torch=torch_ok("2.9.1+cu130", "13.0", variant="cu130", devices=gpus, cudnn=91300, nccl="2.27.7",
                       libs=cuda_libs(sp, True, "/usr/lib/x86_64-linux-gnu/libcuda.so.580.95.05"),
                       cuda_home="/usr/local/cuda-13.0"),
        env={"CUDA_HOME": "/usr/local/cuda-13.0", "NCCL_DEBUG": "WARN", "VIRTUAL_ENV": VENV},
    )


def a100_driver535_cu124() -> Facts:
    """A100 80GB cloud VM on the R535 LTS driver (CUDA 12.2), the package index's torch 2.5.1 (CUDA 12.4)."""
    sp = site(VENV, "3.10")
    gpus = (gpu(0, "A100-80"),)
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", trl="0.19.1",
                     datasets="3.6.0", py="cp310-cp310")
    return facts(
        "a100-driver535-cu124",
        driver=driver("535.183.01", "12.2", gpus, ["A100-80"]),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=12, mem_gib=85),
        python=pyenv(f"{VENV}/bin/python", "3.10.12", VENV, torch_dists("2.5.1", sp, CU124, "3.1.0", "cp310-cp310") + stack),
        torch=torch_ok("2.5.1", "12.4", variant="cu124", devices=gpus, cudnn=90100, nccl="2.21.5",
                       libs=cuda_libs(sp, False, "/usr/lib/x86_64-linux-gnu/libcuda.so.535.183.01")),
        env={"VIRTUAL_ENV": VENV},
    )


def t4_driver525() -> Facts:
    """Tesla T4 on driver 525.147.05 (CUDA 12.0) with the package index's default torch 2.11.0, a CUDA 13 build."""
    sp = site(VENV)
    gpus = (gpu(0, "T4"),)
    stack = hf_stack(sp, transformers="5.10.4", hub="1.5.0", accelerate="1.12.0", peft="0.18.1", trl="1.12.0",
                     datasets="4.7.0")
    too_old = ("CUDA initialization: The NVIDIA driver on your system is too old (found version 12000). Please update "
               "your GPU driver by downloading and installing a new version from the URL: "
               "http://www.nvidia.com/Download/index.aspx Alternatively, go to: https://pytorch.org to install a PyTorch "
               "version that has been compiled with your version of the CUDA driver.")
    return facts(
        "t4-driver525",
        driver=driver("525.147.05", "12.0", gpus, ["T4"]),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=8, mem_gib=30),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.11.0", sp, CU130, "3.6.0", "cp311-cp311") + stack),
        torch=torch_ok("2.11.0", "13.0", variant="cu130", devices=gpus, available=False, warnings=(too_old,),
                       cudnn=91900, nccl="2.28.7", libs=cuda_libs(sp, True, "/usr/lib/x86_64-linux-gnu/libcuda.so.525.147.05")),
        env={"VIRTUAL_ENV": VENV},
    )


def rtx4090_cu121() -> Facts:
    """Workstation RTX 4090, torch 2.3.1+cu121 kept from an older project, transformers upgraded to 5.2.0."""
    sp = site(VENV, "3.10")
    gpus = (gpu(0, "4090"),)
    stack = hf_stack(sp, transformers="5.2.0", hub="1.3.4", accelerate="1.10.1", peft="0.17.1", trl="0.29.1",
                     datasets="3.6.0", py="cp310-cp310")
    return facts(
        "rtx4090-cu121",
        driver=driver("550.127.05", "12.4", gpus, ["4090"], open_module=True),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=24, mem_gib=128),
        python=pyenv(f"{VENV}/bin/python", "3.10.12", VENV,
                     torch_dists("2.3.1+cu121", sp, CU121, "2.3.1", "cp310-cp310") + stack),
        torch=torch_ok("2.3.1+cu121", "12.1", variant="cu121", devices=gpus, cudnn=8902, nccl="2.20.5",
                       libs=cuda_libs(sp, False)),
        env={"VIRTUAL_ENV": VENV},
    )


def rtx5090_cu126() -> Facts:
    """RTX 5090 (sm_120) with the package index's torch 2.7.1, whose default build is CUDA 12.6 without Blackwell."""
    sp = site(VENV, "3.12")
    gpus = (gpu(0, "5090"),)
    warn = ("NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch installation.\n"
            "The current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90.\n"
            "If you want to use the NVIDIA GeForce RTX 5090 GPU with PyTorch, please check the instructions at "
            "https://pytorch.org/get-started/locally/")
    stack = hf_stack(sp, transformers="5.5.4", hub="1.5.0", accelerate="1.12.0", peft="0.18.1", trl="1.5.1",
                     datasets="4.7.0", py="cp312-cp312")
    return facts(
        "rtx5090-cu126",
        driver=driver("570.133.07", "12.8", gpus, ["5090"], open_module=True),
        toolkit=toolkit(),
        system=system(**UBUNTU_2404, cpus=32, mem_gib=96),
        python=pyenv(f"{VENV}/bin/python", "3.12.3", VENV, torch_dists("2.7.1", sp, CU126, "3.3.1", "cp312-cp312") + stack),
        torch=torch_ok("2.7.1", "12.6", variant="cu126", devices=gpus, warnings=(warn,), cudnn=90501, nccl="2.26.2",
                       libs=cuda_libs(sp, False, "/usr/lib/x86_64-linux-gnu/libcuda.so.570.133.07")),
        env={"VIRTUAL_ENV": VENV},
    )


def v100_cu130() -> Facts:
    """4 × V100 (sm_70) with the package index's torch 2.11.0 (CUDA 13): CUDA 13 cannot target Volta."""
    sp = site(VENV)
    gpus = tuple(gpu(i, "V100") for i in range(4))
    warn = ("Found GPU0 Tesla V100-SXM2-16GB which is of cuda capability 7.0.\n"
            "PyTorch no longer supports this GPU because it is too old.\n"
            "The minimum cuda capability supported by this library is 7.5.")
    stack = hf_stack(sp, transformers="5.10.4", hub="1.5.0", accelerate="1.12.0", peft="0.18.1", trl="1.12.0",
                     datasets="4.7.0")
    return facts(
        "v100-cu130",
        driver=driver("580.82.07", "13.0", gpus, ["V100"] * 4),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=32, mem_gib=244),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.11.0", sp, CU130, "3.6.0", "cp311-cp311") + stack),
        torch=torch_ok("2.11.0", "13.0", variant="cu130", devices=gpus, warnings=(warn,), cudnn=91900, nccl="2.28.7",
                       libs=cuda_libs(sp, True, "/usr/lib/x86_64-linux-gnu/libcuda.so.580.82.07")),
        env={"VIRTUAL_ENV": VENV},
    )


def two_gpus_4090_1080ti() -> Facts:
    """A home box with an RTX 4090 and an older GTX 1080 Ti, torch 2.8.0 (CUDA 12.8: no Pascal kernels)."""
    sp = site(VENV)
    gpus = (gpu(0, "4090"), gpu(1, "1080Ti"))
    warn = ("NVIDIA GeForce GTX 1080 Ti with CUDA capability sm_61 is not compatible with the current PyTorch "
            "installation.\nThe current PyTorch install supports CUDA capabilities sm_70 sm_75 sm_80 sm_86 sm_90 "
            "sm_100 sm_120.\nIf you want to use the NVIDIA GeForce GTX 1080 Ti GPU with PyTorch, please check the "
            "instructions at https://pytorch.org/get-started/locally/")
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", datasets="3.6.0")
    return facts(
        "two-gpus-4090-1080ti",
        driver=driver("550.144.03", "12.4", gpus, ["4090", "1080Ti"]),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=16, mem_gib=64),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.8.0", sp, CU128, "3.4.0", "cp311-cp311") + stack),
        torch=torch_ok("2.8.0", "12.8", variant="cu128", devices=gpus, warnings=(warn,), cudnn=91002, nccl="2.27.3",
                       libs=cuda_libs(sp, False, "/usr/lib/x86_64-linux-gnu/libcuda.so.550.144.03")),
        env={"VIRTUAL_ENV": VENV},
    )


def container_no_userspace() -> Facts:
    """A docker container started without --gpus: the host's A10G and its kernel module are visible, the driver's
    libraries are not mounted. /dev/shm is Docker's default 64 MB."""
    sp = "/usr/local/lib/python3.10/dist-packages"
    d = replace(
        NO_DRIVER,
        kernel_module=KernelModule(status=Status.OK, source="/sys/module/nvidia/version", version="550.54.15",
                                   open_module=False),
        pci_devices=pci(["A10G"]), dev_nodes=nodes(1), driver_version=Resolved("550.54.15", "/sys/module/nvidia/version"),
    )
    warn = ("CUDA initialization: Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU "
            "and installed a driver from http://www.nvidia.com/Download/index.aspx")
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", py="cp310-cp310")
    return facts(
        "container-no-userspace",
        driver=d,
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, kernel="5.15.0-1072-aws", container=("docker",), shm_gib=64 / 1024, cpus=8, mem_gib=32),
        python=pyenv("/usr/bin/python3", "3.10.12", "/usr",
                     torch_dists("2.6.0", sp, CU124, "3.2.0", "cp310-cp310") + stack, kind="system"),
        torch=torch_ok("2.6.0", "12.4", variant="cu124", available=False, warnings=(warn,), cudnn=90100, nccl="2.21.5",
                       libs=()),
        env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
    )


def cpu_laptop() -> Facts:
    """A laptop without an NVIDIA GPU, with the CPU-only torch 2.13.0+cpu and the current stack."""
    prefix = "/home/ana/.venvs/ft"
    sp = site(prefix, "3.12")
    stack = hf_stack(sp, transformers="5.23.0", hub="1.31.0", accelerate="1.15.0", peft="0.21.2", trl="1.16.0",
                     datasets="4.7.0", py="cp312-cp312")
    return facts(
        "cpu-laptop",
        driver=NO_DRIVER,
        toolkit=toolkit(),
        system=system(**UBUNTU_2404, kernel="6.8.0-45-generic", shm_gib=7.7, cpus=8, mem_gib=16),
        python=pyenv(f"{prefix}/bin/python", "3.12.3", prefix,
                     [dist("torch", "2.13.0+cpu", sp, tags=(M228,), requires=("filelock", "typing-extensions>=4.10.0"),
                           py="cp312-cp312"),
                      dist("filelock", "3.16.1", sp), dist("typing-extensions", "4.12.2", sp)] + stack),
        torch=torch_ok("2.13.0+cpu", None, variant=None, available=False, elapsed=2.1),
        env={"VIRTUAL_ENV": prefix},
    )


def laptop_cuda_torch_no_gpu() -> Facts:
    """The same kind of laptop after a plain install of torch from the package index: a 2.13.0 CUDA 13 build."""
    base = cpu_laptop()
    prefix = "/home/ana/.venvs/ft"
    sp = site(prefix, "3.12")
    dists = [d for d in base.python.distributions if d.name not in ("torch", "filelock", "typing-extensions")]
    python = pyenv(f"{prefix}/bin/python", "3.12.3", prefix,
                   torch_dists("2.13.0", sp, CU130, "3.7.1", "cp312-cp312") + dists)
    torch = torch_ok("2.13.0", "13.0", variant="cu130", available=False, cudnn=92000, nccl="2.28.7", elapsed=4.8)
    return replace(base, label="laptop-cuda-torch-no-gpu", python=python, torch=torch)


def wsl2_rtx3060() -> Facts:
    """WSL 2 on a Windows laptop with an RTX 3060 Laptop GPU: the Windows driver 566.36 (CUDA 12.7) serves
    CUDA through /usr/lib/wsl/lib; there is no nvidia kernel module and no PCI device inside WSL."""
    sp = site(VENV)
    g = (gpu(0, "3060L"),)
    d = DriverFacts(
        kernel_module=KernelModule(status=Status.ABSENT, reason="no /sys/module/nvidia and no /proc/driver/nvidia: "
                                                                "the nvidia kernel module is not loaded"),
        nvml=NvmlFacts(status=Status.OK, driver_version="566.36", cuda_driver_version="12.7", nvml_version="12.566.36",
                       gpus=g),
        cuda_driver_api=CudaDriverApiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered"),
        nvidia_smi=NvidiaSmiFacts(status=Status.UNKNOWN, reason="not asked: NVML answered"),
        pci_status=Status.OK, driver_version=Resolved("566.36", "nvml"), cuda_driver_version=Resolved("12.7", "nvml"),
        gpus=g,
    )
    libcuda = "/usr/lib/wsl/drivers/nvlti.inf_amd64_3d3d2b7a1c9d1f0e/libcuda.so.1.1"
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", trl="0.19.1",
                     datasets="3.6.0")
    return facts(
        "wsl2-rtx3060",
        driver=d,
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, kernel="5.15.167.4-microsoft-standard-WSL2", wsl=True, shm_gib=7.8, cpus=16, mem_gib=15),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.8.0", sp, CU128, "3.4.0", "cp311-cp311") + stack),
        torch=torch_ok("2.8.0", "12.8", variant="cu128", devices=g, cudnn=91002, nccl="2.27.3",
                       libs=cuda_libs(sp, False, libcuda)),
        env={"VIRTUAL_ENV": VENV, "LD_LIBRARY_PATH": "/usr/lib/wsl/lib"},
    )


def driver_mismatch() -> Facts:
    """Two L40S after `apt upgrade` moved the driver's libraries to 550.127.05 while the 550.120 module stays loaded."""
    sp = site(VENV)
    d = DriverFacts(
        kernel_module=KernelModule(status=Status.OK, source="/sys/module/nvidia/version", version="550.120",
                                   open_module=False),
        nvml=NvmlFacts(status=Status.ERROR, error="LibRmVersionMismatch", reason="RM has detected an NVML/RM version mismatch."),
        cuda_driver_api=CudaDriverApiFacts(status=Status.ERROR, library="libcuda.so.1",
                                           error="CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", reason="cuInit(0) returned 803"),
        nvidia_smi=NvidiaSmiFacts(status=Status.ERROR, path="/usr/bin/nvidia-smi",
                                  reason="nvidia-smi exited with code 18 and printed no GPU rows: Failed to initialize "
                                         "NVML: Driver/library version mismatch"),
        pci_devices=pci(["L40S", "L40S"]), pci_status=Status.OK, dev_nodes=nodes(2),
        driver_version=Resolved("550.120", "/sys/module/nvidia/version"),
    )
    warn = ("CUDA initialization: Unexpected error from cudaGetDeviceCount(). Did you run some cuda functions before "
            "calling NumCudaDevices() that might have already set an error? Error 803: system has unsupported display "
            "driver / cuda driver combination")
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1")
    return facts(
        "driver-mismatch",
        driver=d,
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=64, mem_gib=512),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.6.0", sp, CU124, "3.2.0", "cp311-cp311") + stack),
        torch=torch_ok("2.6.0", "12.4", variant="cu124", available=False, warnings=(warn,), cudnn=90100, nccl="2.21.5"),
        env={"VIRTUAL_ENV": VENV},
    )


def ld_library_path_shadow() -> Facts:
    """AWS g5 (A10G) with LD_LIBRARY_PATH pointing at a CUDA 12.4 toolkit while torch 2.3.1 pins cuBLAS 12.1."""
    sp = site(VENV, "3.10")
    g = (gpu(0, "A10G"),)
    libs = tuple(sorted(
        [lib for lib in cuda_libs(sp, False, "/usr/lib/x86_64-linux-gnu/libcuda.so.550.127.05") if "cublas" not in lib]
        + ["/usr/local/cuda-12.4/lib64/libcublas.so.12.4.5.8", "/usr/local/cuda-12.4/lib64/libcublasLt.so.12.4.5.8"]))
    stack = hf_stack(sp, transformers="4.46.3", hub="0.26.5", accelerate="1.1.1", peft="0.13.2", py="cp310-cp310",
                     extra=(dist("deepspeed", "0.15.4", sp, requires=("torch", "numpy", "packaging>=20.0", "ninja")),
                            dist("ninja", "1.13.0", sp),
                            dist("packaging", "24.2", sp)))
    return facts(
        "ld-library-path-shadow",
        driver=driver("550.127.05", "12.4", g, ["A10G"]),
        toolkit=toolkit(("/usr/local/cuda-12.4", "12.4.131", "CUDA_HOME"), cuda_home=("/usr/local/cuda-12.4", "CUDA_HOME"),
                        nvcc=("/usr/local/cuda-12.4/bin/nvcc", "12.4.131")),
        system=system(**UBUNTU_2204, kernel="6.8.0-1019-aws", cpus=16, mem_gib=64),
        python=pyenv(f"{VENV}/bin/python", "3.10.12", VENV, torch_dists("2.3.1", sp, CU121, "2.3.1", "cp310-cp310") + stack),
        torch=torch_ok("2.3.1", "12.1", variant="cu121", devices=g, cudnn=8902, nccl="2.20.5", libs=libs,
                       cuda_home="/usr/local/cuda-12.4"),
        env={"VIRTUAL_ENV": VENV, "CUDA_HOME": "/usr/local/cuda-12.4",
             "LD_LIBRARY_PATH": "/usr/local/cuda-12.4/lib64:/usr/local/cuda-12.4/extras/CUPTI/lib64"},
    )


def centos7_old_glibc() -> Facts:
    """A CentOS 7 HPC node (glibc 2.17, GCC 4.8's libstdc++) running a shared virtual environment built on a newer
    system: its torch 2.7.1 is a manylinux_2_28 wheel and fails to import."""
    prefix = "/shared/venvs/ft"
    sp = site(prefix)
    gpus = tuple(gpu(i, "V100") for i in range(2))
    error = ("`import torch` exited with code 1: ImportError: /lib64/libc.so.6: version `GLIBC_2.28' not found "
             f"(required by {sp}/torch/lib/libtorch_cpu.so)")
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", trl="0.19.1",
                     datasets="3.6.0")
    return facts(
        "centos7-old-glibc",
        driver=driver("535.216.01", "12.2", gpus, ["V100", "V100"]),
        toolkit=toolkit(),
        system=system(distro="CentOS Linux 7 (Core)", glibc="2.17", glibcxx="3.4.19", libstdcxx="/usr/lib64/libstdc++.so.6.0.19",
                      kernel="3.10.0-1160.119.1.el7.x86_64", cpus=40, mem_gib=384),
        python=pyenv(f"{prefix}/bin/python", "3.11.10", prefix, torch_dists("2.7.1", sp, CU126, "3.3.1", "cp311-cp311") + stack),
        torch=TorchFacts(status=Status.ERROR, source="subprocess", reason=error, version="2.7.1", returncode=1, elapsed_s=0.9),
        env={"VIRTUAL_ENV": prefix},
    )


def conda_old_libstdcxx() -> Facts:
    """A conda environment with LD_LIBRARY_PATH=$CONDA_PREFIX/lib, whose old libstdc++ (GCC 5) is found before the
    system's: importing torch 2.7.1 fails on a missing GLIBCXX version."""
    prefix = "/opt/conda/envs/ft"
    sp = site(prefix, "3.10")
    g = (gpu(0, "L4"),)
    error = (f"`import torch` exited with code 1: ImportError: {prefix}/lib/libstdc++.so.6: version `GLIBCXX_3.4.22' "
             f"not found (required by {sp}/torch/lib/libtorch_cpu.so)")
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", py="cp310-cp310")
    return facts(
        "conda-old-libstdcxx",
        driver=driver("550.127.05", "12.4", g, ["L4"]),
        toolkit=toolkit(),
        system=system(**{**UBUNTU_2204, "glibcxx": "3.4.21"}, libstdcxx=f"{prefix}/lib/libstdc++.so.6.0.21",
                      kernel="6.8.0-1015-gcp", cpus=8, mem_gib=32),
        python=pyenv(f"{prefix}/bin/python", "3.10.15", prefix,
                     torch_dists("2.7.1", sp, CU126, "3.3.1", "cp310-cp310") + stack, kind="conda"),
        torch=TorchFacts(status=Status.ERROR, source="subprocess", reason=error, version="2.7.1", returncode=1, elapsed_s=1.1),
        env={"CONDA_PREFIX": prefix, "LD_LIBRARY_PATH": f"{prefix}/lib"},
    )


def dgx_misconfigured() -> Facts:
    """A shared 8 × A100 40GB node: CUDA_VISIBLE_DEVICES names a GPU 8 that does not exist, GPU 1 is in exclusive-process
    mode, and trl was upgraded past the installed transformers."""
    sp = site(VENV)
    gpus = tuple(gpu(i, "A100-40", mode="exclusive_process" if i == 1 else "default") for i in range(8))
    stack = hf_stack(sp, transformers="4.46.3", hub="0.26.5", accelerate="1.1.1", peft="0.13.2", trl="0.19.1",
                     datasets="3.6.0")
    visible = tuple(g for g in gpus if g.index in (0, 1))
    return facts(
        "dgx-misconfigured",
        driver=driver("535.161.08", "12.2", gpus, ["A100-40"] * 8, visible="0,1,8,3"),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=256, mem_gib=1024, shm_gib=512),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.5.1", sp, CU124, "3.1.0", "cp311-cp311") + stack),
        torch=torch_ok("2.5.1", "12.4", variant="cu124", devices=visible, cudnn=90100, nccl="2.21.5",
                       libs=cuda_libs(sp, False, "/usr/lib/x86_64-linux-gnu/libcuda.so.535.161.08")),
        env={"VIRTUAL_ENV": VENV, "CUDA_VISIBLE_DEVICES": "0,1,8,3"},
    )


def a100_mig_two_toolkits() -> Facts:
    """An A100 80GB with MIG enabled, CUDA_HOME on an old CUDA 11.8 toolkit while nvcc 12.4 is first on PATH, and
    DeepSpeed installed (it compiles its ops with CUDA_HOME's nvcc)."""
    sp = site(VENV)
    g = (gpu(0, "A100-80", mig="enabled"),)
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1",
                     extra=(dist("deepspeed", "0.17.6", sp, requires=("torch", "numpy", "packaging>=20.0", "ninja")),
                            dist("ninja", "1.13.0", sp),
                            dist("packaging", "25.0", sp)))
    return facts(
        "a100-mig-two-toolkits",
        driver=driver("550.127.05", "12.4", g, ["A100-80"]),
        toolkit=toolkit(("/usr/local/cuda-11.8", "11.8.89", "CUDA_HOME"), ("/usr/local/cuda-12.4", "12.4.131", "nvcc on PATH"),
                        cuda_home=("/usr/local/cuda-11.8", "CUDA_HOME"), nvcc=("/usr/local/cuda-12.4/bin/nvcc", "12.4.131")),
        system=system(**UBUNTU_2204, cpus=32, mem_gib=256),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.6.0", sp, CU124, "3.2.0", "cp311-cp311") + stack),
        torch=torch_ok("2.6.0", "12.4", variant="cu124", devices=g, cudnn=90100, nccl="2.21.5",
                       libs=cuda_libs(sp, False), cuda_home="/usr/local/cuda-11.8"),
        env={"VIRTUAL_ENV": VENV, "CUDA_HOME": "/usr/local/cuda-11.8"},
    )


def torch_segfault() -> Facts:
    """An RTX 3090 box where `import torch` dies with SIGSEGV (a native library crashing during the import)."""
    sp = site(VENV)
    g = (gpu(0, "3090"),)
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1")
    return facts(
        "torch-segfault",
        driver=driver("550.127.05", "12.4", g, ["3090"]),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=16, mem_gib=64),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.6.0", sp, CU124, "3.2.0", "cp311-cp311") + stack),
        torch=TorchFacts(status=Status.ERROR, source="subprocess", version="2.6.0", returncode=-11, signal="SIGSEGV",
                         reason="`import torch` was killed by SIGSEGV", elapsed_s=1.7),
        env={"VIRTUAL_ENV": VENV},
    )


def rtx5090_cu130_driver570() -> Facts:
    """An RTX 5090 on driver 570 (CUDA 12.8) with torch 2.9.1+cu130: the right architecture, the wrong CUDA major."""
    base = rtx5090_cu126()
    sp = site(VENV, "3.12")
    dists = [d for d in base.python.distributions if not (d.name.startswith("nvidia-") or d.name in ("torch", "triton"))]
    python = pyenv(f"{VENV}/bin/python", "3.12.3", VENV, torch_dists("2.9.1+cu130", sp, CU130, "3.5.1", "cp312-cp312") + dists)
    warn = ("CUDA initialization: The NVIDIA driver on your system is too old (found version 12080). Please update your "
            "GPU driver by downloading and installing a new version from the URL: http://www.nvidia.com/Download/index.aspx "
            "Alternatively, go to: https://pytorch.org to install a PyTorch version that has been compiled with your "
            "version of the CUDA driver.")
    torch = torch_ok("2.9.1+cu130", "13.0", variant="cu130", devices=base.driver.gpus, available=False, warnings=(warn,),
                     cudnn=91300, nccl="2.27.7")
    return replace(base, label="rtx5090-cu130-driver570", python=python, torch=torch)


def l40s_metadata_only() -> Facts:
    """An L40S server judged with `ftdoctor check --no-torch`: torch 2.8.0's facts come from its metadata only."""
    sp = site(VENV)
    g = (gpu(0, "L40S"),)
    stack = hf_stack(sp, transformers="4.57.6", hub="0.35.3", accelerate="1.10.1", peft="0.17.1", trl="0.19.1",
                     datasets="3.6.0")
    return facts(
        "l40s-metadata-only",
        driver=driver("570.133.20", "12.8", g, ["L40S"]),
        toolkit=toolkit(),
        system=system(**UBUNTU_2204, cpus=48, mem_gib=384),
        python=pyenv(f"{VENV}/bin/python", "3.11.10", VENV, torch_dists("2.8.0", sp, CU128, "3.4.0", "cp311-cp311") + stack),
        torch=TorchFacts(status=Status.UNKNOWN, source="metadata", version="2.8.0", cuda="12.8",
                         reason="torch was not imported (--no-torch): facts from its metadata only"),
        env={"VIRTUAL_ENV": VENV},
    )


MACHINES = {
    fn.__name__.replace("_", "-"): fn
    for fn in (
        h100_driver580_cu130, a100_driver535_cu124, t4_driver525, rtx4090_cu121, rtx5090_cu126, v100_cu130,
        two_gpus_4090_1080ti, container_no_userspace, cpu_laptop, laptop_cuda_torch_no_gpu, wsl2_rtx3060,
        driver_mismatch, ld_library_path_shadow, centos7_old_glibc, conda_old_libstdcxx, dgx_misconfigured,
        a100_mig_two_toolkits, torch_segfault, rtx5090_cu130_driver570, l40s_metadata_only,
    )
}


def built() -> dict[str, str]:
    return {f"{name}.json": serialize.dumps(make()) for name, make in MACHINES.items()}


def main(argv: list[str]) -> int:
    stale = [name for name, text in built().items()
             if not (HERE / name).is_file() or (HERE / name).read_text(encoding="utf-8") != text]
    if "--check" in argv:
        print("\n".join(f"stale: tests/machines/{name}" for name in stale) or "all recorded machines are current")
        return 1 if stale else 0
    for name, text in built().items():
        (HERE / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(MACHINES)} machines to tests/machines/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
