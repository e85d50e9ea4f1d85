"""From `check`'s findings to a plan of commands.

The package changes come from the lock, run for this machine with policy `installed`: keep every installed
version that passes the rules, change only what must change (a torch variant this driver and GPU can run, the
flash-attn wheel built for that torch, a bitsandbytes with a library for its CUDA). Environment variables come
from the findings' own fixes (`export X=Y`, `unset X`); anything else a finding asks for (a newer driver, a
CUDA toolkit) is a manual step: shown, never run. The plan also says what the rules expect afterwards.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field, replace

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Distribution, Facts, Status, TorchFacts
from ftdoctor.findings import Finding, Severity
from ftdoctor.lock.proposal import Pin

ENV_LINE = re.compile(r"^(?:export\s+([A-Za-z_][A-Za-z0-9_]*)=(\S*)|unset\s+([A-Za-z_][A-Za-z0-9_]*))$")


@dataclass(frozen=True)
class Change:
    name: str
    before: str | None
    after: str | None
    kind: str  # "install" | "upgrade" | "downgrade" | "reinstall" | "uninstall"

    def describe(self) -> str:
        if self.kind == "install":
            return f"install {self.name} {self.after}"
        if self.kind == "uninstall":
            return f"UNINSTALL {self.name} {self.before}"
        label = "DOWNGRADE" if self.kind == "downgrade" else self.kind
        return f"{label} {self.name} {self.before} -> {self.after}"


@dataclass(frozen=True)
class Step:
    kind: str  # "pip" | "env" | "manual"
    title: str
    why: tuple[str, ...] = ()
    pip_args: tuple[str, ...] = ()  # after `<python> -m pip`
    env: tuple[tuple[str, str | None], ...] = ()  # (name, value); None unsets
    changes: tuple[Change, ...] = ()
    commands: tuple[str, ...] = ()  # manual steps: what to run by hand

    def command(self, python: str) -> str:
        if self.kind == "pip":
            return " ".join([shlex.quote(python), "-m", "pip", *map(shlex.quote, self.pip_args)])
        if self.kind == "env":
            return "; ".join(f"export {n}={shlex.quote(v)}" if v is not None else f"unset {n}" for n, v in self.env)
        return "\n".join(self.commands)


@dataclass(frozen=True)
class Plan:
    python: str
    steps: tuple[Step, ...]
    problems: tuple[Finding, ...]  # what check found (errors and warnings)
    expected: tuple[Finding, ...] = ()  # the problems the rules still see once the plan is applied
    notes: tuple[str, ...] = field(default=())

    @property
    def runnable(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.kind != "manual")


def _settable(facts: Facts, name: str, value: str | None) -> bool:
    """CUDA_HOME/CUDA_PATH only to a toolkit this machine has: pointing them at nothing breaks every build."""
    if name not in ("CUDA_HOME", "CUDA_PATH") or value is None:
        return True
    return any(i.path.rstrip("/") == value.rstrip("/") for i in facts.toolkit.installs)


def make_plan(facts: Facts, matrix, findings: list[Finding]) -> Plan:
    from ftdoctor.lock.target import from_facts

    problems = tuple(f for f in findings if f.severity in (Severity.ERROR, Severity.WARNING) and not f.message.startswith("unknown"))
    python = facts.python.executable or "python"
    steps, notes = [], []
    try:
        target = from_facts(facts, matrix, "this environment")
    except Exception as exc:  # noqa: BLE001 - a machine the lock cannot describe still gets its env and manual steps
        target, notes = None, [f"no package changes planned: {getattr(exc, 'what', exc)}"]
    pins = _lock_pins(matrix, target, notes) if target is not None and problems else []
    # which problems the package changes answer: those the rules no longer see once they are made
    fixed = _fixed_codes(facts, matrix, problems, _package_steps(facts, pins, problems, set()))
    steps += _package_steps(facts, pins, problems, fixed)
    env_steps, manual = _finding_steps(facts, problems, fixed)
    steps += env_steps + manual
    expected = _expected(facts, matrix, steps)
    return Plan(python, tuple(steps), problems, expected, tuple(notes))


def _lock_pins(matrix, target, notes: list[str]) -> list[Pin]:
    from ftdoctor.lock.extras import EXTRAS
    from ftdoctor.lock.search import Request, lock

    extras = tuple(name for name in EXTRAS if any(d.name == name for d in target.installed))
    if not any(d.name == "torch" for d in target.installed):
        notes.append("torch is not installed: no package changes planned (use `ftdoctor lock` for a fresh set)")
        return []
    result = lock(matrix, Request(target, extras, None, "installed"))
    if not result.ok:
        notes.append("no package set fits this machine: " + "; ".join(result.suggestions))
        return []
    return list(result.proposal.pins)


def _fixed_codes(facts: Facts, matrix, problems, package_steps: list[Step]) -> set[str]:
    if not package_steps:
        return set()
    return {f.code for f in problems} - {f.code for f in _expected(facts, matrix, package_steps)}


def _package_steps(facts: Facts, pins: list[Pin], problems, fixed: set[str]) -> list[Step]:
    installed = {d.name: d for d in facts.python.distributions}
    changes = {p.name: c for p in pins if (c := _change(installed.get(p.name), p)) is not None}
    if not changes:
        return []

    def why(*names):
        answered = [f for f in problems if f.code in fixed]
        related = [f for f in answered if _names(f, set(names))] or answered
        return tuple(f"{f.code} {f.message}" for f in related)

    python = shlex.quote(facts.python.executable or "python")
    steps = []
    torch = next((p for p in pins if p.name == "torch" and p.name in changes), None)
    if torch is not None:
        reasons = why("torch") + tuple(torch.reasons[1:3])  # the lock's word on the variant it picked
        steps.append(_torch_step(facts, torch, changes["torch"], reasons))
    plain = [p for p in pins if p.name in changes and p.name != "torch" and not p.url and not p.build]
    if plain:
        steps.append(_pip_step(plain, [changes[p.name] for p in plain], why(*[p.name for p in plain]), "install the versions that fit this torch"))
    for pin in pins:
        if pin.name in changes and pin.url:
            steps.append(Step("pip", f"install the {pin.name} wheel built for this torch", why(pin.name),
                              ("install", "--no-deps", "--force-reinstall", pin.url), changes=(changes[pin.name],)))
        elif pin.name in changes and pin.build:
            commands = tuple(c.replace("pip install", f"{python} -m pip install", 1) for c in pin.build)
            steps.append(Step("manual", f"build {pin.name} {pin.version} from source (no prebuilt wheel fits; takes long)",
                              why(pin.name), commands=commands, changes=(changes[pin.name],)))
    return steps


def _torch_step(facts: Facts, torch: Pin, change: Change, why) -> Step:
    """Written as every torch fix of ftdoctor's is (`rules.torch_choice.install_command`): the pin, the installed
    companions built against it, and PyTorch's index of the variant (it also serves torch's dependencies)."""
    from ftdoctor.rules.torch_choice import COMPANIONS

    companions = [name for name in COMPANIONS if facts.distribution(name)]
    index = ("--index-url", torch.index) if torch.index else ()
    args = ("install", f"torch=={torch.version}", *companions, *index)
    return Step("pip", "install the torch build this driver and GPU can run", why, args, changes=(change,))


def _pip_step(pins: list[Pin], changes: list[Change], why, title: str) -> Step:
    args = ["install"]
    for index in sorted({p.index for p in pins if p.index}):
        args += ["--extra-index-url", index]
    args += [f"{p.name}=={p.version}" for p in pins]
    return Step("pip", title, why, tuple(args), changes=tuple(changes))


def _change(dist: Distribution | None, pin: Pin) -> Change | None:
    if dist is None:
        return Change(pin.name, None, pin.version, "install")
    if pin.build and dist.direct_url:
        return Change(pin.name, dist.version, f"{pin.version} (built from source)", "reinstall")  # its wheel was for another torch
    if pin.url:
        if dist.direct_url == pin.url:
            return None
        return Change(pin.name, dist.version, pin.url.rsplit("/", 1)[-1], "reinstall")
    if dist.version == pin.version:
        return None
    try:
        before, after = Version(dist.version), Version(pin.version)
    except InvalidVersion:
        return Change(pin.name, dist.version, pin.version, "reinstall")
    if before.public == after.public and before.local != after.local:
        return Change(pin.name, dist.version, pin.version, "reinstall")  # another build (CUDA variant) of it
    if after == before:
        return None
    return Change(pin.name, dist.version, pin.version, "upgrade" if after > before else "downgrade")


def _finding_steps(facts: Facts, problems, fixed: set[str]) -> tuple[list[Step], list[Step]]:
    """Environment variables from the findings' fixes, and what else they ask for, as manual steps (a finding the
    package changes answer needs neither)."""
    env: dict[str, str | None] = {}
    why: dict[str, list[str]] = {}
    manual = []
    for finding in problems:
        for fix in finding.fixes:
            lines = [c for c in fix.commands if c.strip() and not c.lstrip().startswith("#")]
            envs = [m for c in lines if (m := ENV_LINE.match(c.strip()))]
            if envs and len(envs) == len(lines) and all(_settable(facts, m.group(1) or m.group(3), m.group(2)) for m in envs):
                for m in envs:
                    name = m.group(1) or m.group(3)
                    env.setdefault(name, m.group(2) if m.group(1) else None)
                    why.setdefault(name, []).append(f"{finding.code} {finding.message}")
                break  # the first fix that is all environment is the one applied
        else:
            if finding.fixes and finding.code not in fixed:
                first = finding.fixes[0] if finding.fixes else None
                manual.append(Step("manual", first.summary if first else f"{finding.code}: {finding.message}",
                                   (f"{finding.code} {finding.message}",), commands=first.commands if first else ()))
    steps = [Step("env", f"{'set' if v is not None else 'unset'} {n}", tuple(why[n]), env=((n, v),)) for n, v in env.items()]
    return steps, manual


def _names(finding: Finding, packages: set[str]) -> bool:
    """Does the finding name one of these packages (to say which package step answers it)?"""
    text = f"{finding.code} {finding.message}".lower()
    return any(name in text for name in packages)


def _expected(facts: Facts, matrix, steps: list[Step]) -> tuple[Finding, ...]:
    """Judge the machine as the plan would leave it (packages as pinned, variables set)."""
    from ftdoctor.rules import all_rules
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge

    after = applied(facts, matrix, steps)
    found = judge(all_rules(), Context(facts=after, matrix=matrix))
    return tuple(f for f in found if f.severity in (Severity.ERROR, Severity.WARNING) and not f.message.startswith("unknown"))


def applied(facts: Facts, matrix, steps: list[Step]) -> Facts:
    dists = {d.name: d for d in facts.python.distributions}
    env = dict(facts.env)
    torch = facts.torch
    for step in steps:
        for name, value in step.env:
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        for change in step.changes:
            if step.kind != "pip":
                continue
            url = next((a for a in step.pip_args if a.startswith("http") and a.endswith(".whl")), None)
            version = change.after if not url else change.after.split("-")[1]
            dists[change.name] = Distribution(name=change.name, version=version, direct_url=url,
                                              requires=dists[change.name].requires if change.name in dists else ())
            if change.name == "torch":
                torch = _torch_after(facts, matrix, version)
    python = replace(facts.python, distributions=tuple(sorted(dists.values(), key=lambda d: d.name)))
    return replace(facts, python=python, env=env, torch=torch)


def _torch_after(facts: Facts, matrix, version: str):
    """torch facts after a reinstall: the matrix's word for that wheel (the import probe runs again after --apply)."""
    from ftdoctor.lock.torch_choice import TorchCandidate

    release = matrix.torch.release_for(version)
    label = Version(version).local or ""
    cuda = release.default_cuda if not label else (None if label == "cpu" else f"{label[2:-1]}.{label[-1]}")
    variant = release.variant(cuda or "cpu")
    build = TorchCandidate(Version(version).public, variant, release, not label, "full", False).build()
    # what the import said was about the old build: until it is imported again, torch is known from metadata
    return TorchFacts(status=Status.UNKNOWN, source="metadata", reason="reinstalled by the plan, not imported yet",
                      version=version, cuda=build.cuda, cxx11_abi=build.cxx11_abi, arch_list=build.arch_list)
