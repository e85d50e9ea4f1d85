"""Fake `torch` packages for the torch probe's tests: a package folder (put it first on PYTHONPATH, or into a
throwaway venv) whose import does what a broken or a GPU build of torch does, plus its .dist-info.

Modes: "cuda" (a CUDA 12.4 build on a machine without a driver: is_available() warns and answers False),
"segfault-import", "hang-import", "undefined-symbol", "glibcxx", "missing-library", "segfault-cuda",
"numpy-warning". The error texts follow the shape of the real messages (the loader's wording).
"""

from __future__ import annotations

from pathlib import Path

INIT = '''
import os, signal, sys, time, warnings
MODE = {mode!r}
__version__ = {version!r}
if MODE == "segfault-import":
    os.kill(os.getpid(), signal.SIGSEGV)
if MODE == "hang-import":
    time.sleep(3600)
if MODE == "undefined-symbol":
    raise ImportError(os.path.dirname(__file__) + "/lib/libtorch_cuda.so: undefined symbol: ncclCommRegister")
if MODE == "glibcxx":
    raise ImportError("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found "
                      "(required by " + os.path.dirname(__file__) + "/lib/libtorch_cpu.so)")
if MODE == "missing-library":
    raise ImportError("libcudnn.so.9: cannot open shared object file: No such file or directory")
if MODE == "numpy-warning":
    warnings.warn("Failed to initialize NumPy: _ARRAY_API not found (Triggered internally at "
                  "torch/csrc/utils/tensor_numpy.cpp:84.)", UserWarning)


class version:
    cuda = "12.4"
    hip = None
    git_version = "0000000000000000000000000000000000000000"


class _C:
    _GLIBCXX_USE_CXX11_ABI = False

    @staticmethod
    def _cuda_getArchFlags():
        return "sm_50 sm_60 sm_70 sm_75 sm_80 sm_86 sm_90"


from torch import backends, cuda, utils  # noqa: E402
'''

CUDA = '''
import os, signal, warnings
from torch import nccl as _nccl
MODE = {mode!r}
nccl = _nccl


def is_available():
    if MODE == "segfault-cuda":
        os.kill(os.getpid(), signal.SIGSEGV)
    warnings.warn("CUDA initialization: Found no NVIDIA driver on your system. Please check that you have an "
                  "NVIDIA GPU and installed a driver from http://www.nvidia.com/Download/index.aspx", UserWarning)
    return False


def device_count():
    return 0
'''

FILES = {
    "torch/__init__.py": INIT,
    "torch/cuda/__init__.py": CUDA,
    "torch/nccl.py": "def version():\n    return (2, 21, 5)\n",
    "torch/backends/__init__.py": "from torch.backends import cudnn\n",
    "torch/backends/cudnn.py": "def version():\n    return 90100\n",
    "torch/utils/__init__.py": "",
    "torch/utils/cpp_extension.py": "import os\nCUDA_HOME = os.environ.get('CUDA_HOME')\n",
}


def make_fake_torch(folder: Path, mode: str = "cuda", version: str = "2.5.1+cu124") -> Path:
    """Write the fake package and its metadata into `folder`; returns `folder`."""
    for name, template in FILES.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.format(mode=mode, version=version))
    info = folder / f"torch-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
    return folder
