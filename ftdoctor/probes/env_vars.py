"""Environment variables that change what the CUDA stack, torch, bitsandbytes, DeepSpeed, NCCL or the
trainers do. Values whose names look like credentials are redacted: snapshots get attached to issues."""

from __future__ import annotations

from ftdoctor.probes.host import Host

NAMES = (
    # which GPUs, in which order, and how CUDA loads
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH", "CUDA_MODULE_LOADING",
    "CUDA_LAUNCH_BLOCKING", "CUDA_DEVICE_MAX_CONNECTIONS", "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES",
    "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
    # which libraries the loader picks
    "LD_LIBRARY_PATH", "LD_PRELOAD", "PATH",
    # torch
    "TORCH_CUDA_ARCH_LIST", "PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF", "TORCH_EXTENSIONS_DIR",
    "PYTORCH_NVML_BASED_CUDA_CHECK", "CUBLAS_WORKSPACE_CONFIG", "NVIDIA_TF32_OVERRIDE",
    # extension builds and the kernels libraries
    "BNB_CUDA_VERSION", "BNB_ROCM_VERSION", "DS_ACCELERATOR", "DS_SKIP_CUDA_CHECK", "DS_BUILD_OPS",
    "FLASH_ATTENTION_SKIP_CUDA_BUILD", "FLASH_ATTENTION_FORCE_BUILD", "FLASH_ATTENTION_FORCE_CXX11_ABI", "MAX_JOBS",
    "CC", "CXX", "NVCC_PREPEND_FLAGS", "NVCC_APPEND_FLAGS",
    # which Python environment
    "CONDA_PREFIX", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONNOUSERSITE", "PYTHONHOME",
    # the trainers and the hub
    "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_ENABLE_HF_TRANSFER",
    "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "OMP_NUM_THREADS", "TOKENIZERS_PARALLELISM",
)
PREFIXES = ("NCCL_", "TORCH_NCCL_", "TRITON_", "ACCELERATE_", "UV_TORCH_", "UV_CUDA_", "CONDA_OVERRIDE_CUDA", "FTDOCTOR_")
SECRET_MARKERS = ("TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "AUTH")


def probe(host: Host) -> dict[str, str]:
    found = {}
    for name, value in host.env.items():
        if name in NAMES or name.startswith(PREFIXES):
            found[name] = "<redacted>" if is_secret(name) else value
    return dict(sorted(found.items()))


def is_secret(name: str) -> bool:
    upper = name.upper()
    return any(marker in upper for marker in SECRET_MARKERS)
