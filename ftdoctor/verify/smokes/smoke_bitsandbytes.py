"""Smoke test for bitsandbytes: which native library it loaded (against torch's CUDA and BNB_CUDA_VERSION),
whether it fell back to its error-handler stand-in, its own sanity check (an Adam step), and a 4-bit NF4
linear layer with a LoRA adapter doing forward, backward and an 8-bit optimizer step on a tiny random model.

Runs on the GPU when torch sees one, else on the CPU (bitsandbytes releases with CPU kernels run it there).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the protocol beside this file, even under -I
import _protocol as protocol  # noqa: E402

FEATURES, RANK = 128, 32  # LoRA matrices of 4096 elements: the smallest bitsandbytes keeps in 8-bit state
KERNEL_TOLERANCE = 0.05  # 4-bit kernel output vs dequantize-then-matmul, relative to the output's scale


def main():
    version = protocol.installed("bitsandbytes")
    if version is None:
        protocol.result("skipped", "bitsandbytes is not installed")
        return
    protocol.stage("import torch")
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    details = {"version": version, "torch": torch.__version__, "torch_cuda": torch.version.cuda, "device": device,
               "bnb_cuda_version_env": os.environ.get("BNB_CUDA_VERSION")}
    protocol.stage("import bitsandbytes")
    import bitsandbytes as bnb

    details["library"] = library_facts()
    details["sanity"] = attempt("sanity check", sanity_check, torch, bnb, device)
    details["nf4_lora"] = attempt("4-bit NF4 layer with LoRA: forward, backward, optimizer step", nf4_lora, torch, bnb, device)
    failed = [name for name in ("sanity", "nf4_lora") if not details[name]["ok"]]
    if failed:
        protocol.result("failed", "; ".join(f"{name}: {details[name]['error']}" for name in failed), **details)
    else:
        protocol.result("ok", f"sanity check and a 4-bit NF4 + LoRA training step pass on {device}", **details)


def library_facts():
    """What bitsandbytes.cextension chose; attribute names differ across releases, so every read is guarded."""
    protocol.stage("inspect the native library")
    try:
        from bitsandbytes import cextension
    except ImportError as exc:
        return {"known": False, **protocol.error(exc)}
    lib = getattr(cextension, "lib", None)
    handler = getattr(cextension, "ErrorHandlerMockBNBNativeLibrary", None)
    own = vars(lib) if lib is not None else {}  # the library object answers every other attribute with a stub
    return {
        "known": lib is not None,
        "class": type(lib).__name__,
        "path": getattr(own.get("_lib"), "_name", None),
        "fallback": bool(handler and isinstance(lib, handler)),
        "fallback_error": own.get("error_msg"),
        "backend": getattr(cextension, "BNB_BACKEND", None),
        "compiled_with_cuda": getattr(lib, "compiled_with_cuda", None),
    }


def attempt(name, step, *args):
    protocol.stage(name)
    try:
        return {"ok": True, **step(*args)}
    except Exception as exc:  # noqa: BLE001 - the failure is the finding
        return {"ok": False, **protocol.error(exc)}


def sanity_check(torch, bnb, device):
    """bitsandbytes' own check where it applies (CUDA); on the CPU the same Adam step on the CPU."""
    if device == "cuda":
        try:
            from bitsandbytes.diagnostics.main import sanity_check as own
        except ImportError:
            own = None
        if own is not None:
            own()
            return {"how": "bitsandbytes.diagnostics.main.sanity_check"}
    p = torch.nn.Parameter(torch.rand(10, 10, device=device))
    a = torch.rand(10, 10, device=device)
    before = p.data.sum().item()
    adam = bnb.optim.Adam([p])
    (a * p).sum().backward()
    adam.step()
    if p.data.sum().item() == before:
        raise AssertionError("bitsandbytes' Adam step left the parameter unchanged")
    return {"how": f"bitsandbytes.optim.Adam step on {device}"}


def nf4_lora(torch, bnb, device):
    torch.manual_seed(0)
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    layer = bnb.nn.Linear4bit(FEATURES, FEATURES, bias=False, quant_type="nf4", compute_dtype=dtype)
    layer.weight = bnb.nn.Params4bit(torch.randn(FEATURES, FEATURES) * 0.05, requires_grad=False, quant_type="nf4")
    layer = layer.to(device)
    if layer.weight.dtype != torch.uint8 or getattr(layer.weight, "quant_state", None) is None:
        raise AssertionError(f"moving the layer to {device} did not quantize it (weight dtype {layer.weight.dtype})")
    lora_a = torch.nn.Linear(FEATURES, RANK, bias=False).to(device, dtype)
    lora_b = torch.nn.Linear(RANK, FEATURES, bias=False).to(device, dtype)
    torch.nn.init.normal_(lora_b.weight, std=0.01)  # not zero, so that both LoRA matrices get a gradient
    x = torch.randn(8, FEATURES, device=device, dtype=dtype)
    kernel_error = _kernel_error(torch, bnb, layer, x)
    optimizer = bnb.optim.AdamW8bit([lora_a.weight, lora_b.weight], lr=1e-2)
    before = [w.detach().clone() for w in (lora_a.weight, lora_b.weight)]
    loss = (layer(x) + lora_b(lora_a(x))).float().pow(2).mean()
    loss.backward()
    _check_gradients(torch, lora_a, lora_b, layer)
    optimizer.step()
    changed = [not torch.equal(b, w) for b, w in zip(before, (lora_a.weight, lora_b.weight))]
    finite = all(torch.isfinite(w).all().item() for w in (lora_a.weight, lora_b.weight))
    if not all(changed) or not finite:
        raise AssertionError(f"the optimizer step did not update the LoRA weights properly (changed {changed}, finite {finite})")
    return {"dtype": str(dtype).replace("torch.", ""), "loss": round(loss.item(), 6), "kernel_relative_error": kernel_error}


def _kernel_error(torch, bnb, layer, x):
    """The 4-bit kernel's output against dequantize-then-matmul: a kernel that runs but computes garbage fails."""
    with torch.no_grad():
        weight = bnb.functional.dequantize_4bit(layer.weight.data, layer.weight.quant_state).to(x.dtype)
        expected = (x @ weight.t()).float()
        got = layer(x).float()
    error = ((got - expected).abs().max() / expected.abs().max().clamp_min(1e-6)).item()
    if error > KERNEL_TOLERANCE:
        raise AssertionError(f"4-bit matmul differs from dequantize+matmul by {error:.3g} (tolerance {KERNEL_TOLERANCE})")
    return round(error, 6)


def _check_gradients(torch, lora_a, lora_b, layer):
    for name, weight in (("lora_A", lora_a.weight), ("lora_B", lora_b.weight)):
        if weight.grad is None or not torch.isfinite(weight.grad).all() or weight.grad.abs().sum().item() == 0:
            raise AssertionError(f"{name} got no usable gradient through the 4-bit layer")
    if layer.weight.grad is not None:
        raise AssertionError("the frozen 4-bit base weight received a gradient")


if __name__ == "__main__":
    protocol.run(main)
