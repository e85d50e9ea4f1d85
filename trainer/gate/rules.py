"""RUN9xx: the gate's rules: what this launch needs, judged against what the checks found here.

Code bands:
    RUN900-909  the launch: processes against devices, the launcher chosen
    RUN910-919  one per requirement (torch, CUDA, bf16, flash-attn, bitsandbytes, collectives, DeepSpeed)
    RUN920-939  what ftdoctor's bundled trainer can run: method, data formats, chat template, optimizer, GRPO,
                where it logs, the library releases it is written for
    RUN940-949  a resumed run: the config and data it started with
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown
from ftdoctor.trainer.gate.evidence import CheckStatus, Evidence
from ftdoctor.trainer.gate.requirements import Requirement
from ftdoctor.trainer.launch.plan import LaunchPlan
from ftdoctor.trainer.preflight import PreflightContext
from ftdoctor.trainer.rules.combinations import _first


@dataclass(frozen=True)
class Resuming:
    """The run being resumed: what its record says it started with."""

    checkpoint: str
    config_sha256: str | None = None
    data_sha256: dict[str, str] = field(default_factory=dict)  # absolute path -> digest


@dataclass(frozen=True)
class GateContext(PreflightContext):
    launch: LaunchPlan | None = None
    requirements: tuple[Requirement, ...] = ()
    evidence: Evidence | None = None
    resuming: Resuming | None = None
    data_sha256: dict[str, str] = field(default_factory=dict)  # the data files now


class GateRule(Rule):
    family = "gate"


class ProcessesFitDevices(GateRule):
    """The processes the run starts have a device each (a GPU each on a GPU machine)."""

    code = "RUN901"

    def check(self, ctx: Context):
        launch, pre = ctx.launch, ctx.pre
        if launch.device == "cpu":
            if launch.processes > 1:
                return Info(f"{launch.processes} processes on the CPU, over gloo ({launch.distributed}); started with "
                            "accelerate's multi-process launcher and use_cpu, because `accelerate launch --cpu "
                            f"--num_processes {launch.processes}` starts one process")
            return Pass("one process on the CPU")
        if launch.processes > launch.gpus:
            return Fail(f"{launch.processes} processes asked for, but torch sees {launch.gpus} GPU(s): the extra "
                        "processes would share GPUs or fail to start", {"processes": launch.processes,
                                                                        "gpus": launch.gpus},
                        (Fix(f"launch with --processes {launch.gpus}", (f"ftdoctor train {pre.loaded.path} "
                                                                      f"--processes {launch.gpus}",)),))
        return Pass(f"{launch.processes} process(es), one per GPU ({launch.gpus} visible)")


class RequirementRule(GateRule):
    requirement: ClassVar[str]

    def check(self, ctx: Context):
        wanted = next((r for r in ctx.requirements if r.name == self.requirement), None)
        if wanted is None:
            return NotApplicable(f"the config does not need {self.requirement}")
        result = ctx.evidence.result(self.requirement) if ctx.evidence else None
        where = _first(ctx.pre, wanted.key) if wanted.key else None
        evidence = {"needed_by": wanted.why, "smoke": wanted.smoke, "runner": ctx.evidence.runner if ctx.evidence
                    else None}
        if result is None:
            return Unknown(f"{self.requirement} was not checked", evidence, location=where)
        evidence.update(tier=result.tier, **result.details)
        match result.status:
            case CheckStatus.OK:
                return Pass(result.message, evidence, location=where)
            case CheckStatus.FAILED:
                return Fail(result.message, evidence, result.fixes, location=where)
            case CheckStatus.SKIPPED:
                return NotApplicable(result.message)
        return Fail(f"not verified: {result.message}", evidence, result.fixes, severity=Severity.WARNING,
                    location=where)


class TorchWorks(RequirementRule):
    """torch imports and runs in the training interpreter."""

    code, requirement = "RUN910", "torch"


class CudaWorks(RequirementRule):
    """CUDA works on as many GPUs as the run starts processes (and when a setting needs a GPU)."""

    code, requirement = "RUN911", "cuda"


class Bf16Works(RequirementRule):
    """bf16 mixed precision runs on these GPUs."""

    code, requirement = "RUN912", "bf16"
    requires = frozenset({"RUN911"})


class FlashAttnWorks(RequirementRule):
    """flash-attn imports and runs a forward pass here."""

    code, requirement = "RUN913", "flash-attn"


class Bitsandbytes4bitWorks(RequirementRule):
    """bitsandbytes runs a 4-bit layer here."""

    code, requirement = "RUN914", "bitsandbytes-4bit"


class Bitsandbytes8bitWorks(RequirementRule):
    """bitsandbytes' native library runs here (8-bit loading or an 8-bit optimizer)."""

    code, requirement = "RUN915", "bitsandbytes-8bit"


class CollectiveWorks(RequirementRule):
    """The processes can all-reduce over their backend (NCCL on GPUs, gloo on the CPU)."""

    code, requirement = "RUN916", "collective"


class DeepspeedWorks(RequirementRule):
    """DeepSpeed imports here."""

    code, requirement = "RUN917", "deepspeed"


class DeepspeedOpsWork(RequirementRule):
    """DeepSpeed can build and load the ops its ZeRO settings need here."""

    code, requirement = "RUN918", "deepspeed-ops"
    requires = frozenset({"RUN917"})


class MethodOffered(GateRule):
    """The installed TRL offers the training method (ftdoctor's trainer runs it through TRL)."""

    code = "RUN920"

    def check(self, ctx: Context):
        from ftdoctor.trainer.recipe.methods import NOT_OFFERED, method_for

        pre = ctx.pre
        name = pre.plan.method
        method = method_for(name)
        where = _first(pre, "rl", "reward_model", "process_reward_model")
        offered = offered_here()
        trl = f"TRL {pre.target.version('trl') or '(version unknown)'}"
        listed = f"{trl} offers {', '.join(offered) or 'none of the methods ftdoctor’s trainer runs'}"
        if method is None:
            return Fail(f"ftdoctor's trainer cannot run `{name}`: {NOT_OFFERED.get(name, 'unknown method')}; "
                        f"{listed}", {"offered": offered},
                        (Fix("run it with the tool it comes from (Axolotl), or pick a method this TRL offers"),),
                        location=where)
        found, source = trl_exports(method.module, method.trainer)
        if found is None:
            return Unknown(f"TRL's files could not be read ({source})", location=where)
        if not found:
            return Fail(f"the installed TRL has no {method.module}.{method.trainer} ({source}): `{name}` cannot run; "
                        f"{listed}", {"offered": offered},
                        fixes=(Fix("install a TRL release that has it",
                                   (ctx.pip("install", "trl>=1.0"),)),),
                        location=where)
        note = " (trl.experimental: may change in any TRL release)" if method.experimental else ""
        return Pass(f"{name}: {method.module}.{method.trainer}{note}; {listed}", {"offered": offered})


def offered_here() -> list[str]:
    """The methods whose TRL trainer the installed TRL has, read from its files (TRL is not imported)."""
    from ftdoctor.trainer.recipe.methods import METHODS

    return [m.name for m in METHODS if trl_exports(m.module, m.trainer)[0]]


def trl_exports(module: str, name: str) -> tuple[bool | None, str]:
    """Whether `module` (a TRL module) defines or exports `name`, read from its files without importing TRL."""
    from importlib.util import find_spec

    spec = find_spec("trl")
    if spec is None or not spec.submodule_search_locations:
        return False, "trl is not installed"
    root = Path(list(spec.submodule_search_locations)[0])
    folder = root.joinpath(*module.split(".")[1:])
    files = [folder / "__init__.py"] if folder.is_dir() else [folder.with_suffix(".py")]
    files += sorted(folder.glob("*.py")) if folder.is_dir() else []
    try:
        return any(name in f.read_text(encoding="utf-8") for f in files if f.is_file()), str(root)
    except OSError as exc:
        return None, str(exc)


class DataFitsMethod(GateRule):
    """Every dataset maps to the TRL format of the method (ftdoctor's trainer converts Axolotl types)."""

    code = "RUN921"

    def check(self, ctx: Context):
        from ftdoctor.trainer.recipe.formats import UnsupportedData, conversion
        from ftdoctor.trainer.recipe.methods import method_for

        pre = ctx.pre
        method = method_for(pre.plan.method)
        if method is None:
            return NotApplicable("the method is not one ftdoctor's trainer runs")
        outcomes: list[Any] = []
        for report in pre.datasets:
            if not report.columns:
                continue  # unreadable or missing: the preflight's dataset rules say so
            try:
                converted = conversion(report.spec, method.data, report.columns)
            except UnsupportedData as exc:
                outcomes.append(Fail(str(exc), {"columns": list(report.columns)}, (Fix(exc.fix),),
                                     location=pre.at(report.path)))
                continue
            outcomes.append(Pass(f"`{report.spec.path}` → {converted.target}", location=pre.at(report.path)))
        return outcomes or NotApplicable("no readable dataset")


class ChatTemplateBundled(GateRule):
    """A chat template named in the config is one ftdoctor's trainer can set (tokenizer_default, chatml, jinja)."""

    code = "RUN922"

    def check(self, ctx: Context):
        from ftdoctor.trainer.recipe.tokens import BUILT_IN_TEMPLATES

        c = ctx.pre.config
        if c.chat_template in (None, *BUILT_IN_TEMPLATES):
            return Pass(f"chat template: {c.chat_template or 'the tokenizer’s own'}")
        return Fail(f"`chat_template: {c.chat_template}` is one of Axolotl's bundled templates, which ftdoctor's "
                    "trainer does not ship", fixes=(Fix("use the tokenizer's own (chat_template: tokenizer_default), "
                                                        "chatml, or chat_template: jinja with chat_template_jinja: "
                                                        "<file.jinja>"),), location=_first(ctx.pre, "chat_template"))


class OptimizerKnown(GateRule):
    """The optimizer is one transformers provides (Axolotl's own optimizers are not)."""

    code = "RUN923"

    def check(self, ctx: Context):
        from ftdoctor.trainer.config.schema import AXOLOTL_OPTIMIZERS

        optimizer = ctx.pre.plan.optimizer
        if optimizer not in AXOLOTL_OPTIMIZERS:
            return Pass(f"optimizer {optimizer} (transformers)")
        return Fail(f"`optimizer: {optimizer}` is an Axolotl optimizer; ftdoctor's trainer passes the optimizer to "
                    "transformers, which does not have it", fixes=(Fix("use adamw_torch_fused, adamw_torch or a "
                                                                       "bitsandbytes 8-bit optimizer"),),
                    location=_first(ctx.pre, "optimizer"))


class GrpoRewards(GateRule):
    """GRPO has reward functions to import, and generates without vLLM (ftdoctor's trainer uses transformers)."""

    code = "RUN924"

    def check(self, ctx: Context):
        pre = ctx.pre
        c = pre.config
        if pre.plan.method != "grpo":
            return NotApplicable("not GRPO")
        where = _first(pre, "trl")
        names = list((c.trl.reward_funcs if c.trl else None) or ())
        if not names:
            return Fail("GRPO without reward functions", fixes=(Fix("set trl.reward_funcs: [my_rewards.length] (a "
                        "module next to the config) or a name from trl.rewards"),), location=where)
        if c.trl.use_vllm:
            return Fail("trl.use_vllm: true: ftdoctor's trainer generates with transformers, not vLLM",
                        fixes=(Fix("set trl.use_vllm: false"),), location=where)
        missing = [n for n in names if not _importable(n, pre.loaded.folder)]
        if missing:
            return Fail(f"reward function module(s) not found: {', '.join(missing)}", fixes=(Fix(
                "put the module next to the config file, or install it"),), location=where)
        return Pass(f"reward functions: {', '.join(names)}")


def _importable(name: str, folder: Path) -> bool:
    from importlib.util import find_spec

    module = name.rpartition(".")[0]
    if not module:
        return trl_exports("trl.rewards", name)[0] is True
    top = module.split(".")[0]
    return (folder / f"{module.replace('.', '/')}.py").is_file() or (folder / top).is_dir() or \
        find_spec(top) is not None


class LoggingAskedFor(GateRule):
    """The run logs where the config asks (tensorboard installed; Weights & Biases, which it does not do, named).

    `use_tensorboard: true` without tensorboard would log to the terminal and metrics.jsonl only, and a
    `wandb_project` would be dropped without a word: both are warnings, not refusals."""

    code = "RUN925"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        outcomes: list[Any] = []
        if c.wandb_project and c.wandb_mode != "disabled":
            outcomes.append(Fail(f"`wandb_project: {c.wandb_project}`: ftdoctor's trainer does not log to Weights & "
                                 "Biases; this run logs to the terminal, run/metrics.jsonl and TensorBoard (when "
                                 "installed)", fixes=(Fix("read the metrics from output_dir/run/metrics.jsonl or "
                                                          "TensorBoard, or train with Axolotl for W&B"),),
                                 location=_first(pre, "wandb_project")))
        if c.use_tensorboard is True:
            outcomes.append(self._tensorboard(ctx))
        return outcomes or NotApplicable("no logging asked for beyond the terminal and run/metrics.jsonl")

    def _tensorboard(self, ctx: Context):
        pre = ctx.pre
        where = _first(pre, "use_tensorboard")
        if not pre.target.packages_known:
            return Unknown("whether tensorboard is installed is unknown (the training interpreter's packages were "
                           "not read)", location=where)
        found = pre.target.version("tensorboard") or pre.target.version("tensorboardX")
        if found:
            return Pass(f"TensorBoard logging: tensorboard {found}", location=where)
        return Fail("`use_tensorboard: true` but tensorboard is not installed here: the run would log to the terminal "
                    "and run/metrics.jsonl only", fixes=(Fix("install it", (ctx.pip("install", "tensorboard"),)),),
                    location=where)


class StackSupported(GateRule):
    """The installed libraries are releases ftdoctor's trainer is written for (its `train`/`deepspeed` extras).

    Installed-ness is CEN813's, RUN914's and RUN917's; this judges the versions of the libraries this run
    imports, because the recipe uses current names and an older release fails part-way or ignores a key."""

    code = "RUN926"

    def check(self, ctx: Context):
        from packaging.specifiers import SpecifierSet
        from packaging.version import InvalidVersion, Version

        from ftdoctor.trainer.gate.supported import supported_ranges

        pre = ctx.pre
        if not pre.target.packages_known:
            return Unknown("the training interpreter's packages were not read")
        ranges = supported_ranges()
        if ranges is None:
            return Unknown("ftdoctor's own package metadata (its supported ranges) could not be read: is it "
                           "installed (pip install -e .)?")
        used = _imported_by_run(pre, ctx.requirements)
        judged, outside, unreadable = [], [], []
        for wanted in (r for r in ranges if r.package in used):
            installed = pre.target.version(wanted.package)
            if not installed:
                continue  # missing: the rules about installing it say so
            try:
                fits = SpecifierSet(wanted.specifier).contains(Version(installed), prereleases=True)
            except InvalidVersion:
                unreadable.append(f"{wanted.package} {installed!r}")
                continue
            judged.append(f"{wanted.package} {installed}")
            if not fits:
                outside.append((wanted, installed))
        if outside:
            named = ", ".join(f"{r.package} {v} (needs {r.specifier})" for r, v in outside)
            extras = sorted({r.extra for r, _ in outside})
            return Fail(f"ftdoctor's trainer is written for newer releases than installed here: {named}",
                        {"outside": {r.package: {"installed": v, "supported": r.specifier} for r, v in outside}},
                        (Fix("upgrade them", (ctx.pip("install", *(f"{r.package}{r.specifier}"
                                                                   for r, _ in outside)),)),
                         Fix("or install the releases ftdoctor's extras resolve to", (ctx.pip(
                             "install", "--upgrade", f"ftdoctor-cli[{','.join(extras)}]"),))))
        if unreadable:
            return Unknown(f"not a PEP 440 version, so not comparable with ftdoctor's ranges: {', '.join(unreadable)}")
        return Pass(f"within ftdoctor's supported ranges: {', '.join(judged)}") if judged else \
            NotApplicable("none of the training libraries is installed")


def _imported_by_run(pre, requirements) -> set[str]:
    names = {"torch", "transformers", "trl", "accelerate", "datasets"}
    needed = {r.name for r in requirements}
    if pre.config.adapter:
        names.add("peft")
    if needed & {"bitsandbytes-4bit", "bitsandbytes-8bit"}:
        names.add("bitsandbytes")
    if "deepspeed" in needed:
        names.add("deepspeed")
    return names


class ResumeMatches(GateRule):
    """A resumed run trains on the config and data it started with."""

    code = "RUN940"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        resuming = ctx.resuming
        if resuming is None:
            return NotApplicable("not resuming")
        changed = []
        if resuming.config_sha256 and resuming.config_sha256 != file_sha256(ctx.pre.loaded.path):
            changed.append("the config")
        changed += [Path(p).name for p, digest in resuming.data_sha256.items() if ctx.data_sha256.get(p) != digest]
        if changed:
            return Fail(f"resuming from {Path(resuming.checkpoint).name}, but {', '.join(changed)} changed since the "
                        "run started: the resumed run is not the run that was interrupted",
                        fixes=(Fix("restore them, or start a new run (--overwrite, or another output_dir)"),))
        return Pass(f"resuming from {Path(resuming.checkpoint).name} with the same config and data")


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


RULES = (ProcessesFitDevices, TorchWorks, CudaWorks, Bf16Works, FlashAttnWorks, Bitsandbytes4bitWorks,
         Bitsandbytes8bitWorks, CollectiveWorks, DeepspeedWorks, DeepspeedOpsWork, MethodOffered, DataFitsMethod,
         ChatTemplateBundled, OptimizerKnown, GrpoRewards, LoggingAskedFor, StackSupported, ResumeMatches)
