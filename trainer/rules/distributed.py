"""CFG140-149: DeepSpeed, FSDP and DDP settings that cannot work together."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule
from ftdoctor.trainer.rules.combinations import _first

BNB_8BIT_OPTIMIZERS = ("adamw_bnb_8bit", "adamw_8bit", "paged_adamw_8bit", "ademamix_8bit", "paged_ademamix_8bit",
                       "lion_8bit", "paged_lion_8bit", "rmsprop_bnb_8bit")
FSDP_KEYS = ("fsdp_config", "fsdp", "fsdp_version")


class DistRule(Rule):
    family = "config-distributed"


def _fsdp(pre) -> bool:
    c = pre.config
    return bool(c.fsdp or c.fsdp_config or c.fsdp_version)


class DeepspeedAndFsdp(DistRule):
    """DeepSpeed and FSDP are not both configured (Axolotl checks only the legacy `fsdp` key)."""

    code = "CFG140"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not (c.deepspeed and _fsdp(pre)):
            return Pass("at most one of DeepSpeed and FSDP") if (c.deepspeed or _fsdp(pre)) else \
                NotApplicable("neither DeepSpeed nor FSDP")
        via = "fsdp_config" if c.fsdp_config and not c.fsdp else "fsdp"
        gap = " Axolotl misses this when FSDP comes from fsdp_config alone." if via == "fsdp_config" else ""
        return Fail(f"`deepspeed` and `{via}` are both set: the run can use only one sharding engine "
                    f"(Axolotl: \"deepspeed and fsdp cannot be used together\").{gap}",
                    fixes=(Fix("keep deepspeed (delete fsdp / fsdp_config / fsdp_version), or keep FSDP (delete "
                               "deepspeed)"),), location=_first(pre, *FSDP_KEYS))


class DeepspeedFile(DistRule):
    """The DeepSpeed config file exists and is JSON."""

    code = "CFG141"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.deepspeed:
            return NotApplicable("no deepspeed")
        sharding = pre.plan.sharding
        if sharding.problem:
            return Fail(sharding.problem, fixes=(Fix("give the path of a DeepSpeed JSON (relative to this config "
                        "file), e.g. one of Axolotl's deepspeed_configs/zero2.json"),), location=_first(pre, "deepspeed"))
        offload = " with optimizer offload" if sharding.offload_optimizer else ""
        offload += " and parameter offload" if sharding.offload_params else ""
        if "working directory" in sharding.source:
            return Info(f"DeepSpeed ZeRO-{sharding.stage}{offload} from {sharding.source}",
                        location=_first(pre, "deepspeed"))
        return Pass(f"DeepSpeed ZeRO-{sharding.stage}{offload}")


class FsdpQuantization(DistRule):
    """FSDP is combined only with quantization it can shard (4-bit with a floating-point storage type)."""

    code = "CFG142"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not (_fsdp(pre) and (c.load_in_4bit or c.load_in_8bit)):
            return NotApplicable("no FSDP with a quantized base")
        version = pre.plan.sharding.version
        if c.load_in_8bit:
            return Fail("FSDP with `load_in_8bit`: FSDP cannot shard bitsandbytes int8 weights", fixes=(Fix(
                "use 4-bit (adapter: qlora, load_in_4bit: true) with FSDP, or DeepSpeed for 8-bit"),),
                location=_first(pre, "load_in_8bit"))
        if version == 2 and c.rl:
            return Fail(f"FSDP2 with a 4-bit base and `rl: {c.rl}` (Axolotl: \"FSDP2 does not support load_in_8bit or "
                        "load_in_4bit with <rl>\")", fixes=(Fix("use DeepSpeed, or fsdp_version: 1"),),
                        location=_first(pre, "fsdp_version", "fsdp_config"))
        storage = str((c.bnb_config_kwargs or {}).get("bnb_4bit_quant_storage", "bfloat16"))
        if "float" not in storage:
            return Fail(f"QLoRA with FSDP needs a floating-point bnb_4bit_quant_storage (found `{storage}`): FSDP "
                        "flattens the 4-bit weights with the 16-bit ones and needs one dtype",
                        fixes=(Fix("set bnb_config_kwargs.bnb_4bit_quant_storage: bfloat16"),),
                        location=_first(pre, "bnb_config_kwargs"))
        return Pass("4-bit base with a bfloat16 storage type: FSDP can shard it")


class FsdpOptimizer(DistRule):
    """FSDP does not use bitsandbytes' 8-bit optimizers (FSDP2 and offloading break them)."""

    code = "CFG143"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        optimizer = pre.plan.optimizer
        if not _fsdp(pre) or optimizer not in BNB_8BIT_OPTIMIZERS:
            return NotApplicable("no FSDP with a bitsandbytes 8-bit optimizer")
        sharding = pre.plan.sharding
        if sharding.version == 2 or sharding.offload_params:
            what = "FSDP2" if sharding.version == 2 else "FSDP offload"
            return Fail(f"{what} with `optimizer: {optimizer}` (Axolotl: \"{what} not compatible with {optimizer}, "
                        "use `adamw_torch_8bit` instead\")", fixes=(Fix("optimizer: adamw_torch_8bit"),),
                        location=_first(pre, "optimizer"))
        return Pass(f"FSDP1 without offload with {optimizer}")


class LoraFsdpOrigParams(DistRule):
    """LoRA with FSDP1 keeps frozen and trainable parameters apart (use_orig_params or PEFT's wrap policy)."""

    code = "CFG144"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        options = c.fsdp_config
        if not (_fsdp(pre) and pre.plan.sharding.version == 1):
            return NotApplicable("no FSDP1")
        frozen = bool(c.adapter) or bool(c.unfrozen_parameters)
        if not frozen or not options or options.use_orig_params is not False:
            return Pass("use_orig_params is not turned off" if frozen else "every parameter is trained")
        where = _first(pre, "fsdp_config")
        if c.unfrozen_parameters:
            return Fail("FSDP1 with `use_orig_params: false` and unfrozen_parameters: one FSDP unit would mix "
                        "frozen and trainable parameters (torch: \"Must flatten tensors with uniform requires_grad "
                        "when use_orig_params=False\")", fixes=(Fix("set fsdp_config.use_orig_params: true"),),
                        location=where)
        installed = pre.target.version("transformers")
        try:
            old = installed is not None and Version(installed) < Version("4.39.0")
        except InvalidVersion:
            old = False
        if old:
            return Fail(f"LoRA with FSDP1 and `use_orig_params: false` on transformers {installed}: before 4.39 the "
                        "Trainer does not wrap LoRA layers separately, so FSDP fails with \"Must flatten tensors "
                        "with uniform requires_grad\"", fixes=(Fix("set fsdp_config.use_orig_params: true, or "
                        "upgrade transformers"),), location=where)
        return Info("LoRA with FSDP1 and `use_orig_params: false` works only because the Trainer wraps the LoRA "
                    "layers in their own FSDP units (PEFT's fsdp_auto_wrap_policy); a custom training loop needs "
                    "use_orig_params: true", location=where)


class ReentrantCheckpointing(DistRule):
    """Gradient checkpointing's use_reentrant suits the setup (reentrant breaks partly frozen and FSDP models)."""

    code = "CFG145"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        plan = pre.plan
        if not plan.gradient_checkpointing or plan.reentrant is not True:
            return NotApplicable("no reentrant gradient checkpointing")
        explicit = isinstance(c.gradient_checkpointing_kwargs, dict)
        where = _first(pre, "gradient_checkpointing_kwargs", "gradient_checkpointing")
        implied = "" if explicit else " (Axolotl sets use_reentrant: true when gradient_checkpointing_kwargs is unset)"
        fix = (Fix("set gradient_checkpointing_kwargs: {use_reentrant: false}"),)
        if c.unfrozen_parameters:
            return Fail(f"reentrant gradient checkpointing with unfrozen_parameters{implied}: gradients of the "
                        "partly frozen layers go missing (Axolotl: \"`use_reentrant` must be false when used with "
                        "partially frozen model\")", fixes=fix, location=where)
        if plan.processes > 1 and c.adapter and c.ddp_find_unused_parameters:
            return Fail(f"reentrant gradient checkpointing with LoRA under DDP and ddp_find_unused_parameters: "
                        f"true{implied} fails with \"Expected to mark a variable ready only once\"", fixes=fix,
                        location=_first(pre, "ddp_find_unused_parameters"))
        if plan.processes > 1 and c.rl and c.adapter == "qlora":
            return Fail(f"reentrant gradient checkpointing for distributed RL with QLoRA{implied} (Axolotl: \"The "
                        "`use_reentrant: True` implementation of gradient checkpointing is not supported for "
                        "distributed RL training with QLoRA\")", fixes=fix, location=where)
        return Pass("reentrant checkpointing in a setup that supports it")


class FsdpCheckpointing(DistRule):
    """With FSDP, activation checkpointing is FSDP's own (fsdp_config.activation_checkpointing)."""

    code = "CFG146"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not _fsdp(pre) or not c.gradient_checkpointing:
            return NotApplicable("no FSDP with gradient_checkpointing")
        both = bool(c.fsdp_config and c.fsdp_config.activation_checkpointing)
        message = ("`gradient_checkpointing` and fsdp_config.activation_checkpointing are both on: activations "
                   "are checkpointed twice" if both else
                   "`gradient_checkpointing` with FSDP adds a redundant all-gather in every backward pass "
                   "(transformers: prefer fsdp_config.activation_checkpointing)")
        return Fail(message, fixes=(Fix("set fsdp_config.activation_checkpointing: true and gradient_checkpointing: "
                                        "false"),), location=_first(pre, "gradient_checkpointing"),
                    severity=Severity.WARNING if both else Severity.INFO)


RULES = (DeepspeedAndFsdp, DeepspeedFile, FsdpQuantization, FsdpOptimizer, LoraFsdpOrigParams,
         ReentrantCheckpointing, FsdpCheckpointing)
