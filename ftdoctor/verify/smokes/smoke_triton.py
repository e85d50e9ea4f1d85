"""Smoke test for Triton: compile and run a trivial kernel (vector add) on the GPU. Catches what CUDA's
minor-version compatibility does not cover: a ptxas or PTX version the driver cannot take, a missing
compiler toolchain, a Triton that does not fit torch."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

ELEMENTS = 4096
BLOCK = 1024


def main():
    version = protocol.installed("triton") or protocol.installed("pytorch-triton")
    if version is None:
        protocol.result("skipped", "triton is not installed")
        return
    protocol.stage("import torch")
    import torch

    details = {"version": version, "torch": torch.__version__, "torch_cuda": torch.version.cuda}
    if not torch.cuda.is_available():
        protocol.result("skipped", "no CUDA device", **details)
        return
    protocol.stage("import triton")
    import _triton_kernel

    protocol.stage("compile and run a Triton kernel")
    x = torch.arange(ELEMENTS, device="cuda", dtype=torch.float32)
    y = torch.full_like(x, 2.0)
    out = torch.empty_like(x)
    _triton_kernel.launch(x, y, out, BLOCK)
    torch.cuda.synchronize()
    details["device"] = torch.cuda.get_device_name(0)
    if torch.equal(out, x + y):
        protocol.result("ok", f"a Triton kernel compiled and ran right on {details['device']}", **details)
    else:
        protocol.result("failed", "the Triton kernel ran but computed a wrong result", **details)


if __name__ == "__main__":
    protocol.run(main)
