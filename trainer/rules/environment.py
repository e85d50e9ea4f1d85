"""CEN8xx: the config against the target machine: GPU generation, the libraries its keys need, and the
processes, GPUs and collective library its parallelism needs. Bounds come from compat_matrix/trainer_api.toml."""

from __future__ import annotations

import re

from ftdoctor.facts.model import SmokeStatus, Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules import bitsandbytes, flash_attn
from ftdoctor.trainer.config.trl_dialect import vocabulary_command
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule
from ftdoctor.trainer.rules.combinations import _first

FLASH_ATTN_PACKAGES = ("flash_attn", "flash_attn_2_cuda")  # the abi probe's top-level package names
# `ftdoctor check`'s metadata rules that say whether the installed build runs here (not: whether it is installed,
# what a reinstall would need, the GPU generation: this family says those for the config)
FLASH_ATTN_RULES = (flash_attn.FlashAttnInstalled, flash_attn.FlashAttnGpu, flash_attn.FlashAttnWheelKey,
                    flash_attn.FlashAttnWheelArchs)
BNB_RULES = (bitsandbytes.BnbInstalled, bitsandbytes.BnbLibraryForTorch, bitsandbytes.BnbLibraryArchs,
             bitsandbytes.BnbFeatureFloors)
BNB_OPTIMIZERS = ("adamw_bnb_8bit", "adamw_8bit", "paged_", "ademamix_8bit", "lion_8bit", "lion_32bit",
                  "rmsprop_bnb")


class EnvRule(Rule):
    family = "config-environment"


def _cc(pre) -> str:
    cc = pre.target.min_cc
    return f"sm_{cc[0]}{cc[1]}" if cc else "sm_?"


def _gpu_check(ctx: Context, feature: str, wanted: bool, key: str, label: str):
    pre = ctx.pre
    if not wanted:
        return NotApplicable(f"no {label}")
    need = ctx.matrix.trainer_api.gpu_need(feature)
    if pre.target.cpu_only:
        return Fail(f"{label} needs an NVIDIA GPU; {pre.target.describe()}", fixes=(Fix(f"turn off {key} on this "
                    "machine"),), location=_first(pre, key))
    cc = pre.target.min_cc
    if cc is None:
        return NotApplicable("the GPU's compute capability is unknown")
    if need is None or need.allows(cc):  # None: the matrix records no GPU bound for the feature
        return Pass(f"{label} on {_cc(pre)}")
    bound = f"compute capability {need.min_cc}" + (f" to {need.max_cc}" if need.max_cc else " or newer")
    return Fail(f"{label} on {pre.target.describe()}: {need.why} (needs {bound})",
                {"compute_capability": ".".join(map(str, cc)), "needs": need.min_cc}, location=_first(pre, key))


def _machine_facts(pre) -> bool:
    """The preflight judges a real machine's facts that `ftdoctor check` is not reporting beside it (with
    `check --config` its own findings already say what the machine's builds can run)."""
    return pre.target.source not in ("described", "check")


def _machine_errors(ctx: Context, pre, rules, where: str, lead: str) -> list[Fail]:
    """On a real machine (live or a snapshot), the errors `ftdoctor check`'s rules find for one library, as this
    config's findings: what the metadata says about the installed build against this torch, CUDA and GPUs."""
    if not _machine_facts(pre) or not pre.target.packages_known:
        return []
    from ftdoctor.rules.engine import judge

    found = judge(rules, Context(facts=ctx.facts, matrix=ctx.matrix))
    return [Fail(f"{lead}: {f.message} ({f.code} in `ftdoctor check`)", f.evidence, f.fixes, location=where)
            for f in found if f.severity == Severity.ERROR]


def _smoke_failure(ctx: Context, pre, name: str):
    """The result of `ftdoctor check --verify`'s smoke test `name` when it ran on this machine and failed."""
    if not _machine_facts(pre) or not ctx.facts.verify.ran:
        return None
    smoke = ctx.facts.verify.smoke(name)
    failed = (SmokeStatus.FAILED, SmokeStatus.CRASHED, SmokeStatus.TIMEOUT)
    return smoke if smoke is not None and smoke.status in failed else None


class Bf16Support(EnvRule):
    """bf16 is asked for only on GPUs that have it (Ampere or newer)."""

    code = "CEN801"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        if c.bf16 == "auto" or (c.bf16 is None and not c.bfloat16):
            return Info(pre.plan.precision_note, location=_first(pre, "bf16")) if not pre.target.cpu_only else \
                NotApplicable("bf16 left to auto on a CPU machine")
        if pre.target.cpu_only and (c.bf16 is True or c.bfloat16):
            return Info("bf16 on a CPU: supported by torch, about 1.5× slower than float32 here; ftdoctor's "
                        "trainer runs with use_cpu", location=_first(pre, "bf16", "bfloat16"))
        outcome = _gpu_check(ctx, "bf16", c.bf16 is True or bool(c.bfloat16), "bf16", "bf16")
        if isinstance(outcome, Fail):
            return Fail(outcome.message + "; Axolotl only warns, and training then fails",
                        outcome.evidence, (Fix("set bf16: false and fp16: true (or bf16: auto)"),),
                        location=outcome.location)
        return outcome


class Tf32Support(EnvRule):
    """tf32 is asked for only on GPUs that have it (Ampere or newer)."""

    code = "CEN802"

    def check(self, ctx: Context):
        c = ctx.pre.config
        outcome = _gpu_check(ctx, "tf32", c.tf32 is True, "tf32", "tf32: true")
        if isinstance(outcome, Fail):
            return Fail(outcome.message + " (transformers: \"--tf32 requires Ampere or a newer GPU arch\")",
                        outcome.evidence, (Fix("set tf32: false (or auto)"),), location=outcome.location)
        return outcome


FP8_LIBRARIES = ("torchao", "transformer-engine", "ms-amp")  # what accelerate's fp8 recipes run on


class Fp8Support(EnvRule):
    """fp8 training runs on GPUs with FP8 tensor cores (Ada, Hopper and newer), with a library that does it."""

    code = "CEN803"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcome = _gpu_check(ctx, "fp8", bool(pre.config.fp8), "fp8", "fp8 training")
        if isinstance(outcome, Fail):
            return Fail(outcome.message, outcome.evidence, (Fix("set fp8: false"),), location=outcome.location)
        if not isinstance(outcome, Pass) or not pre.target.packages_known:
            return outcome
        found = [name for name in FP8_LIBRARIES if pre.target.version(name)]
        if found:
            return Pass(f"fp8 training on {_cc(pre)} with {found[0]} {pre.target.version(found[0])}")
        return Fail("fp8 training, but none of torchao, transformer-engine or ms-amp is installed (Axolotl: \"fp8 "
                    "requested, but missing one of ms-amp, transformers-engine or torchao\")",
                    fixes=(Fix("install torchao", (ctx.pip("install", "torchao"),)),),
                    location=_first(pre, "fp8"))


class CpuOnly(EnvRule):
    """A machine without a GPU is noticed before a GPU-sized config is launched on it."""

    code = "CEN804"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre = ctx.pre
        if not pre.target.cpu_only:
            return Pass(f"target: {pre.target.describe()}")
        return Fail("no NVIDIA GPU on the target machine: training would run on the CPU, which suits tiny models "
                    "and tests only", fixes=(Fix("judge the config for a GPU machine with --gpu NAME, or its saved "
                    "facts with --facts FILE"),), location=pre.at(("base_model",)))


class TorchHasCuda(EnvRule):
    """On a GPU machine, torch is a CUDA build (a CPU build trains on the CPU without a word)."""

    code = "CEN805"

    def check(self, ctx: Context):
        pre = ctx.pre
        if pre.target.cpu_only:
            return NotApplicable("no GPU")
        if not pre.target.torch_build_known or pre.target.source == "described":
            return NotApplicable("torch's build is not known for this target")
        if pre.target.torch_cuda:
            return Pass(f"torch built for CUDA {pre.target.torch_cuda}")
        return Fail(f"the target has {pre.target.describe()} but torch {pre.target.version('torch') or ''} is a "
                    "CPU-only build: training would run on the CPU", fixes=(Fix("install a CUDA build of torch "
                    "(`ftdoctor check` names the one for this driver)"),), location=pre.at(("base_model",)))


class FlashAttention(EnvRule):
    """Flash attention asked for is installed, recent enough, built for this torch and supported by the GPU."""

    code = "CEN806"

    def check(self, ctx: Context):
        pre = ctx.pre
        attention = pre.plan.attention
        if attention not in ("flash_attention_2", "flash_attention_3"):
            return NotApplicable(f"attention is {attention}")
        where = _first(pre, "attn_implementation", "flash_attention")
        gpu = _gpu_check(ctx, f"attn:{attention}", True, "attn_implementation", attention)
        if isinstance(gpu, Fail):
            return Fail(gpu.message, gpu.evidence, (Fix("attn_implementation: sdpa"),), location=where)
        if attention == "flash_attention_3":
            return self._fa3(pre, where)
        return self._fa2(ctx, pre, where)

    def _fa3(self, pre, where):
        if pre.target.version("flash-attn-3") or pre.target.version("flash_attn_3"):
            return Pass("flash-attn-3 installed")
        return Fail("attn_implementation: flash_attention_3 but FlashAttention-3 (the `flash-attn-3` package from "
                    "flash-attention's hopper/ folder) is not installed", fixes=(Fix("install it, or use "
                    "flash_attention_2 / sdpa"),), location=where)

    def _fa2(self, ctx, pre, where):
        installed = pre.target.version("flash-attn")
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        if installed is None:
            if pre.target.version("kernels"):
                return Fail("flash-attn is not installed, but `kernels` is: transformers will silently fetch a "
                            "flash-attention kernel from the hub at start (kernels-community/flash-attn2), which "
                            "fails offline and is not the build you tested", fixes=(Fix(ctx.pip("install",
                            "flash-attn", "--no-build-isolation")),), severity=Severity.WARNING, location=where)
            return Fail("attn_implementation: flash_attention_2 but flash-attn is not installed: loading the model "
                        "fails (\"FlashAttention2 has been toggled on, but it cannot be used\")",
                        fixes=(Fix("install a flash-attn wheel built for this torch and CUDA, or use "
                                   "attn_implementation: sdpa", (ctx.pip("install", "flash-attn",
                                                                         "--no-build-isolation"),)),),
                        location=where)
        need = ctx.matrix.trainer_api.needs("attn:flash_attention_2")
        if need and need[0].allows(installed) is False:
            return Fail(f"flash-attn {installed} is older than {need[0].requires.lstrip('>=')}: {need[0].why}",
                        fixes=(Fix("upgrade flash-attn"),), location=where)
        return self._broken_here(ctx, pre, installed, where) or self._wheel_matches(pre, installed, where)

    def _broken_here(self, ctx, pre, installed: str, where: str):
        """On a real machine (live or a snapshot): flash-attn's smoke test when it ran, the ELF scan of its compiled
        extension against this torch, and `ftdoctor check`'s wheel rules tell an install that cannot run here."""
        if not _machine_facts(pre):
            return None
        fix = Fix("reinstall flash-attn built for this torch and CUDA, or use attn_implementation: sdpa",
                  (ctx.pip("install", "--force-reinstall", "--no-deps", "--no-cache-dir", "flash-attn",
                           "--no-build-isolation"),))
        smoke = _smoke_failure(ctx, pre, "flash-attn")
        if smoke is not None:
            return Fail(f"flash-attn {installed} is installed but its smoke test {smoke.status.value}"
                        f"{': ' + smoke.reason if smoke.reason else ''}; loading the model with flash_attention_2 "
                        "fails the same way", {"smoke": smoke.status.value}, (fix,), location=where)
        linked = self._extension_problem(ctx, pre, installed, where, fix)
        return linked or _machine_errors(ctx, pre, FLASH_ATTN_RULES, where, f"flash-attn {installed} cannot run here")

    def _extension_problem(self, ctx, pre, installed: str, where: str, fix: Fix):
        if ctx.facts.abi.status != Status.OK:
            return None
        for ext in ctx.facts.abi.extensions:
            if ext.package not in FLASH_ATTN_PACKAGES:
                continue
            name = ext.path.rsplit("/", 1)[-1]
            if ext.missing_torch_symbol_count:
                return Fail(f"flash-attn {installed} is installed but cannot be imported: {name} needs "
                            f"{ext.missing_torch_symbol_count} torch symbol(s) that torch {pre.target.version('torch')} "
                            f"does not export (e.g. {ext.missing_torch_symbols[0]}); it was built for another torch, "
                            "and loading the model fails with 'undefined symbol'",
                            {"extension": ext.path}, (fix,), location=where)
            missing = [n.name for n in ext.needed if n.path is None]
            if missing and not ext.runtime_selected:
                return Fail(f"flash-attn {installed} is installed but cannot be imported: {name} links "
                            f"{', '.join(missing)}, which this machine does not have (built for another CUDA or "
                            "torch); loading the model fails with 'cannot open shared object file'",
                            {"extension": ext.path, "missing": missing}, (fix,), location=where)
        return None

    def _wheel_matches(self, pre, installed: str, where: str):
        built = re.search(r"torch(\d+\.\d+)", installed)
        torch_version = pre.target.version("torch") or ""
        if built and torch_version and not torch_version.startswith(built.group(1)):
            return Fail(f"flash-attn {installed} was built for torch {built.group(1)}, but torch is {torch_version}: "
                        "importing it fails with an undefined symbol", fixes=(Fix("install the flash-attn wheel "
                        f"built for torch {'.'.join(torch_version.split('.')[:2])}"),), location=where)
        if pre.target.source != "described" and pre.target.torch_build_known and not pre.target.torch_cuda:
            return Fail("flash-attn is installed but torch is a CPU build: flash attention cannot run",
                        location=where)
        return Pass(f"flash-attn {installed}")


ATTENTION_PACKAGES = {"sage": "sageattention", "xformers": "xformers", "fp8": "torchao"}


class OtherAttentionKernels(EnvRule):
    """SageAttention, xformers and fp8 attention asked for run on the GPU and have their package installed."""

    code = "CEN814"

    def check(self, ctx: Context):
        pre = ctx.pre
        attention = pre.plan.attention
        if attention not in ATTENTION_PACKAGES:
            return NotApplicable(f"attention is {attention}")
        where = _first(pre, "attn_implementation", f"{attention}_attention", "sage_attention", "xformers_attention")
        gpu = _gpu_check(ctx, f"attn:{attention}", True, "attn_implementation", f"attn_implementation: {attention}")
        if isinstance(gpu, Fail):
            return Fail(gpu.message, gpu.evidence, (Fix("attn_implementation: sdpa (or flash_attention_2)"),),
                        location=where)
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        package = ATTENTION_PACKAGES[attention]
        installed = pre.target.version(package)
        if installed is None:
            return Fail(f"attn_implementation: {attention} needs {package}, which is not installed: loading the "
                        "model fails", fixes=(Fix(f"install {package}, or use attn_implementation: sdpa",
                                                  (ctx.pip("install", package),)),), location=where)
        return Pass(f"{attention} attention with {package} {installed}" + (f" on {_cc(pre)}" if pre.target.gpus else ""))


class Bitsandbytes(EnvRule):
    """4/8-bit loading and bitsandbytes optimizers have a bitsandbytes that can run them here."""

    code = "CEN807"

    def check(self, ctx: Context):
        pre = ctx.pre
        optimizer = pre.plan.optimizer
        needs = [what for what, on in (("4-bit loading", pre.plan.quant_bits == 4), ("8-bit loading",
                 pre.plan.quant_bits == 8), (f"optimizer {optimizer}", optimizer.startswith(BNB_OPTIMIZERS)))
                 if on]
        if not needs:
            return NotApplicable("no bitsandbytes feature")
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        where = _first(pre, "load_in_4bit", "load_in_8bit", "optimizer")
        installed = pre.target.version("bitsandbytes")
        if installed is None:
            return Fail(f"{' and '.join(needs)} need bitsandbytes, which is not installed", fixes=(Fix(
                "install it", (ctx.pip("install", "bitsandbytes"),)),), location=where)
        if pre.target.cpu_only:
            need = ctx.matrix.trainer_api.needs("bitsandbytes:cpu")[0]
            if need.allows(installed) is False:
                return Fail(f"bitsandbytes {installed} on a machine without a GPU: {need.why}", fixes=(Fix(
                    "upgrade bitsandbytes", (ctx.pip("install", "bitsandbytes>=0.50.2"),)),),
                    severity=Severity.WARNING, location=where)
            return Info(f"bitsandbytes {installed} runs {' and '.join(needs)} on the CPU (slowly); paged optimizers "
                        "fall back to ordinary ones", location=where)
        floor = self._below_floor(ctx, pre, installed, optimizer, where)
        if floor is not None:
            return floor
        smoke = _smoke_failure(ctx, pre, "bitsandbytes-4bit") if pre.plan.quant_bits == 4 else None
        if smoke is not None:
            return Fail(f"bitsandbytes {installed}: its 4-bit smoke test {smoke.status.value} on this machine"
                        f"{': ' + smoke.reason if smoke.reason else ''}; 4-bit loading fails the same way",
                        {"smoke": smoke.status.value}, location=where)
        broken = _machine_errors(ctx, pre, BNB_RULES, where, f"{' and '.join(needs)} cannot run here")
        return broken or Pass(f"bitsandbytes {installed} for {' and '.join(needs)}")


    def _below_floor(self, ctx, pre, installed: str, optimizer: str, where: str):
        """A described GPU below bitsandbytes' compute-capability floor of a feature the config uses (on a real
        machine, `ftdoctor check`'s BNB803 says it, forwarded below)."""
        cc = pre.target.min_cc
        if pre.target.source != "described" or cc is None:
            return None
        from ftdoctor.matrix import cc_tuple

        eight_bit_optimizer = "8bit" in optimizer and optimizer.startswith(BNB_OPTIMIZERS)
        used = [(feature, title) for feature, title, on in (
            ("nf4_fp4", "4-bit loading", pre.plan.quant_bits == 4),
            ("llm_int8", "8-bit loading", pre.plan.quant_bits == 8),
            ("optimizers_8bit", f"optimizer {optimizer}", eight_bit_optimizer)) if on]

        for feature, title in used:
            floor = ctx.matrix.bitsandbytes.floor(feature, installed)
            if floor is not None and cc < cc_tuple(floor.min_cc):
                return Fail(f"{title} on {pre.target.describe()}: bitsandbytes {installed}'s {floor.title} needs "
                            f"compute capability {floor.min_cc}", {"needs": floor.min_cc},
                            (Fix("train in 16-bit (LoRA without load_in_8bit/4bit) on this GPU, or use a newer "
                                 "GPU"),), location=where)
        return None


class DeepspeedInstalled(EnvRule):
    """A DeepSpeed config has DeepSpeed installed to run it."""

    code = "CEN808"

    def check(self, ctx: Context):
        pre = ctx.pre
        if not pre.config.deepspeed:
            return NotApplicable("no deepspeed")
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        installed = pre.target.version("deepspeed")
        if installed:
            return Pass(f"deepspeed {installed}")
        return Fail("`deepspeed` is set but DeepSpeed is not installed", fixes=(Fix("install it", (ctx.pip(
            "install", "deepspeed"),)),), location=_first(pre, "deepspeed"))


class ProcessesForSharding(EnvRule):
    """DeepSpeed / FSDP get the processes and GPUs they shard over (not one GPU, not a CPU that turns FSDP into DDP)."""

    code = "CEN809"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre = ctx.pre
        sharding = pre.plan.sharding
        if sharding.kind == "none":
            return self._replicated(pre)
        where = _first(pre, "deepspeed", "fsdp_config", "fsdp", "fsdp_version")
        if pre.target.cpu_only:
            return self._cpu(sharding, where)
        count = pre.target.gpu_count
        if count == 1:
            if sharding.offload_optimizer or sharding.offload_params:
                return Info(f"{sharding.kind.upper()} on one GPU: nothing is sharded, but offloading to CPU memory "
                            "still saves GPU memory", location=where)
            return Fail(f"{'DeepSpeed ZeRO' if sharding.kind == 'zero' else 'FSDP'} on a single GPU shards nothing: "
                        "it only adds overhead (and a plain `python train.py` would run one process anyway)",
                        fixes=(Fix("drop the sharding for one GPU, or run on several GPUs with a launcher that "
                                   "starts one process per GPU (ftdoctor train does)"),), location=where)
        return Pass(f"{count} GPUs: {count} processes share the model")

    def _replicated(self, pre):
        count = pre.target.gpu_count
        if count < 2:
            return NotApplicable("no DeepSpeed or FSDP, and at most one GPU")
        visible = f" (CUDA_VISIBLE_DEVICES={pre.target.visible_devices})" if pre.target.visible_devices else ""
        return Info(f"{count} GPUs{visible} and no DeepSpeed or FSDP: ftdoctor train starts {count} DDP processes, "
                    "each holding a whole copy of the model (the memory estimate is per GPU); a plain `python "
                    "train.py` would use one GPU and leave the others idle, without a word",
                    location=pre.at(("base_model",)))

    def _cpu(self, sharding, where):
        if sharding.kind == "fsdp":
            return Fail("FSDP on a machine without a GPU: accelerate and the Trainer silently fall back to DDP "
                        "(every process holds the whole model); only plain torch fully_shard shards on CPU",
                        fixes=(Fix("judge the config for the GPU machine it is meant for (--gpu NAME --gpus N)"),),
                        severity=Severity.ERROR, location=where)
        return Info("DeepSpeed ZeRO on CPU runs over gloo, with a one-time C++ op build (about a minute); note that "
                    "`accelerate launch --cpu --num_processes N` starts ONE process — use --multi_gpu with use_cpu",
                    location=where)


class Nccl(EnvRule):
    """Several GPUs have NCCL to talk over, and all of them are visible."""

    code = "CEN810"

    def check(self, ctx: Context):
        pre = ctx.pre
        target = pre.target
        if target.gpu_count < 2:
            return NotApplicable("fewer than two GPUs")
        if not target.nccl_known or not target.torch_cuda:
            return NotApplicable("torch's NCCL is known only when torch is imported to ask (not with --no-torch)")
        if target.nccl:
            return Pass(f"NCCL {target.nccl} for {target.gpu_count} GPUs")
        return Fail(f"{target.gpu_count} GPUs but this torch has no NCCL: multi-GPU training cannot start (or falls "
                    "back to gloo, far slower)", fixes=(Fix("install a CUDA build of torch from the package index "
                    "(it bundles NCCL)"),), location=pre.at(("base_model",)))


class KeysForInstalledVersions(EnvRule):
    """The keys a TRL CLI config uses still exist in the installed TRL / transformers."""

    code = "CEN811"

    def check(self, ctx: Context):
        pre = ctx.pre
        if pre.loaded.dialect != "trl":
            return NotApplicable("keys are Axolotl's (ftdoctor translates them for the installed libraries)")
        outcomes = []
        for name in pre.loaded.source.data:
            row = ctx.matrix.trainer_api.key(name, vocabulary_command(pre.loaded.trl_command or ""))
            if row is None:
                continue
            installed = pre.target.version(row.package)
            outcomes.append(self._judge(pre, row, name, installed))
        return outcomes or Pass("no renamed or removed key")

    def _judge(self, pre, row, name: str, installed: str | None):
        where = pre.at((name,))
        if installed is None:
            return Info(f"`{name}` is gone from {row.package} {row.removed or row.deprecated}; {row.package} is not "
                        "installed here", location=where)
        state = row.state(installed)
        unconfirmed = " (version bound unconfirmed)" if row.confidence != "confirmed" else ""
        fix = Fix(f"use {row.replacement}" if row.replacement else f"delete `{name}`")
        if state == "removed":
            return Fail(f"`{name}` no longer exists in {row.package} {installed} (removed in {row.removed}"
                        f"{unconfirmed}): {row.effect}", {"package": row.package, "installed": installed},
                        (fix,), location=where)
        if state == "deprecated":
            return Fail(f"`{name}` is deprecated in {row.package} {installed} (since {row.deprecated}); it goes in "
                        f"{row.removed or 'a later release'}", fixes=(fix,), severity=Severity.WARNING,
                        location=where)
        return Pass(f"`{name}` still exists in {row.package} {installed}", location=where)


class FeatureVersions(EnvRule):
    """Features the config uses are supported by the installed library versions."""

    code = "CEN812"

    def check(self, ctx: Context):
        pre = ctx.pre
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        outcomes = []
        for feature, key in _features(pre):
            for need in ctx.matrix.trainer_api.needs(feature):
                installed = pre.target.version(need.package)
                if installed is None or need.package == "flash-attn":
                    continue  # missing packages are reported by the rules about them
                if need.allows(installed) is False:
                    severity = Severity.ERROR if need.confidence == "confirmed" else Severity.WARNING
                    outcomes.append(Fail(f"`{key}` needs {need.package}{need.requires}, found {installed}: {need.why}",
                                         {"package": need.package, "installed": installed, "requires": need.requires},
                                         (Fix(f"install {need.package}{need.requires}"),), severity=severity,
                                         location=_first(pre, key)))
        return outcomes or Pass("the installed libraries support every feature used")


def _features(pre) -> list[tuple[str, str]]:
    c, plan = pre.config, pre.plan
    found = []
    if c.rl:
        found.append((f"rl:{c.rl}", "rl"))
    if c.peft_use_dora:
        found.append(("peft_use_dora", "peft_use_dora"))
    if plan.sharding.kind == "fsdp" and plan.sharding.version == 2:
        found.append(("fsdp_version:2", "fsdp_version" if pre.loaded.has("fsdp_version") else "fsdp_config"))
    if plan.attention in ("flex_attention", "fp8"):
        found.append((f"attn:{plan.attention}", "attn_implementation"))
    if c.save_safetensors is False:
        found.append(("save_safetensors:false", "save_safetensors"))
    if c.sample_packing and not c.rl:
        found.append(("sample_packing", "sample_packing"))
    if plan.method == "sft" and not c.train_on_inputs and any(r.shape == "conversational" for r in pre.datasets):
        found.append(("assistant_only_loss", "train_on_inputs" if pre.loaded.has("train_on_inputs") else "datasets"))
    return found


class TrainingStack(EnvRule):
    """The libraries ftdoctor's trainer runs on are installed (torch, transformers, trl, peft, accelerate, datasets)."""

    code = "CEN813"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre = ctx.pre
        if not pre.target.packages_known:
            return NotApplicable("the target's packages are unknown")
        wanted = ["torch", "transformers", "trl", "accelerate", "datasets"] + (["peft"] if pre.config.adapter else [])
        missing = [name for name in wanted if not pre.target.version(name)]
        if not missing:
            return Pass(", ".join(f"{n} {pre.target.version(n)}" for n in wanted))
        return Fail(f"not installed: {', '.join(missing)}: `ftdoctor train` cannot run this config here",
                    fixes=(Fix("install the training extra",
                               (ctx.pip("install", "ftdoctor-cli[train]"),)),),
                    location=pre.at(("base_model",)))


RULES = (Bf16Support, Tf32Support, Fp8Support, CpuOnly, TorchHasCuda, FlashAttention, Bitsandbytes,
         DeepspeedInstalled, ProcessesForSharding, Nccl, KeysForInstalledVersions, FeatureVersions, TrainingStack,
         OtherAttentionKernels)
