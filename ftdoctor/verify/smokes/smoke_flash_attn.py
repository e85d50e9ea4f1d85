"""Smoke test for flash-attn: import its compiled extension (an "undefined symbol" here means it was built
for another torch or C++ ABI), then, on a GPU, compare `flash_attn_func` with torch's
`scaled_dot_product_attention` in float32, causal and not."""

import importlib
import importlib.util
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

EXTENSION = "flash_attn_2_cuda"
SHAPE = (1, 128, 8, 64)  # batch, sequence, heads, head dim: flash-attn's (B, S, H, D) layout
SLACK = 1e-3  # flash-attn may err up to twice as much as torch's own low-precision attention, plus this


def main():
    version = protocol.installed("flash-attn")
    if version is None:
        protocol.result("skipped", "flash-attn is not installed")
        return
    protocol.stage("import torch")
    import torch

    details = {"version": version, "torch": torch.__version__, "torch_cuda": torch.version.cuda,
               "cxx11_abi": bool(torch._C._GLIBCXX_USE_CXX11_ABI), "extension_file": _extension_file()}
    details["import"] = import_flash_attn()
    if not details["import"]["ok"]:
        details["forward"] = {"ok": False, "skipped": "flash-attn did not import"}
        protocol.result("failed", f"import failed: {details['import']['error']}", **details)
        return
    details["forward"] = forward_vs_sdpa(torch)
    forward = details["forward"]
    if forward.get("skipped"):
        protocol.result("ok", f"flash-attn imports; forward not run: {forward['skipped']}", **details)
    elif forward["ok"]:
        protocol.result("ok", "flash-attn's forward matches scaled_dot_product_attention", **details)
    else:
        protocol.result("failed", f"forward: {forward['error']}", **details)


def _extension_file():
    try:
        spec = importlib.util.find_spec(EXTENSION)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec else None


def import_flash_attn():
    try:
        protocol.stage(f"import {EXTENSION}")
        importlib.import_module(EXTENSION)
        protocol.stage("import flash_attn")
        importlib.import_module("flash_attn")
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - ImportError, OSError, RuntimeError...: all mean "does not load"
        return {"ok": False, **protocol.error(exc)}


def forward_vs_sdpa(torch):
    if not torch.cuda.is_available():
        return {"ok": False, "skipped": "no CUDA device"}
    protocol.stage("flash_attn_func forward vs scaled_dot_product_attention")
    major, minor = torch.cuda.get_device_capability(0)
    dtype = torch.bfloat16 if major >= 8 else torch.float16
    out = {"device": torch.cuda.get_device_name(0), "compute_capability": f"{major}.{minor}", "dtype": str(dtype)[6:]}
    try:
        out["errors"] = [_compare(torch, dtype, causal) for causal in (False, True)]
    except Exception as exc:  # noqa: BLE001 - "FlashAttention only supports Ampere GPUs or newer" lands here
        return {**out, "ok": False, **protocol.error(exc)}
    bad = [e for e in out["errors"] if e["flash"] > 2 * e["sdpa"] + SLACK]
    out["ok"] = not bad
    if bad:
        out["error"] = f"flash-attn output differs from the float32 reference by {bad[0]['flash']:.3g} (sdpa: {bad[0]['sdpa']:.3g})"
    return out


def _compare(torch, dtype, causal):
    from flash_attn import flash_attn_func

    generator = torch.Generator(device="cuda").manual_seed(0)
    q, k, v = (torch.randn(SHAPE, device="cuda", dtype=dtype, generator=generator) for _ in range(3))
    got = flash_attn_func(q, k, v, causal=causal).float()
    sdpa = torch.nn.functional.scaled_dot_product_attention

    def reference(t_dtype):
        args = [t.transpose(1, 2).to(t_dtype) for t in (q, k, v)]
        return sdpa(*args, is_causal=causal).transpose(1, 2).float()

    exact = reference(torch.float32)
    torch.cuda.synchronize()
    return {"causal": causal, "flash": (got - exact).abs().max().item(), "sdpa": (reference(dtype) - exact).abs().max().item()}


if __name__ == "__main__":
    protocol.run(main)
