"""Apply a fix plan in the diagnosed interpreter, one step at a time.

Before a pip step, pip's own dry run says exactly what it will change, and every installed distribution it
will replace is copied aside (its RECORD files). If the step fails, whatever it installed is uninstalled and
the copies are put back, so the environment is as it was before that step, and the plan stops there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.utils import canonicalize_name

from ftdoctor import atomic
from ftdoctor.fix import env_child
from ftdoctor.fix.plan import Change, Plan, Step, _change
from ftdoctor.lock.proposal import Pin

TIMEOUT_S = 3600
MARK_BEGIN, MARK_END = "# >>> ftdoctor fix >>>", "# <<< ftdoctor fix <<<"


@dataclass
class StepResult:
    step: Step
    ok: bool
    detail: str = ""
    changes: tuple[Change, ...] = ()


@dataclass
class ApplyResult:
    results: list[StepResult] = field(default_factory=list)
    env: dict[str, str | None] = field(default_factory=dict)  # variables set (None: unset) for the re-check

    @property
    def failed(self) -> StepResult | None:
        return next((r for r in self.results if not r.ok), None)


def preview(plan: Plan) -> list[tuple[Step, tuple[Change, ...]]]:
    """What each runnable pip step would really change, from pip's dry run in the diagnosed interpreter."""
    return [(step, dry_run(plan.python, step) if step.kind == "pip" else ()) for step in plan.runnable]


def dry_run(python: str, step: Step) -> tuple[Change, ...]:
    with tempfile.TemporaryDirectory(prefix="ftdoctor-fix-") as tmp:
        report = Path(tmp, "report.json")
        args = [python, "-m", "pip", *step.pip_args, "--dry-run", "--quiet", "--report", str(report)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT_S)
        if proc.returncode != 0 or not report.exists():
            return step.changes  # pip too old for --report, or it fails: the step will say so when run
        items = json.loads(report.read_text())["install"]
    before = installed(python, [i["metadata"]["name"] for i in items])
    changes = []
    for item in items:
        name = canonicalize_name(item["metadata"]["name"])
        have = before.get(name)
        change = _change(_dist(name, have), Pin(name, item["metadata"]["version"]))
        changes.append(change or Change(name, have["version"] if have else None, item["metadata"]["version"], "reinstall"))
    return tuple(changes)


def _dist(name: str, have: dict | None):
    from ftdoctor.facts.model import Distribution

    return Distribution(name=name, version=have["version"]) if have else None


def installed(python: str, names: list[str]) -> dict[str, dict]:
    proc = subprocess.run([python, "-I", env_child.__file__, *names], capture_output=True, text=True, timeout=120)
    data = json.loads(proc.stdout or "{}")
    return {canonicalize_name(k): v for k, v in data.items() if v is not None}


# Runs pip's argv; gives its exit status (None: stopped before it ended) and its output (for the error line).
RunPip = Callable[[list[str]], tuple[int | None, str]]


def run_captured(argv: list[str]) -> tuple[int | None, str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    return proc.returncode, proc.stderr


def apply(plan: Plan, previews: list[tuple[Step, tuple[Change, ...]]], prefix: str, kind: str) -> ApplyResult:
    result = ApplyResult()
    for step, changes in previews:
        outcome = apply_step(plan.python, step, changes, prefix, kind)
        if outcome.ok and step.kind == "env":
            result.env.update(dict(step.env))
        result.results.append(outcome)
        if not outcome.ok:
            break
    return result


def apply_step(python: str, step: Step, changes: tuple[Change, ...], prefix: str, kind: str,
               run_pip: RunPip = run_captured) -> StepResult:
    """One runnable step: a pip step with its stash and rollback, an env step into the environment's activation.
    `run_pip` lets a front end show pip's output as it comes (the TUI) and stop it (a stop is a failure)."""
    if step.kind == "pip":
        return _pip_step(python, step, changes, prefix, run_pip)
    return _env_step(step, prefix, kind)


def _pip_step(python: str, step: Step, changes: tuple[Change, ...], prefix: str, run_pip: RunPip) -> StepResult:
    names = [c.name for c in changes] or [c.name for c in step.changes]
    before = installed(python, names)
    # inside the environment, so the copies are hard links on the same file system (a CUDA torch is gigabytes)
    with tempfile.TemporaryDirectory(prefix=".ftdoctor-stash-", dir=prefix if os.path.isdir(prefix) else None) as stash:
        saved = _stash(before, Path(stash))
        code, output = run_pip([python, "-m", "pip", *step.pip_args])
        if code == 0:
            return StepResult(step, True, "done", changes)
        restored = _rollback(python, names, before, saved, prefix)
    why = _last_error(output) if code is not None else "stopped before it finished"
    return StepResult(step, False, f"pip failed: {why}; {restored}", changes)


def _stash(before: dict[str, dict], folder: Path) -> list[tuple[str, str]]:
    """Copy every file of the distributions a step may replace; returns (original, copy) pairs."""
    saved = []
    for info in before.values():
        for path in info["files"]:
            if os.path.isfile(path):
                copy = folder / str(len(saved))
                _link_or_copy(path, copy)
                saved.append((path, str(copy)))
    return saved


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _rollback(python: str, names: list[str], before: dict[str, dict], saved: list[tuple[str, str]], prefix: str) -> str:
    now = installed(python, names)
    changed = sorted(n for n in set(now) | set(before) if (now.get(n) or {}).get("version") != (before.get(n) or {}).get("version"))
    _uninstall_all(python, names, prefix)  # every copy, changed or not: the stash puts the old ones back whole
    for original, copy in saved:
        os.makedirs(os.path.dirname(original), exist_ok=True)
        if os.path.lexists(original):
            os.unlink(original)
        _link_or_copy(copy, original)
    after = installed(python, names)
    same = {n: v["version"] for n, v in after.items()} == {n: v["version"] for n, v in before.items()}
    if same:
        return "rolled back: " + (", ".join(f"{n} back to {before[n]['version']}" if n in before else f"{n} removed" for n in changed)
                                  or "nothing had changed")
    return "ROLLBACK INCOMPLETE: " + ", ".join(f"{n} is {after.get(n, {}).get('version')}, was {before.get(n, {}).get('version')}" for n in names)


def _uninstall_all(python: str, names: list[str], prefix: str) -> None:
    """Remove every copy of these distributions. A failed install can leave a half-written .dist-info (no RECORD,
    which pip cannot uninstall) beside the old one: such a folder inside the environment is deleted directly."""
    for _ in range(5):
        present = sorted(installed(python, names))
        if not present:
            return
        proc = subprocess.run([python, "-m", "pip", "uninstall", "-y", *present], capture_output=True, text=True, timeout=TIMEOUT_S)
        if proc.returncode != 0:
            _remove_orphans(python, names, prefix)


def _remove_orphans(python: str, names: list[str], prefix: str) -> None:
    proc = subprocess.run([python, "-I", env_child.__file__, "--copies", *names], capture_output=True, text=True, timeout=120)
    root = os.path.realpath(prefix)
    for copy in json.loads(proc.stdout or "[]"):
        path = os.path.realpath(copy["path"])
        if not copy["record"] and path.startswith(root + os.sep) and path.endswith(".dist-info"):
            shutil.rmtree(path, ignore_errors=True)


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (errors or lines or ["no output"])[-1][:300]


def activation_file(prefix: str, kind: str) -> Path | None:
    """Where an environment's variables persist: the venv's activate script, a conda activate.d hook."""
    if kind == "venv":
        return Path(prefix, "bin", "activate")
    if kind == "conda":
        return Path(prefix, "etc", "conda", "activate.d", "ftdoctor.sh")
    return None


def _env_step(step: Step, prefix: str, kind: str) -> StepResult:
    target = activation_file(prefix, kind)
    if target is None or (kind == "venv" and not target.exists()):
        return StepResult(step, True, "not persisted (no venv or conda activation to write to): run it in your shell")
    original = target.read_text(encoding="utf-8") if target.exists() else ""
    try:
        # through a rename: a failure (or a shell sourcing it meanwhile) never sees half an activate script
        atomic.write_text(target, _with_block(original, step.env), overwrite=True)
    except OSError as exc:
        return StepResult(step, False, f"cannot write {target}: {exc.strerror}; left as it was")
    return StepResult(step, True, f"written to {target} (active in new shells of this environment)")


def _with_block(text: str, env) -> str:
    """The activation script with ftdoctor's block holding these variables (earlier ftdoctor lines kept)."""
    head, _, rest = text.partition(MARK_BEGIN)
    old, _, tail = rest.partition(MARK_END)
    lines = [ln for ln in old.strip("\n").splitlines() if ln and not any(ln.split("=")[0].endswith(f" {n}") for n, _ in env)]
    for name, value in env:
        lines.append(f"export {name}={value}" if value is not None else f"unset {name}")
    return head.rstrip("\n") + f"\n{MARK_BEGIN}\n" + "\n".join(lines) + f"\n{MARK_END}\n" + tail.lstrip("\n")
