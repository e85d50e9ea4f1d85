"""MEM7xx: the estimated peak GPU memory against the target's GPUs (docs/memory.md has the formula)."""

from __future__ import annotations

from dataclasses import replace

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule
from ftdoctor.trainer.memory.estimate import ALLOCATOR_RESERVE, estimate
from ftdoctor.trainer.memory.fit import ways_to_fit
from ftdoctor.trainer.memory.render import gib

TIGHT = 0.9


class MemoryRule(Rule):
    family = "memory"


def _capacity(pre) -> int | None:
    if pre.target.cpu_only:
        return pre.target.system_memory_bytes
    return pre.target.memory_bytes


def _where(pre) -> str:
    for key in ("micro_batch_size", "sequence_len", "base_model"):
        if pre.loaded.has(key):
            return pre.at((key,))
    return pre.at(())


class Estimated(MemoryRule):
    """The peak memory of one training step can be estimated (and what it is)."""

    code = "MEM700"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre = ctx.pre
        if pre.estimate is None:
            why = pre.model.shape_note if pre.model else "no base_model"
            return Info(f"no memory estimate: the model's size is unknown ({why})", location=_where(pre))
        est = pre.estimate
        parts = ", ".join(f"{p.name} {gib(p.bytes)}" for p in est.parts if p.bytes)
        per = "per GPU" if not pre.target.cpu_only else "in CPU memory"
        return Info(f"estimated peak {gib(est.peak_bytes)} {per} ({parts}); `ftdoctor estimate` shows the breakdown",
                    {"peak_bytes": est.peak_bytes}, location=_where(pre))


class Fits(MemoryRule):
    """The estimated peak fits in the target GPU's memory."""

    code = "MEM701"

    def check(self, ctx: Context):
        pre = ctx.pre
        capacity = _capacity(pre)
        if pre.estimate is None or capacity is None:
            return NotApplicable("no estimate or no known memory size")
        est = pre.estimate
        where = "GPU" if not pre.target.cpu_only else "machine (CPU only)"
        evidence = {"peak_bytes": est.peak_bytes, "capacity_bytes": capacity}
        if est.peak_bytes <= capacity * TIGHT:
            return Pass(f"{gib(est.peak_bytes)} of {gib(capacity)} ({est.peak_bytes / capacity:.0%})", evidence)
        if est.peak_bytes <= capacity:
            return Fail(f"estimated peak {gib(est.peak_bytes)} is {est.peak_bytes / capacity:.0%} of the {where}'s "
                        f"{gib(capacity)}: tight, longer batches or fragmentation may run out of memory", evidence,
                        tuple(self._fixes(pre, capacity)), severity=Severity.WARNING, location=_where(pre))
        note = (" (a TRL CLI config gets DeepSpeed or FSDP from `--accelerate_config`, not from this file: the "
                "estimate assumes none)" if pre.loaded.dialect == "trl" and pre.plan.sharding.kind == "none" else "")
        return Fail(f"estimated peak {gib(est.peak_bytes)} does not fit in the {where}'s {gib(capacity)} "
                    f"({pre.target.describe()}){note}", evidence, tuple(self._fixes(pre, capacity)),
                    location=_where(pre))

    def _fixes(self, pre, capacity: int) -> list[Fix]:
        changes = ways_to_fit(pre.memory, int(capacity * TIGHT))
        if not changes:
            return [Fix("no single setting makes it fit: use GPUs with more memory or more GPUs with ZeRO-3")]
        return [Fix(f"{c.summary}: about {gib(c.estimate.peak_bytes)}") for c in changes]


class OffloadHostMemory(MemoryRule):
    """What is offloaded to CPU memory fits in the machine's RAM."""

    code = "MEM702"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre = ctx.pre
        est = pre.estimate
        if est is None or not est.cpu_bytes:
            return NotApplicable("nothing offloaded to CPU memory")
        ram = pre.target.system_memory_bytes
        if not ram:
            return Info(f"{gib(est.cpu_bytes)} per process offloaded to CPU memory (the machine's RAM is unknown)")
        need = est.cpu_bytes * max(1, pre.plan.processes)  # cpu_bytes is per process
        if need <= ram * 0.8:
            return Pass(f"{gib(need)} offloaded to {gib(ram)} of RAM")
        return Fail(f"offloading puts about {gib(need)} in CPU memory; the machine has {gib(ram)}",
                    fixes=(Fix("offload less (only the optimizer), or use more GPUs"),), location=_where(pre))


class TrlLoadDtype(MemoryRule):
    """A TRL CLI config says the dtype to load the model in (`trl` loads it in float32 otherwise)."""

    code = "MEM703"

    def check(self, ctx: Context):
        pre = ctx.pre
        if pre.loaded.dialect != "trl":
            return NotApplicable("an Axolotl-style config: the model loads in the training precision")
        if getattr(ctx, "launching", False):
            return NotApplicable("ftdoctor's trainer runs it: the model loads in the training precision")
        dtype = pre.loaded.source.data.get("dtype")
        if dtype in ("bfloat16", "float16", "auto"):
            return Pass(f"dtype: {dtype}")
        if pre.estimate is None or pre.memory is None or pre.plan.precision == "fp32":
            return NotApplicable("no estimate, or training in float32 anyway")
        est, fp32 = pre.estimate, estimate(replace(pre.memory, precision="fp32"))
        states = ("weights", "gradients", "optimizer states")
        extra = sum(fp32.part(p) - est.part(p) for p in states)  # activations stay 16-bit under autocast
        peak = est.peak_bytes + int(extra * (1 + ALLOCATOR_RESERVE))
        capacity = _capacity(pre)
        spills = capacity is not None and est.peak_bytes <= capacity * TIGHT < peak
        what = "`dtype: float32`" if dtype == "float32" else "no `dtype` (ModelConfig's default is float32" + (
            "; `torch_dtype` is no longer read)" if "torch_dtype" in pre.loaded.source.data else ")")
        fit = f": more than the GPU's {gib(capacity)}" if spills and peak > capacity else (
            f": {peak / capacity:.0%} of the GPU" if spills else "")
        message = (f"{what}: `trl {pre.loaded.trl_command}` loads the model in float32, with {pre.plan.precision} "
                   f"only as autocast, and peaks at about {gib(peak)} instead of the {gib(est.peak_bytes)} estimated "
                   f"here for 16-bit weights (what ftdoctor train loads){fit}")
        fix = (Fix(f"add `dtype: {'bfloat16' if pre.plan.precision == 'bf16' else 'float16'}`"),)
        if spills:
            return Fail(message, {"fp32_peak_bytes": peak}, fix, severity=Severity.WARNING, location=_where(pre))
        return Info(message, {"fp32_peak_bytes": peak}, fix, location=_where(pre))


RULES = (Estimated, Fits, OffloadHostMemory, TrlLoadDtype)
