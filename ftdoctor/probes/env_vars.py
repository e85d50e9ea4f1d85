"""Environment variables that change what the CUDA stack, torch, bitsandbytes, DeepSpeed or NCCL do."""

from __future__ import annotations

from ftdoctor.probes.host import Host

NAMES = (
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "ACCELERATE_MIXED_PRECISION", "CUDA_HOME", "CUDA_PATH", "CUDA_MODULE_LOADING", "CUDA_LAUNCH_BLOCKING",
    "LD_LIBRARY_PATH", "LD_PRELOAD", "PATH",
    "TORCH_CUDA_ARCH_LIST", "PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF", "TORCH_EXTENSIONS_DIR",
    "BNB_CUDA_VERSION", "BNB_ROCM_VERSION",
    "DS_ACCELERATOR", "DS_SKIP_CUDA_CHECK", "DS_BUILD_OPS",
    "FLASH_ATTENTION_SKIP_CUDA_BUILD", "FLASH_ATTENTION_FORCE_BUILD", "FLASH_ATTENTION_FORCE_CXX11_ABI", "MAX_JOBS",
    "CONDA_PREFIX", "VIRTUAL_ENV", "PYTHONPATH", "PYTHONNOUSERSITE",
    "HF_HOME", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE",
    "ACCELERATE_USE_CPU", "ACCELERATE_CONFIG_FILE", "WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT",
    "OMP_NUM_THREADS",
)
PREFIXES = ("NCCL_", "UV_TORCH_", "UV_CUDA_", "CONDA_OVERRIDE_CUDA", "FTDOCTOR_")
SECRET_MARKERS = ("TOKEN", "KEY", "SECRET", "PASSWORD")


def probe(host: Host) -> dict[str, str]:
    found = {}
    for name, value in host.env.items():
        if name in NAMES or name.startswith(PREFIXES):
            # never carry a credential into a snapshot someone may attach to an issue
            found[name] = "<redacted>" if any(m in name for m in SECRET_MARKERS) else value
    return dict(sorted(found.items()))
