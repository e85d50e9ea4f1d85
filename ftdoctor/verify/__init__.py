"""Verified loading: "installed" is not "works". Smoke tests run the real thing (a CUDA matmul, a 4-bit
bitsandbytes layer, a flash-attn forward, an all-reduce, a DeepSpeed op build, a Triton kernel), each in its
own subprocess of the diagnosed interpreter, bounded and contained; their results become facts
(`Facts.verify`) that the rule families judge.

    from ftdoctor.verify import run_smokes
    outcome = run_smokes(host, names=["torch", "bitsandbytes-4bit", "distributed"], world_size=2)
"""

from ftdoctor.verify.catalog import NAMES, SmokeOptions
from ftdoctor.verify.run import VerifyOutcome, run_smokes

__all__ = ["NAMES", "SmokeOptions", "VerifyOutcome", "run_smokes"]
