"""Smoke test: torch initialises CUDA and multiplies two matrices right on every visible device, or on the
CPU when there is none. Compared with a float64 product on the CPU, so a kernel that runs but computes
garbage fails too."""

import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

SIZE = 256
TOLERANCE = 1e-2  # float32 against float64 on 256-long dot products stays near 1e-4


def main():
    protocol.stage("import torch")
    import torch

    details = {"torch": torch.__version__, "torch_cuda": torch.version.cuda, "cuda_compiled": torch.backends.cuda.is_built()}
    protocol.stage("torch.cuda.is_available")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
        count = torch.cuda.device_count() if available else 0
    details.update(cuda_available=available, device_count=count, warnings=[str(w.message).strip() for w in caught])
    devices = [f"cuda:{i}" for i in range(count)] or ["cpu"]
    details["devices"] = [matmul_on(torch, device) for device in devices]
    bad = [d for d in details["devices"] if not d["ok"]]
    if bad:
        protocol.result("failed", "; ".join(f"{d['device']}: {d['error']}" for d in bad), **details)
    else:
        protocol.result("ok", f"a {SIZE}x{SIZE} matmul is right on {', '.join(devices)}", **details)


def matmul_on(torch, device):
    protocol.stage(f"matmul on {device}")
    out = {"device": device}
    try:
        if device != "cpu":
            props = torch.cuda.get_device_properties(device)
            out.update(name=props.name, compute_capability=f"{props.major}.{props.minor}")
        generator = torch.Generator().manual_seed(0)
        a = torch.randn(SIZE, SIZE, generator=generator)
        b = torch.randn(SIZE, SIZE, generator=generator)
        got = a.to(device) @ b.to(device)
        if device != "cpu":
            torch.cuda.synchronize(device)
        error = (got.double().cpu() - a.double() @ b.double()).abs().max().item()
        out.update(ok=error < TOLERANCE, max_abs_error=error)
        if not out["ok"]:
            out["error"] = f"wrong result: max abs error {error:.3g} (tolerance {TOLERANCE})"
    except Exception as exc:  # noqa: BLE001 - any failure on the device is the finding
        out.update(ok=False, **protocol.error(exc))
    return out


if __name__ == "__main__":
    protocol.run(main)
