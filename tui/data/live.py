"""The real runners: ftdoctor's own probes, rules and matrix, for this machine or a saved snapshot.

The probe tasks are the steps of `ftdoctor.probes.gather.gather`, one task each, so the app can show each
probe answer as it comes; a test holds the two to the same facts. The other features are ftdoctor's own
commands through their library APIs: `fix`'s plan and apply (tui/data/fixes.py), `lock` for the facts,
`explain` on a log, `check --config`'s preflight, and `check --verify`'s smoke tests (`ftdoctor.verify.run`),
each in its own bounded subprocess, one task per smoke test (tui/data/smokes.py).
"""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from importlib import import_module
from pathlib import Path
from types import ModuleType

from ftdoctor import __version__
from ftdoctor.facts.model import Facts, SmokeResult
from ftdoctor.findings import Finding
from ftdoctor.probes.gather import NO_TORCH
from ftdoctor.probes.host import Host
from ftdoctor.tui.data.runners import Lockfile, Origin, Report, Runners
from ftdoctor.tui.data.smokes import Stopped
from ftdoctor.tui.data.tasks import ProbeTask
from ftdoctor.verify.catalog import Smoke, SmokeOptions

def probe_tasks(host: Host, *, import_torch: bool = True) -> tuple[ProbeTask, ...]:
    from ftdoctor.probes import abi, driver, env_vars, python_env, system, toolkit

    def system_and_env(facts: Facts) -> dict:
        loaded = facts.python.libstdcxx_path  # the libstdc++ the diagnosed interpreter really loads
        return {"system": system.probe(host, loaded_libstdcxx=loaded), "env": env_vars.probe(host)}

    return (
        ProbeTask("driver", "NVIDIA driver and GPUs", ("driver",), lambda facts: {"driver": driver.probe(host)}),
        ProbeTask("toolkit", "CUDA toolkit", ("toolkit",), lambda facts: {"toolkit": toolkit.probe(host)}),
        ProbeTask("python", "Python packages", ("python",), lambda facts: {"python": python_env.probe(host)}),
        ProbeTask("system", "system libraries and environment", ("system", "env"), system_and_env, ("python",)),
        ProbeTask("abi", "compiled extensions (ELF files)", ("abi",), lambda facts: {"abi": abi.probe(host, facts.python)},
                  ("python",)),
        ProbeTask(
            "torch", "torch, imported in a subprocess" if import_torch else "torch, from its metadata",
            ("torch",), _torch_task(host, import_torch), needs=("python",),
        ),
    )


def _torch_task(host: Host, import_torch: bool) -> Callable[[Facts], dict]:
    from ftdoctor.probes import torch_probe

    def run(facts: Facts) -> dict:
        dist = facts.distribution("torch")
        if import_torch and dist is not None:
            return {"torch": torch_probe.finish(torch_probe.start(host), dist)}
        return {"torch": torch_probe.from_metadata(dist, NO_TORCH)}

    return run


def blank_facts(label: str = "") -> Facts:
    """The snapshot before any probe answered: only who collected it and when."""
    return Facts(
        ftdoctor_version=__version__,
        collected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        label=label,
    )


def judge_with(settings) -> Callable[[Facts], list[Finding]]:
    """ftdoctor's rules and matrix, loaded once, with the user's select/ignore settings."""
    from ftdoctor.matrix import load_matrix
    from ftdoctor.rules import all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge

    from ftdoctor.rules.smoke import without_unrun_smokes

    rules, matrix = all_rules(), load_matrix()
    # as `check` does: the rules of smoke tests that did not run are left out, not shown as skipped
    return lambda facts: judge(without_unrun_smokes(rules, facts), Context(facts=facts, matrix=matrix, settings=settings))


def runners(settings, probes: tuple[ProbeTask, ...] = (), host: Host | None = None,
            verify: Callable[[], ProcessSmokes] | None = None) -> Runners:
    """The app's runners. `host` is the one the probes read: a variable a fix sets is given to it for the re-check.
    `verify`: `smoke_runner(host, ...)` for this machine; None for a saved snapshot."""
    from ftdoctor.rules import FAMILY_TITLES
    from ftdoctor.tui.data import fixes

    return Runners(
        judge=judge_with(settings),
        titles=FAMILY_TITLES,
        probes=probes,
        fix_plan=fixes.planner(),
        run_step=fixes.step_runner(host),
        verify=verify,
        explain=explain_runner(),
        preflight=preflight_runner(settings),
        lockfile=lockfile_runner,
    )


class ProcessSmokes:
    """One run of the real smoke tests: `run(name)` starts that smoke test in its own bounded subprocess of the
    diagnosed interpreter and waits for it (`ftdoctor.verify.run`: start, finish); `stop()` kills every one
    still running and everything it started (`run.abandon`: the processes carrying its token), and from then
    on `run` raises `Stopped`."""

    def __init__(self, host: Host, smokes: Sequence[Smoke], options: SmokeOptions = SmokeOptions()) -> None:
        self.host, self.options = host, options
        self._smokes = {smoke.name: smoke for smoke in smokes}
        self.names = tuple(self._smokes)
        self._lock = threading.Lock()
        self._running: list = []  # the batches not finished yet
        self._stopped = False

    def run(self, name: str) -> SmokeResult:
        from ftdoctor.verify import run

        with self._lock:  # so that a stop either comes first (nothing starts) or sees this batch
            if self._stopped:
                raise Stopped(f"the {name} smoke test was stopped before it started")
            batch = run.start(self.host, [self._smokes[name]], self.options)
            self._running.append(batch)
        try:
            verify = run.finish(batch)
        finally:
            with self._lock:
                self._running.remove(batch)
        if self._stopped:  # killed by stop(): its "crash" is ours, not a fact about the machine
            raise Stopped(f"the {name} smoke test was stopped")
        return verify.smokes[0]

    def stop(self) -> None:
        from ftdoctor.verify import run

        with self._lock:
            self._stopped = True
            batches = list(self._running)
        for batch in batches:
            run.abandon(batch)


def smoke_runner(host: Host, plan=None) -> Callable[[], ProcessSmokes]:
    """A new run of the smoke tests each call: those `--verify-only` / `--verify-deepspeed-ops` ask for (`plan`,
    a `VerifyPlan`), or every default one, on the diagnosed interpreter of `host`."""
    from ftdoctor.verify.catalog import select

    smokes = tuple(plan.smokes) if plan is not None else tuple(select(None))
    options = plan.options if plan is not None else SmokeOptions()
    return lambda: ProcessSmokes(host, smokes, options)


def lockfile_runner(facts: Facts, origin: Origin) -> Lockfile:
    """What `ftdoctor lock --target auto` (or `--facts FILE`) would write for these facts: a requirements file with
    the installed extras (flash-attn, bitsandbytes, deepspeed) locked too; when nothing fits, the lock's
    explanation of which constraint made it impossible and what would help."""
    from ftdoctor.lock import render
    from ftdoctor.lock.extras import EXTRAS
    from ftdoctor.lock.search import Request, lock
    from ftdoctor.lock.target import from_facts
    from ftdoctor.matrix import load_matrix

    matrix = load_matrix()
    flag = "--target auto" if origin.live else f"--facts {shlex.quote(Path(origin.path).name or 'FACTS.json')}"
    target = from_facts(facts, matrix, "this machine" if origin.live else f"facts {origin.path}")
    extras = tuple(name for name in EXTRAS if facts.distribution(name))
    result = lock(matrix, Request(target, extras))
    command = render.command_line(result, flag)
    if not result.ok:
        return Lockfile("(nothing fits)", render.explain(result), command, ok=False)
    return Lockfile("requirements.txt", render.requirements(result, command, None), f"{command} -o requirements.txt")


def preflight_runner(settings) -> Callable[[Path, Facts], Report]:
    """`ftdoctor check --config`'s preflight of a training config on these facts: its findings, the header lines
    with the memory estimate on top, and the estimate's parts in the details."""

    def run(path: Path, facts: Facts) -> Report:
        from ftdoctor.matrix import load_matrix
        from ftdoctor.rules.base import Context
        from ftdoctor.trainer.preflight import config_findings

        context = Context(facts=facts, matrix=load_matrix(), settings=settings)
        findings, titles, header, data = config_findings(str(path), facts, context, {}, [], {})
        notes = tuple(line.strip() for line in header if not line.strip().startswith("config "))
        estimate = data.get("preflight", {}).get("estimate")
        return Report(tuple(findings), titles, notes, _estimate_lines(estimate))

    return run


def _estimate_lines(estimate: dict | None) -> tuple[str, ...]:
    """The memory estimate's parts, one line each (`ftdoctor estimate` prints the same breakdown)."""
    if not estimate:
        return ()
    from ftdoctor.trainer.memory.render import gib

    parts = [f"{p['name']}: {gib(p['bytes'])} ({p['detail']})" for p in estimate["parts"]]
    return ("Memory estimate, per GPU at the peak:", *parts, *(f"note: {n}" for n in estimate.get("notes", ())))


def explain_runner() -> Callable[[str, Facts | None], Report] | None:
    """`ftdoctor explain`'s diagnosis of a log's text, through its library API, when this build has it."""
    explain = _feature("ftdoctor.explain")
    if explain is None:
        return None

    def run(text: str, facts: Facts | None) -> Report:
        result = explain.explain_text(text, facts=facts, facts_source="live" if facts is not None else None)
        return Report(tuple(explain.as_findings(result)), {"explain": "Diagnosis"}, _explain_notes(result))

    return run


def _explain_notes(result) -> tuple[str, ...]:
    read = result.read
    lines = f"read {read.lines} lines ({read.encoding}{', undecodable bytes replaced' if read.replaced else ''})"
    if result.found:
        return (lines, f"{len(result.diagnoses)} diagnosis(es), the most likely first")
    last = result.last_error
    return (lines, "no known cause" + (f"; the last error-looking line ({last.line}): {last.text}" if last else ""))


def _feature(name: str) -> ModuleType | None:
    """A part of ftdoctor that other builds may lack: the module, or None when it is not installed.
    Any other import failure inside it is a bug and propagates."""
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
