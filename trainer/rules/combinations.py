"""CFG120-139: combinations of keys that cannot work, or that do something other than what they say.
Axolotl refuses many of these at startup (its message is quoted where it has one); some it only warns
about, and a few it lets through."""

from __future__ import annotations

import json
import re

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule


class ConfigRule(Rule):
    family = "config-combinations"


def _first(pre, *keys: str) -> str:
    """The location of the first of `keys` the file sets."""
    for key in keys:
        if pre.loaded.has(key):
            return pre.at((key,))
    return pre.at(())


class QloraNeeds4bit(ConfigRule):
    """`adapter: qlora` loads the base model in 4-bit (load_in_4bit: true, not 8-bit, not GPTQ)."""

    code = "CFG120"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.adapter != "qlora":
            return NotApplicable("no qlora adapter")
        if c.load_in_8bit:
            return Fail("`adapter: qlora` with `load_in_8bit: true`: QLoRA is LoRA on a 4-bit base (Axolotl: "
                        "\"Can't load qlora in 8bit\")", fixes=(Fix("set load_in_4bit: true and load_in_8bit: "
                        "false, or use adapter: lora"),), location=_first(pre, "load_in_8bit"))
        if c.gptq:
            return Fail("`adapter: qlora` with `gptq: true` (Axolotl: \"Can't load qlora if gptq\")",
                        fixes=(Fix("use adapter: lora on a GPTQ model"),), location=_first(pre, "gptq"))
        if not c.load_in_4bit:
            return Fail("`adapter: qlora` without `load_in_4bit: true`: the base would load in 16-bit, which is "
                        "LoRA, not QLoRA (Axolotl: \"Require cfg.load_in_4bit to be True for qlora\")",
                        fixes=(Fix("add `load_in_4bit: true`, or write `adapter: lora`"),),
                        location=_first(pre, "adapter"))
        return Pass("qlora with a 4-bit base")


class QuantizedNeedsAdapter(ConfigRule):
    """A 4-bit or 8-bit base is trained through an adapter (quantized weights cannot be fine-tuned directly)."""

    code = "CFG121"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not (c.load_in_4bit or c.load_in_8bit):
            return NotApplicable("the base model is not quantized")
        if c.load_in_4bit and c.load_in_8bit:
            return Fail("`load_in_4bit` and `load_in_8bit` are both true", fixes=(Fix("keep one of them"),),
                        location=_first(pre, "load_in_8bit"))
        if not c.adapter:
            bits = "load_in_4bit" if c.load_in_4bit else "load_in_8bit"
            return Fail(f"`{bits}: true` without an adapter: quantized weights cannot be trained, so full "
                        "fine-tuning fails (Axolotl refuses it)", fixes=(Fix(f"add `adapter: {'qlora' if c.load_in_4bit else 'lora'}` "
                        f"with LoRA settings, or set `{bits}: false` for full fine-tuning"),),
                        location=_first(pre, bits))
        return Pass(f"{'4' if c.load_in_4bit else '8'}-bit base trained through {c.adapter}")


class MergeQuantized(ConfigRule):
    """`merge_lora` merges into a 16-bit base, not into the quantized one used for training."""

    code = "CFG122"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not (c.merge_lora and c.adapter):
            return NotApplicable("no adapter merge requested")
        if c.load_in_4bit or c.load_in_8bit or c.gptq:
            return Fail("`merge_lora: true` with a quantized base: merging into 4/8-bit weights loses the adapter's "
                        "precision (Axolotl: \"Can't merge qlora if loaded in 4bit\"); the merge must reload the base "
                        "in 16-bit", fixes=(Fix("merge after training from a 16-bit copy of the base (ftdoctor's "
                        "trainer does this), or drop merge_lora"),), location=_first(pre, "merge_lora"))
        return Pass("merge into a 16-bit base")


class BatchKeys(ConfigRule):
    """The batch is defined: two of micro_batch_size, gradient_accumulation_steps, batch_size (not all three)."""

    code = "CFG123"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if pre.loaded.dialect == "trl":
            return Pass("TRL's defaults define the batch")
        given = [k for k in ("micro_batch_size", "gradient_accumulation_steps", "batch_size") if getattr(c, k)]
        if c.gradient_accumulation_steps and c.batch_size:
            return Fail("`gradient_accumulation_steps` and `batch_size` are both set (Axolotl: \"please set only one "
                        "of gradient_accumulation_steps or batch_size\")", fixes=(Fix("delete batch_size"),),
                        location=_first(pre, "batch_size"))
        if len(given) < 2:
            which = f"only `{given[0]}` is set" if given else "none is set"
            missing = [k for k in ("micro_batch_size", "gradient_accumulation_steps") if k not in given]
            return Fail(f"the batch is underspecified: of micro_batch_size, gradient_accumulation_steps and "
                        f"batch_size, {which} with a valid value (Axolotl needs two: \"At least two of "
                        "micro_batch_size, gradient_accumulation_steps, batch_size must be set\")",
                        fixes=(Fix(f"set {' and '.join(missing)}"),),
                        location=_first(pre, *given) if given else pre.at(()))
        return Pass(f"batch: {pre.plan.micro_batch} per GPU × {pre.plan.grad_accum} accumulation steps")


class PackingWithPreference(ConfigRule):
    """`sample_packing` is not combined with preference or RL training (it does not work there)."""

    code = "CFG124"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.sample_packing:
            return NotApplicable("no sample packing")
        if c.rl or c.reward_model or c.process_reward_model:
            what = f"`rl: {c.rl}`" if c.rl else "reward-model training"
            return Fail(f"`sample_packing: true` with {what}: packing is for supervised fine-tuning; preference "
                        "pairs must stay whole (Axolotl: \"`sample_packing: true` does not work with RLHF training\")",
                        fixes=(Fix("set sample_packing: false"),), location=_first(pre, "sample_packing"))
        return Pass("packing for supervised fine-tuning")


EXCLUSIVE = (
    ("warmup_steps", "warmup_ratio"), ("eval_steps", "evals_per_epoch"), ("save_steps", "saves_per_epoch"),
    ("val_set_size", "test_datasets"), ("max_memory", "gpu_memory_limit"),
)


class MutuallyExclusive(ConfigRule):
    """Keys that are alternatives to each other are not both set."""

    code = "CFG125"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        outcomes = []
        for a, b in EXCLUSIVE:
            va, vb = getattr(c, a, None) or _raw(pre, a), getattr(c, b, None) or _raw(pre, b)
            if va and vb:
                outcomes.append(Fail(f"`{a}` and `{b}` are both set; they are alternatives (Axolotl refuses this)",
                                     {"keys": [a, b]}, (Fix(f"keep one of {a} and {b}"),), location=_first(pre, b)))
        if c.bf16 is True and c.fp16:
            outcomes.append(Fail("`bf16: true` and `fp16: true` together: pick one precision",
                                 fixes=(Fix("keep bf16 (Ampere or newer) or fp16 (older GPUs)"),),
                                 location=_first(pre, "fp16")))
        return outcomes or Pass("no two alternatives are set together")


class EvalWithoutData(ConfigRule):
    """Evaluation settings have evaluation data (val_set_size above 0 or test_datasets)."""

    code = "CFG126"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        strict = [k for k in ("eval_steps",) if getattr(c, k)] + (
            ["eval_strategy"] if c.eval_strategy not in (None, "no") else [])
        if not strict and not c.evals_per_epoch:
            return NotApplicable("no evaluation asked for")
        if pre.loaded.dialect == "trl":
            return NotApplicable("TRL evaluates on the dataset's test split (dataset_test_split)")
        if (c.val_set_size or 0) > 0 or c.test_datasets:
            return Pass("evaluation has data")
        if strict:
            return Fail(f"`{strict[0]}` asks for evaluation but there is no evaluation data (val_set_size is 0 and "
                        "no test_datasets); Axolotl refuses this (\"eval_steps and eval_strategy are not supported "
                        "with val_set_size == 0\")", fixes=(Fix("set val_set_size: 0.05, or delete the evaluation "
                        "keys"),), location=_first(pre, *strict))
        return Info("`evals_per_epoch` is set but val_set_size is 0 and there are no test_datasets: no evaluation "
                    "will run", fixes=(Fix("set val_set_size: 0.05 to evaluate"),), location=_first(pre, "evals_per_epoch"))


class ActivationOffloadingNeedsCheckpointing(ConfigRule):
    """`activation_offloading` offloads checkpointed activations, so it needs gradient checkpointing."""

    code = "CFG127"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.activation_offloading:
            return NotApplicable("no activation offloading")
        if c.gradient_checkpointing:
            return Pass("activation offloading with gradient checkpointing")
        return Fail("`activation_offloading` without `gradient_checkpointing` (Axolotl: \"activation_offloading "
                    "requires gradient_checkpointing\")", fixes=(Fix("add gradient_checkpointing: true"),),
                    location=_first(pre, "activation_offloading"))


class JinjaTemplate(ConfigRule):
    """`chat_template: jinja` comes with the template itself (chat_template_jinja)."""

    code = "CFG128"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.chat_template != "jinja":
            return NotApplicable("no jinja chat template")
        if not c.chat_template_jinja:
            return Fail("`chat_template: jinja` without `chat_template_jinja`", fixes=(Fix(
                "add chat_template_jinja: a template string or the path of a .jinja file"),),
                location=_first(pre, "chat_template"))
        value = c.chat_template_jinja
        if "{" not in value and value.endswith(".jinja"):
            from ftdoctor.trainer.locate import locate_path

            if locate_path(value, pre.loaded.folder) is None:
                return Fail(f"`chat_template_jinja: {value}` names a file that does not exist",
                            fixes=(Fix("fix the path (relative to the config file)"),),
                            location=_first(pre, "chat_template_jinja"))
        return Pass("jinja chat template given")


class TargetRegex(ConfigRule):
    """Regular expressions in lora_target_modules compile."""

    code = "CFG129"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        targets = c.lora_target_modules
        if not targets:
            return NotApplicable("no lora_target_modules")
        patterns = [targets] if isinstance(targets, str) else list(targets)
        outcomes = []
        for index, pattern in enumerate(patterns):
            try:
                re.compile(pattern)
            except re.error as exc:
                path = ("lora_target_modules",) if isinstance(targets, str) else ("lora_target_modules", index)
                outcomes.append(Fail(f"`{pattern}` in lora_target_modules is not a valid regular expression ({exc})",
                                     fixes=(Fix("escape the special characters or list plain module names"),),
                                     location=pre.at(path)))
        return outcomes or Pass("every target pattern compiles")


class LmHeadTarget(ConfigRule):
    """LoRA does not target the output head (`lm_head`): TRL refuses it; train it with modules_to_save."""

    code = "CFG130"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        targets = c.lora_target_modules
        names = [targets] if isinstance(targets, str) else list(targets or ())
        if "lm_head" not in names:
            return NotApplicable("lm_head is not a LoRA target")
        return Fail("`lm_head` in lora_target_modules: TRL's SFTTrainer refuses LoRA on the output head",
                    fixes=(Fix("remove it from lora_target_modules; add `lora_modules_to_save: [lm_head]` to train "
                               "it in full"),), location=pre.at(("lora_target_modules",)))


class AdapterTargets(ConfigRule):
    """An adapter says where LoRA goes (lora_target_modules or lora_target_linear) and its rank."""

    code = "CFG131"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.adapter not in ("lora", "qlora"):
            return NotApplicable("no LoRA adapter")
        missing = []
        if not c.lora_target_modules and not c.lora_target_linear:
            missing.append("no lora_target_modules or lora_target_linear: PEFT's default targets for the "
                           "architecture apply (q_proj and v_proj for llama-style models)")
        if not c.lora_r:
            missing.append("no lora_r: PEFT's default rank 8 applies")
        if not missing:
            return Pass(f"LoRA rank {c.lora_r} on {pre.plan.lora.note or ', '.join(pre.plan.lora.names)}")
        return Info("; ".join(missing), fixes=(Fix("set lora_r and lora_target_linear: true (every linear layer)"),),
                    location=_first(pre, "adapter"))


class GrpoSettings(ConfigRule):
    """GRPO has reward functions and a generation batch that num_generations divides."""

    code = "CFG132"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.rl not in ("grpo", "gdpo"):
            return NotApplicable("not GRPO")
        trl = c.trl
        generations = (trl.num_generations if trl and trl.num_generations else 8)
        outcomes = []
        if generations < 2:
            outcomes.append(Fail(f"trl.num_generations is {generations}; GRPO compares completions of one prompt "
                                 "and needs at least 2", fixes=(Fix("set trl.num_generations: 8"),),
                                 location=_first(pre, "trl")))
        batch = (trl.generation_batch_size if trl and trl.generation_batch_size else
                 pre.plan.micro_batch * pre.plan.grad_accum * pre.plan.processes)
        if generations >= 2 and batch % generations:
            outcomes.append(Fail(f"the generation batch ({batch} = micro_batch_size × gradient_accumulation_steps × "
                                 f"{pre.plan.processes} GPU(s)) is not divisible by num_generations ({generations}); "
                                 "TRL raises at start", fixes=(Fix(f"make micro_batch_size × "
                                 f"gradient_accumulation_steps a multiple of {generations}"),),
                                 location=_first(pre, "micro_batch_size", "trl")))
        if pre.loaded.dialect == "axolotl" and not (trl and trl.reward_funcs):
            outcomes.append(Fail("GRPO without `trl.reward_funcs`: there is nothing to score completions with",
                                 fixes=(Fix("add trl.reward_funcs: [module.function, ...]"),),
                                 location=_first(pre, "trl", "rl")))
        return outcomes or Pass(f"GRPO with {generations} generations per prompt")


class KtoColumns(ConfigRule):
    """KTO keeps the dataset's columns (remove_unused_columns: false)."""

    code = "CFG133"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.rl != "kto":
            return NotApplicable("not KTO")
        if c.remove_unused_columns is False:
            return Pass("remove_unused_columns: false")
        return Fail("KTO needs its label column, but remove_unused_columns is not false (Axolotl requires "
                    "`remove_unused_columns: False` for KTO)", fixes=(Fix("add remove_unused_columns: false"),),
                    location=_first(pre, "remove_unused_columns", "rl"))


class ResumePath(ConfigRule):
    """`resume_from_checkpoint` names a checkpoint that exists."""

    code = "CFG134"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.resume_from_checkpoint:
            return NotApplicable("no resume_from_checkpoint")
        from ftdoctor.trainer.locate import locate_path

        if locate_path(c.resume_from_checkpoint, pre.loaded.folder) is None:
            return Fail(f"`resume_from_checkpoint: {c.resume_from_checkpoint}` does not exist", fixes=(Fix(
                "point it at a checkpoint-N folder, or use auto_resume_from_checkpoints: true"),),
                location=_first(pre, "resume_from_checkpoint"))
        return Pass("the checkpoint exists")


class ContextParallelNeedsFlash(ConfigRule):
    """Context parallelism runs on flash attention."""

    code = "CFG135"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if (c.context_parallel_size or 1) <= 1:
            return NotApplicable("no context parallelism")
        if pre.plan.attention.startswith("flash_attention"):
            return Pass("context parallelism on flash attention")
        return Fail(f"`context_parallel_size: {c.context_parallel_size}` with {pre.plan.attention} attention "
                    "(Axolotl: \"context_parallel_size > 1 requires flash attention\")",
                    fixes=(Fix("set attn_implementation: flash_attention_2"),),
                    location=_first(pre, "context_parallel_size"))


class PackingNeedsVarlenAttention(ConfigRule):
    """Packed samples are kept apart only by attention kernels that read the sample boundaries."""

    code = "CFG136"
    severity = Severity.WARNING
    PACKING_CAPABLE = ("flash_attention_2", "flash_attention_3", "flex_attention", "xformers", "sage")

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.sample_packing or c.rl:
            return NotApplicable("no packing")
        if pre.plan.attention in self.PACKING_CAPABLE or "/" in pre.plan.attention:
            return Pass(f"packing with {pre.plan.attention}")
        return Fail(f"`sample_packing` with {pre.plan.attention} attention: packed examples attend to each other "
                    "(cross-contamination) without any error (Axolotl only warns)",
                    fixes=(Fix("set attn_implementation: flash_attention_2 (or flex_attention), or "
                               "sample_packing: false"),), location=_first(pre, "sample_packing"))


def _raw(pre, key: str):
    """A top-level value as the file wrote it (also keys the schema keeps only as Axolotl extras)."""
    return pre.loaded.source.data.get(key)


class StrategyAndSteps(ConfigRule):
    """`eval_steps` / `save_steps` go with the `steps` strategy, and `save_strategy: best` names its metric."""

    code = "CFG137"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        trl = pre.loaded.dialect == "trl"
        outcomes = []
        for kind, strategy, steps in (("eval", c.eval_strategy, c.eval_steps), ("save", c.save_strategy, c.save_steps)):
            if strategy and steps and strategy != "steps":
                said = ("TrainingArguments ignores the steps without a word" if trl else
                        f"Axolotl: \"{kind}_strategy and {kind}_steps mismatch\"")
                outcomes.append(Fail(f"`{kind}_strategy: {strategy}` with `{kind}_steps: {steps:g}`: the steps only "
                                     f"count with `{kind}_strategy: steps` ({said})",
                                     fixes=(Fix(f"set {kind}_strategy: steps, or delete {kind}_steps"),),
                                     severity=Severity.WARNING if trl else None,
                                     location=_first(pre, f"{kind}_strategy")))
        if c.evals_per_epoch and c.eval_strategy and c.eval_strategy != "steps" and not trl:
            outcomes.append(Fail(f"`evals_per_epoch` with `eval_strategy: {c.eval_strategy}` (Axolotl: \"eval_strategy "
                                 "must be empty or set to `steps` when used with evals_per_epoch\")",
                                 fixes=(Fix("delete eval_strategy (evals_per_epoch sets the steps)"),),
                                 location=_first(pre, "eval_strategy")))
        if c.save_strategy == "best" and not _raw(pre, "metric_for_best_model"):
            outcomes.append(Fail("`save_strategy: best` without `metric_for_best_model`: the Trainer refuses to start "
                                 "(\"`args.metric_for_best_model` must be provided when using 'best' save_strategy\")",
                                 fixes=(Fix("add metric_for_best_model: eval_loss"),),
                                 location=_first(pre, "save_strategy")))
        if outcomes:
            return outcomes
        if not (c.eval_strategy or c.save_strategy):
            return NotApplicable("no eval_strategy or save_strategy")
        return Pass("strategies and step counts agree")


class Streaming(ConfigRule):
    """Streamed datasets come with max_steps, without a val_set_size split, and packed only when there is one."""

    code = "CFG138"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if not c.streaming or pre.loaded.dialect == "trl":
            return NotApplicable("no streaming datasets (Axolotl's `streaming`)")
        outcomes = []
        if not c.max_steps:
            outcomes.append(Fail("`streaming: true` without `max_steps`: a streamed dataset has no length, so the "
                                 "number of steps cannot be derived from num_epochs (Axolotl: \"max_steps must be set "
                                 "when using streaming datasets\")", fixes=(Fix("set max_steps"),),
                                 location=_first(pre, "streaming")))
        if c.val_set_size:
            outcomes.append(Fail("`streaming: true` with `val_set_size`: a stream cannot be split (Axolotl: "
                                 "\"val_set_size is not supported with streaming datasets\")",
                                 fixes=(Fix("delete val_set_size and evaluate on test_datasets"),),
                                 location=_first(pre, "val_set_size")))
        if c.sample_packing and len(c.datasets or ()) > 1:
            outcomes.append(Fail("`sample_packing` with several streamed datasets (Axolotl: \"Sample packing with "
                                 "multiple streaming datasets is not yet supported\")",
                                 fixes=(Fix("merge the datasets into one, or set sample_packing: false"),),
                                 location=_first(pre, "sample_packing")))
        return outcomes or Pass("streaming with max_steps")


LORA_KERNELS = ("lora_mlp_kernel", "lora_qkv_kernel", "lora_o_kernel")


class LoraKernels(ConfigRule):
    """Axolotl's fused LoRA kernels are asked for only where they work (not 8-bit LoRA, remote code, or FSDP1)."""

    code = "CFG139"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        asked = [k for k in LORA_KERNELS if _raw(pre, k)]
        if not asked or pre.loaded.dialect == "trl":
            return NotApplicable("no LoRA kernels asked for")
        names, where = ", ".join(f"`{k}`" for k in asked), _first(pre, *asked)
        fix = (Fix(f"set {', '.join(f'{k}: false' for k in asked)}"),)
        if c.adapter == "lora" and c.load_in_8bit:
            return Fail(f"{names} with 8-bit LoRA (Axolotl: \"lora_mlp_kernel, lora_qkv_kernel, and lora_o_kernel are "
                        "not compatible with 8-bit LoRA\")", fixes=fix, location=where)
        if c.trust_remote_code:
            return Fail(f"{names} with `trust_remote_code`: the kernels patch transformers' own modules, not the "
                        "repository's code (Axolotl refuses this)", fixes=fix, location=where)
        sharding = pre.plan.sharding
        if sharding.kind == "fsdp" and sharding.version == 1 and pre.plan.processes > 1:
            return Fail(f"{names} with FSDP1 on {pre.plan.processes} GPUs (Axolotl: \"... are not compatible with "
                        "FSDP1\")", fixes=(Fix("use fsdp_version: 2, or turn the kernels off"),), location=where)
        return Pass(f"{names} where they work")


class DpoLossLists(ConfigRule):
    """`dpo_loss_type` and `dpo_loss_weights` go together, one weight per loss, and only with DPO."""

    code = "CFG147"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        types, weights = _raw(pre, "dpo_loss_type"), _raw(pre, "dpo_loss_weights")
        if types is None and weights is None:
            return NotApplicable("no dpo_loss_type or dpo_loss_weights")
        where = _first(pre, "dpo_loss_weights", "dpo_loss_type")
        if c.rl != "dpo":
            return Fail(f"`dpo_loss_type` / `dpo_loss_weights` are for `rl: dpo` only (this config: "
                        f"{'rl: ' + c.rl if c.rl else 'no rl'}); Axolotl refuses them", fixes=(Fix("delete them"),),
                        location=where)
        if weights is not None and types is None:
            return Fail("`dpo_loss_weights` without `dpo_loss_type` (Axolotl: \"`dpo_loss_weights` requires "
                        "`dpo_loss_type` to be set\")", fixes=(Fix("add dpo_loss_type: [sigmoid, ...], one per "
                        "weight"),), location=where)
        count = lambda v: len(v) if isinstance(v, list) else 1  # noqa: E731 - a scalar is one loss
        if weights is not None and count(types) != count(weights):
            return Fail(f"{count(types)} dpo_loss_type entries but {count(weights)} dpo_loss_weights (Axolotl: "
                        "\"must be the same length\")", fixes=(Fix("give one weight per loss type"),), location=where)
        return Pass("DPO loss types and weights agree")


def _model_type(pre) -> str | None:
    """config.json's model_type, also when ftdoctor cannot size the model (MPT's config has other key names)."""
    model = pre.model
    if model is None:
        return None
    if model.shape is not None:
        return model.shape.model_type
    folder = model.located.path
    if model.located.kind not in ("local", "cache") or folder is None:
        return None
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return str(data.get("model_type") or "") if isinstance(data, dict) else None


class ModelFamilyLimits(ConfigRule):
    """Settings a model family cannot train with: FSDP on Falcon, gradient checkpointing on MPT."""

    code = "CFG148"

    def check(self, ctx: Context):
        pre = ctx.pre
        family = _model_type(pre)
        if not family:
            return NotApplicable("the model's family is unknown")
        if family == "falcon" and pre.plan.sharding.kind == "fsdp":
            return Fail("FSDP on a Falcon model (Axolotl: \"FSDP is not supported for falcon models\")",
                        fixes=(Fix("use DeepSpeed ZeRO instead of FSDP"),),
                        location=_first(pre, "fsdp", "fsdp_config", "fsdp_version"))
        if family == "mpt" and pre.plan.gradient_checkpointing:
            return Fail("gradient checkpointing on an MPT model: its modeling code does not support it (Axolotl: "
                        "\"gradient_checkpointing is not supported for MPT models\")",
                        fixes=(Fix("set gradient_checkpointing: false"),), location=_first(pre, "gradient_checkpointing"))
        return Pass(f"no known limit of {family} models is hit")


RULES = (QloraNeeds4bit, QuantizedNeedsAdapter, MergeQuantized, BatchKeys, PackingWithPreference,
         MutuallyExclusive, EvalWithoutData, ActivationOffloadingNeedsCheckpointing, JinjaTemplate, TargetRegex,
         LmHeadTarget, AdapterTargets, GrpoSettings, KtoColumns, ResumePath, ContextParallelNeedsFlash,
         PackingNeedsVarlenAttention, StrategyAndSteps, Streaming, LoraKernels, DpoLossLists,
         ModelFamilyLimits)
