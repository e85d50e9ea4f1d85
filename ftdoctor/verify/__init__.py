"""Verified loading: "installed" is not "works". Smoke tests run the real thing (a CUDA matmul, a 4-bit
bitsandbytes layer, a flash-attn forward, an all-reduce, a DeepSpeed op build, a Triton kernel), each in its
own subprocess of the diagnosed interpreter, bounded and contained; their results become facts
(`Facts.verify`) that the rule families judge.

    from ftdoctor.verify import run_smokes
    outcome = run_smokes(host, names=["torch", "bitsandbytes-4bit", "distributed"], world_size=2)
"""

from importlib import import_module

__all__ = ["NAMES", "SmokeOptions", "VerifyOutcome", "run_smokes"]
_HOMES = {"NAMES": "catalog", "SmokeOptions": "catalog", "VerifyOutcome": "run", "run_smokes": "run"}


def __getattr__(name: str):
    """Resolved on first use: `check` imports this package for its --verify options on every run, and the
    runner (threads, process bookkeeping) is wanted only when smoke tests run."""
    if name in _HOMES:
        return getattr(import_module(f"ftdoctor.verify.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
