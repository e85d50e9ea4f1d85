"""`ftdoctor train config.yml`: preflight → gate → launch → record.

The launching process never imports torch: it judges, writes the run's record and the job, starts the
training processes (one, or N through accelerate's launcher with generated settings), shows and keeps
their output, and on a crash explains the log. Refused launches start nothing and write nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ftdoctor.errors import ExitCode
from ftdoctor.facts.model import Facts
from ftdoctor.trainer.gate.decide import GateDecision, run_gate
from ftdoctor.trainer.gate.rules import Resuming, file_sha256
from ftdoctor.trainer.gate.runners import Runner, default_runner
from ftdoctor.trainer.launch import accelerate_config, command, crash, supervise
from ftdoctor.trainer.launch.plan import LaunchPlan, launch_plan
from ftdoctor.trainer.preflight import Preflight, prepare
from ftdoctor.trainer.recipe.job import JOB_FILE, DataSource, Job, save_job
from ftdoctor.trainer.run import outdir
from ftdoctor.trainer.run.record import RunRecord, read_json

DEFAULT_OUTPUT_DIR = "./model-out"  # Axolotl's
DATA_FORMATS = {"jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv", "arrow": "arrow", "text": "text"}


@dataclass(frozen=True)
class TrainOptions:
    config: str
    processes: int | None = None
    force: bool = False
    resume: bool = False
    overwrite: bool = False
    settings: Any = None  # ftdoctor.rules.settings.Settings (select / ignore / fail-on)
    verbose: bool = False
    no_color: bool = False


@dataclass(frozen=True)
class Launch:
    """Everything decided before the processes start."""

    pre: Preflight
    plan: LaunchPlan
    output_dir: Path
    checkpoint: Path | None
    data: tuple[DataSource, ...]
    hashes: dict[str, dict[str, Any]]


def guarded_train(options: TrainOptions, *, facts: Facts, runner: Runner | None = None, out: TextIO | None = None,
                  echo=None) -> ExitCode:
    from ftdoctor.matrix import load_matrix
    from ftdoctor.trainer.target import from_facts

    out = out or sys.stdout
    pre = prepare(options.config, from_facts(facts, "live"))
    launch = _decide_launch(pre, facts, options)
    decision = run_gate(pre, facts, launch.plan, runner=runner or default_runner(), matrix=load_matrix(),
                        settings=options.settings, force=options.force, resuming=_resuming(launch),
                        data_sha256={p: h["sha256"] for p, h in launch.hashes.items()})
    out.write(gate_report(decision, pre, options))
    if not decision.launch:
        out.write("ftdoctor: launch refused: fix the errors above (or launch anyway with --force, at your own "
                  "risk); nothing was started or written\n")
        return ExitCode.ERRORS
    if decision.forced:
        out.write(f"\nftdoctor: WARNING: {decision.force_warning()}\n\n")
    return _launch(launch, decision, options, facts, out, echo)


def _decide_launch(pre: Preflight, facts: Facts, options: TrainOptions) -> Launch:
    c = pre.config
    output_dir = (pre.loaded.folder / (c.output_dir or DEFAULT_OUTPUT_DIR)).resolve()
    wants_resume = options.resume or bool(c.resume_from_checkpoint) or (
        bool(c.auto_resume_from_checkpoints) and outdir.last_checkpoint(output_dir) is not None)
    explicit = str(pre.loaded.folder / c.resume_from_checkpoint) if c.resume_from_checkpoint else None
    checkpoint = outdir.claim(output_dir, resume=wants_resume, overwrite=options.overwrite,
                              explicit_checkpoint=explicit)
    data, hashes = data_sources(pre)
    return Launch(pre, launch_plan(pre.plan, facts, options.processes), output_dir, checkpoint, data, hashes)


def data_sources(pre: Preflight) -> tuple[tuple[DataSource, ...], dict[str, dict[str, Any]]]:
    """The files each dataset entry reads (as the preflight found them), with their hashes."""
    sources, hashes = [], {}
    for report in pre.datasets:
        if not report.files:
            continue  # missing or unreadable: the preflight's findings refuse the launch
        paths = tuple(str(f.path.resolve()) for f in report.files)
        disk = report.note.startswith("a `save_to_disk` folder") and report.located.path is not None
        fmt = report.spec.ds_type or DATA_FORMATS.get(report.files[0].format, "json")
        sources.append(DataSource(report.section, report.index, report.spec.path or "", "disk" if disk else "files",
                                  (str(report.located.path.resolve()),) if disk else paths, "" if disk else fmt,
                                  report.shape, report.spec.split or "train"))
        for file in report.files:
            hashes[str(file.path.resolve())] = {"sha256": file_sha256(file.path), "bytes": file.size}
    return tuple(sources), hashes


def _resuming(launch: Launch) -> Resuming | None:
    if launch.checkpoint is None:
        return None
    record = RunRecord(launch.output_dir / "run").load()
    data = {p: h.get("sha256", "") for p, h in (record.get("data") or {}).items()}
    return Resuming(str(launch.checkpoint), record.get("config_sha256"), data)


def gate_report(decision: GateDecision, pre: Preflight, options: TrainOptions) -> str:
    from ftdoctor import __version__
    from ftdoctor.report import terminal
    from ftdoctor.rules import FAMILY_TITLES as MACHINE_TITLES
    from ftdoctor.trainer.gate.decide import TITLES
    from ftdoctor.trainer.rules import FAMILY_TITLES

    plan = decision.plan
    header = [f"ftdoctor {__version__} · train {pre.loaded.path}",
              f"  run       {pre.plan.method} · {pre.plan.adapter or 'full fine-tune'} · {plan.processes} process(es) "
              f"on the {plan.device.upper()} · {plan.distributed} · {plan.precision}",
              f"  gate      checks: {', '.join(decision.checks_run)} ({decision.evidence.runner}: "
              f"{decision.evidence.note})"]
    style = terminal.Style.for_stream(sys.stdout, no_colour=options.no_color)
    return terminal.render(list(decision.findings), titles={**MACHINE_TITLES, **FAMILY_TITLES, **TITLES}, verbose=options.verbose,
                           style=style, header=header)


def _launch(launch: Launch, decision: GateDecision, options: TrainOptions, facts: Facts, out: TextIO,
            echo) -> ExitCode:
    run_dir = launch.output_dir / "run"
    if options.overwrite and launch.checkpoint is None and outdir.occupied(launch.output_dir):
        outdir.clear(launch.output_dir)
    job = make_job(launch, decision, options, facts)
    job_file = save_job(job, run_dir / JOB_FILE)
    argv = command.worker_command(launch.plan, job_file, _accelerate_file(launch, run_dir),
                                  python=facts.python.executable or sys.executable)
    record = RunRecord(run_dir)
    record.start(config_path=launch.pre.loaded.path, facts=facts, gate=decision.as_data(), data=launch.hashes,
                 command=argv, config_sha256=file_sha256(launch.pre.loaded.path),
                 resumed_from=str(launch.checkpoint) if launch.checkpoint else None)
    _clear_previous_result(run_dir)
    out.write(f"ftdoctor: launching {' '.join(argv[1:4])} … (log: {run_dir / 'train.log'})\n")
    out.flush()
    finished = supervise.supervise(argv, command.worker_environment(launch.plan, python=argv[0]),
                                   run_dir / "train.log", echo=echo, cwd=str(launch.pre.loaded.folder))
    return _conclude(finished, record, run_dir, facts, out)


def make_job(launch: Launch, decision: GateDecision, options: TrainOptions, facts: Facts) -> Job:
    model = launch.pre.model
    model_path = str(model.located.path.resolve()) if model and model.located.path else str(launch.pre.config.base_model)
    tokenizer = launch.pre.config.tokenizer_config
    tokenizer_path = str((launch.pre.loaded.folder / tokenizer).resolve()) if tokenizer else model_path
    return Job(config_path=str(launch.pre.loaded.path.resolve()), output_dir=str(launch.output_dir),
               model_path=model_path, tokenizer_path=tokenizer_path, data=launch.data, method=launch.pre.plan.method,
               device=launch.plan.device, processes=launch.plan.processes, distributed=launch.plan.distributed,
               deepspeed=dict(launch.pre.plan.sharding.settings) if launch.plan.distributed == "deepspeed" else None,
               resume_from=str(launch.checkpoint) if launch.checkpoint else None, forced=decision.forced)


def _accelerate_file(launch: Launch, run_dir: Path) -> Path | None:
    import json

    from ftdoctor import atomic

    if launch.plan.launcher != "accelerate":
        return None
    deepspeed_file = None
    if launch.plan.distributed == "deepspeed":
        deepspeed_file = str(atomic.write_text(run_dir / "deepspeed.json", json.dumps(
            launch.pre.plan.sharding.settings, indent=2) + "\n", overwrite=True))
    fsdp = None
    if launch.plan.distributed == "fsdp":
        from ftdoctor.trainer.recipe.arguments import fsdp_options

        fsdp = {"fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
                **{f"fsdp_{k}": v for k, v in fsdp_options(launch.pre.config).items()}}
    settings = accelerate_config.accelerate_settings(launch.plan, port=command.free_port(),
                                                     deepspeed_file=deepspeed_file, fsdp=fsdp)
    return atomic.write_text(run_dir / "accelerate.yaml", accelerate_config.to_yaml(settings), overwrite=True)


def _clear_previous_result(run_dir: Path) -> None:
    for name in ("result.json", "runtime.json"):
        (run_dir / name).unlink(missing_ok=True)


def _conclude(finished: supervise.Finished, record: RunRecord, run_dir: Path, facts: Facts, out: TextIO
              ) -> ExitCode:
    result = read_json(run_dir / "result.json")
    runtime = read_json(run_dir / "runtime.json")
    status = "interrupted" if finished.interrupted or finished.returncode in (130, -2) else (
        "finished" if finished.returncode == 0 and result and result.get("status") == "finished" else "failed")
    findings = [_runtime_finding(runtime)] if runtime and runtime.get("mismatch") else []
    explanation = crash.explain_crash(run_dir / "train.log", facts) if status == "failed" else None
    record.finish(status=status, result=result, runtime=runtime, returncode=finished.returncode,
                  explanation=explanation.as_data() if explanation else None, findings=findings)
    out.write(summary(status, result, runtime, explanation, run_dir))
    return {"finished": ExitCode.OK, "interrupted": ExitCode.INTERRUPTED}.get(status, ExitCode.TRAINING_FAILED)


def _runtime_finding(runtime: dict[str, Any]) -> dict[str, Any]:
    return {"code": "RUN950", "severity": "warning", "title": "The run ran the way it was launched",
            "message": runtime["mismatch"], "evidence": {k: runtime.get(k) for k in
                                                         ("world_size", "distributed_type", "wrapper")}}


def summary(status: str, result: dict[str, Any] | None, runtime: dict[str, Any] | None,
            explanation: crash.CrashReport | None, run_dir: Path) -> str:
    lines = [""]
    if status == "finished" and result:
        first, last = result.get("first_loss"), result.get("last_loss")
        loss = f"loss {first:.4g} → {last:.4g}, " if first is not None and last is not None else ""
        where = f"; merged model in {result['merged']}" if result.get("merged") else ""
        lines.append(f"ftdoctor: training finished: {loss}{result.get('global_step')} steps; saved in "
                     f"{run_dir.parent}{where}")
    elif status == "interrupted":
        lines.append(f"ftdoctor: training interrupted; continue it with --resume (log: {run_dir / 'train.log'})")
    else:
        lines.append(f"ftdoctor: training failed: {explanation.cause if explanation else 'no cause found'}")
        for fix in explanation.fixes if explanation else ():
            lines.append(f"  fix: {fix.summary}")
            lines.extend(f"    $ {c}" for c in fix.commands)
        by = f" (explained by {explanation.explained_by})" if explanation else ""
        lines.append(f"  the full log is kept in {run_dir / 'train.log'}{by}")
    if runtime and runtime.get("mismatch"):
        lines.append(f"ftdoctor: WARNING: {runtime['mismatch']}")
    lines.append(f"ftdoctor: record: {run_dir / 'record.json'}")
    return "\n".join(lines) + "\n"


def live_facts(python: str | None = None) -> Facts:
    from ftdoctor.probes.gather import gather
    from ftdoctor.probes.host import Host

    return gather(Host.from_environment(python=python or sys.executable))

