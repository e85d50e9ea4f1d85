"""The preflight: read the config, look at its model and data on disk (the preflight's probes), resolve
what will run on the target machine, estimate memory, and judge it all with the preflight rules.

No heavy library is imported here: tokenizers (to count tokens) and pyarrow (Parquet) only inside the
functions that read such files, torch only in a subprocess for architectures ftdoctor does not know.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftdoctor.findings import Finding
from ftdoctor.rules.base import Context
from ftdoctor.trainer.config.load import LoadedConfig, load_config
from ftdoctor.trainer.config.source import KeyPath
from ftdoctor.trainer.data.inspect import DatasetReport, inspect_dataset
from ftdoctor.trainer.data.readers import EXACT_LIMIT_BYTES
from ftdoctor.trainer.memory.estimate import Estimate, MemoryInputs, estimate
from ftdoctor.trainer.memory.inputs import inputs_from_plan
from ftdoctor.trainer.model.inspect import ModelReport, inspect_model
from ftdoctor.trainer.plan import TrainingPlan, make_plan
from ftdoctor.trainer.target import Target


QUOTE_THE_FILE = ("CFG101", "CFG102")  # findings that name keys as the file writes them, whatever the dialect


@dataclass(frozen=True)
class Preflight:
    loaded: LoadedConfig
    target: Target
    model: ModelReport | None
    datasets: tuple[DatasetReport, ...]
    plan: TrainingPlan
    memory: MemoryInputs | None
    estimate: Estimate | None

    @property
    def config(self):
        return self.loaded.config

    def at(self, path: KeyPath = ()) -> str:
        """`config.yml:LINE` of a key path (its nearest ancestor that has a line)."""
        return self.loaded.where(path)


@dataclass(frozen=True)
class PreflightContext(Context):
    """What preflight rules read: the machine facts (when judged live or from a snapshot) and the preflight."""

    pre: Preflight | None = None
    launching: bool = False  # judged by ftdoctor train's gate: the bundled trainer runs it, not Axolotl or `trl`


def prepare(config_path: str | Path, target: Target, *, build_unknown: bool = True,
            exact_limit: int = EXACT_LIMIT_BYTES) -> Preflight:
    loaded = load_config(config_path)
    c = loaded.config
    model = None
    if c.base_model:
        model = inspect_model(c.base_model, loaded.folder, tokenizer_name=c.tokenizer_config,
                              build_unknown=build_unknown)
    plan = make_plan(loaded, model, target)
    tokenizer = model.tokenizer if model else None
    datasets = tuple(
        inspect_dataset(section, i, spec, loaded.folder, sequence_len=plan.sequence_len, tokenizer=tokenizer,
                        exact_limit=exact_limit)
        for section in ("datasets", "test_datasets") for i, spec in enumerate(getattr(c, section) or ())
        if spec.path
    )
    memory = inputs_from_plan(plan, model.shape, c, target) if model and model.shape else None
    return Preflight(loaded, target, model, datasets, plan, memory, estimate(memory) if memory else None)


def judge_preflight(pre: Preflight, ctx: Context) -> list[Finding]:
    from ftdoctor.rules.engine import judge
    from ftdoctor.trainer.rules import FAMILY_TITLES, preflight_rules

    context = PreflightContext(facts=ctx.facts, matrix=ctx.matrix, settings=ctx.settings, pre=pre,
                               launching=isinstance(ctx, PreflightContext) and ctx.launching)
    rank = {family: i for i, family in enumerate(FAMILY_TITLES)}
    findings = sorted(judge(preflight_rules(), context), key=lambda f: rank.get(f.family, len(rank)))
    if pre.loaded.dialect != "trl":
        return findings
    return [f if f.code in QUOTE_THE_FILE else _in_trl_spelling(f) for f in findings]


def _in_trl_spelling(finding: Finding) -> Finding:
    """Rules name Axolotl's keys; a TRL CLI config's reader needs the names to write into that file."""
    from dataclasses import replace

    from ftdoctor.trainer.config.trl_dialect import in_trl_spelling

    fixes = tuple(replace(fix, summary=in_trl_spelling(fix.summary)) for fix in finding.fixes)
    return replace(finding, message=in_trl_spelling(finding.message), fixes=fixes)


def config_findings(config_path, facts, ctx: Context, titles: dict, header: list, data: dict):
    """`ftdoctor check --config FILE`: the preflight's findings for the machine `check` judged, with the
    titles, header lines and JSON data extended."""
    from ftdoctor.trainer import report
    from ftdoctor.trainer.rules import FAMILY_TITLES
    from ftdoctor.trainer.target import from_facts

    pre = prepare(config_path, from_facts(facts, "check"))
    findings = judge_preflight(pre, ctx)
    lines = report.header(pre, "")[1:]
    return findings, {**titles, **FAMILY_TITLES}, [*header, f"  config   {pre.loaded.path}", *lines], \
        {**data, "preflight": report.data(pre)}
