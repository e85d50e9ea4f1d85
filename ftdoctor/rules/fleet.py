"""CMP1xx: do the nodes of a multi-node run agree? Every difference that breaks or skews distributed
training: Python, the NVIDIA driver, the torch build and its CUDA, NCCL, the CUDA libraries, the training
packages, GPU models and counts, the CPU architecture, NCCL/CUDA environment variables.

These rules read all machines at once (`ftdoctor.fleet.FleetContext`), so they are not in the one-machine
registry; `ftdoctor compare` and `ftdoctor check --facts-dir` run them.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Callable

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import Facts, Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.fleet import FleetContext, Machine
from ftdoctor.matrix.compat import driver_runs_cuda, oldest_driver_for
from ftdoctor.rules.base import Fail, Info, Pass, Rule, Unknown
from ftdoctor.rules.torch_choice import TORCH_INDEX

FAMILY = "fleet"
UNKNOWN = None  # a value function returns it when the fact could not be determined on that machine

# Ranks of one job import these and exchange their tensors, configs and checkpoints: a different version on
# one node changes the model code, the sharding or the kernels under the others.
TRAINING_STACK = frozenset({
    "accelerate", "bitsandbytes", "datasets", "deepspeed", "flash-attn", "liger-kernel", "peft", "safetensors",
    "tokenizers", "transformers", "triton", "trl", "xformers",
})
NCCL_WHEEL = re.compile(r"^nvidia-nccl")
CUDA_WHEEL = re.compile(r"^(nvidia-(?!ml-py$|nccl)|cuda-(toolkit|bindings|runtime)$)")
ENV_PREFIXES = ("NCCL_", "CUDA_", "TORCH_", "PYTORCH_", "NVIDIA_", "LD_LIBRARY_PATH", "OMP_NUM_THREADS")

Value = Callable[[Facts], "str | None"]


def groups(ctx: FleetContext, value: Value) -> dict[str | None, list[str]]:
    """Machine names by value, the most common value first."""
    found: dict[str | None, list[str]] = {}
    for machine in ctx.machines:
        found.setdefault(value(machine.facts), []).append(machine.name)
    return dict(sorted(found.items(), key=lambda item: -len(item[1])))


def describe(spread: dict[str | None, list[str]]) -> str:
    return "; ".join(f"{value} on {', '.join(names)}" for value, names in spread.items())


def majority(spread: dict[str | None, list[str]]) -> str | None:
    """The value most machines have; on a tie the newest version (upgrading is the usual way to align)."""
    top = max(len(names) for names in spread.values())
    tied = [value for value, names in spread.items() if len(names) == top and value is not None]
    return max(tied, key=_version_key, default=None)


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text.split()[0]))
    except InvalidVersion:
        return (0, text)


def compare(ctx: FleetContext, what: str, value: Value, **fail: object) -> Pass | Fail | Unknown:
    """Pass when every machine has the same value, Unknown when a machine could not tell, else Fail."""
    spread = groups(ctx, value)
    evidence = {m.name: value(m.facts) for m in ctx.machines}
    unknown = spread.get(UNKNOWN)
    if unknown:
        return Unknown(f"{what} could not be determined on {', '.join(unknown)}", evidence)
    if len(spread) == 1:
        only = next(iter(spread))
        return Pass(f"{what}: {only} {everywhere(ctx)}", evidence)
    return Fail(f"{what} differs: {describe(spread)}", evidence, **fail)  # type: ignore[arg-type]


def everywhere(ctx: FleetContext) -> str:
    return "on both machines" if len(ctx.machines) == 2 else f"on all {len(ctx.machines)} machines"


def pip_fix(ctx: FleetContext, spread: dict[str | None, list[str]], requirement: Callable[[str], str],
            options: Callable[[str], tuple[str, ...]] = lambda value: (),
            blocked: Callable[[FleetContext, Machine, str], str | None] = lambda ctx, machine, value: None,
            ) -> tuple[Fix, ...]:
    """`blocked` names what must change on a machine before the target can work there (its driver, say)."""
    target = majority(spread)
    if target is None:
        return ()
    by_name = {m.name: m for m in ctx.machines}
    commands = []
    for value, names in spread.items():
        if value == target:
            continue
        for name in names:
            first = blocked(ctx, by_name[name], target)
            then = f"{first}, then " if first else ""
            commands.append(f"# on {name}: {then}{_pip(by_name[name], requirement(target), options(target))}")
    counts = sorted((len(names) for value, names in spread.items() if value is not None), reverse=True)
    why = "the newest of a tie" if len(counts) > 1 and counts[0] == counts[1] else "what most machines have"
    return (Fix(f"install the same version everywhere ({target}, {why})", tuple(commands)),)


def _pip(machine: Machine, requirement: str, options: tuple[str, ...] = ()) -> str:
    python = machine.facts.python.executable or "python"
    return " ".join([shlex.quote(python), "-m", "pip", "install", shlex.quote(requirement), *map(shlex.quote, options)])


def dist_version(name: str) -> Value:
    def value(facts: Facts) -> str | None:
        if facts.python.status == Status.UNKNOWN:
            return UNKNOWN
        dist = facts.distribution(name)
        return dist.version if dist else "not installed"

    return value


def package_set(facts: Facts, pattern: re.Pattern[str]) -> dict[str, str]:
    return {d.name: d.version for d in facts.python.distributions if pattern.search(d.name)}


class SamePython(Rule):
    """Every machine runs the same Python (major.minor): wheels and pickled objects are per version."""

    code = "CMP101"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: FleetContext) -> Pass | Fail | Info | Unknown:
        outcome = compare(ctx, "Python", _python_minor, fixes=(Fix(
            "build every node's environment from one lockfile (`ftdoctor lock`) with the same Python",
        ),))
        if not isinstance(outcome, Pass):
            return outcome
        patch = compare(ctx, "Python patch release", lambda f: f.python.version or UNKNOWN)
        if isinstance(patch, Fail):
            return Info(f"{outcome.message}; {patch.message} (harmless for training)", patch.evidence)
        return outcome


def _python_minor(facts: Facts) -> str | None:
    if not facts.python.version:
        return UNKNOWN
    parts = facts.python.version.split(".")
    return f"{facts.python.implementation or 'Python'} {'.'.join(parts[:2])}"


class SameDriver(Rule):
    """Every machine has the same NVIDIA driver: a different one changes the CUDA it can run and NCCL's behaviour."""

    code = "CMP102"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        return compare(ctx, "NVIDIA driver", _driver, fixes=(Fix(
            "install the same driver release on every node (the cluster's image or the node provisioning)",
        ),))


def _driver(facts: Facts) -> str | None:
    return facts.driver.driver_version.value or "no driver"


class SameTorch(Rule):
    """Every machine has the same torch build (version and CUDA): ranks must run the same collectives and kernels."""

    code = "CMP103"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        outcome = compare(ctx, "torch build", _torch)
        if isinstance(outcome, Fail):
            spread = groups(ctx, _torch)
            return Fail(outcome.message, outcome.evidence,
                        pip_fix(ctx, spread, _torch_requirement, _torch_index, _driver_cannot_run))
        return outcome


def _driver_cannot_run(ctx: FleetContext, machine: Machine, value: str) -> str | None:
    """Moving a node to the fleet's torch build is no fix when that node's driver cannot run its CUDA."""
    cuda = value.partition("(CUDA ")[2].rstrip(")")
    driver = machine.facts.driver.driver_version.value
    if not cuda or not driver or ctx.matrix is None:
        return None
    try:
        if driver_runs_cuda(ctx.matrix.cuda, driver, cuda) is not None:
            return None
        floor = oldest_driver_for(ctx.matrix.cuda, cuda)
    except InvalidVersion:
        return None
    needs = f" (CUDA {cuda} needs {floor} or newer)" if floor else f" (it cannot run CUDA {cuda})"
    return f"upgrade the NVIDIA driver {driver}{needs}"


def _torch(facts: Facts) -> str | None:
    t = facts.torch
    if t.status == Status.ABSENT:
        return "not installed"
    if not t.version:
        return UNKNOWN
    build = f"CUDA {t.cuda}" if t.cuda else (f"ROCm {t.hip}" if t.hip else "CPU")
    return f"{t.version} ({build})" if t.status == Status.OK else t.version


def _torch_requirement(value: str) -> str:
    return "torch==" + value.split()[0]


def _torch_index(value: str) -> tuple[str, ...]:
    """A build with a local label (+cu130, +cpu) exists only on PyTorch's index of that variant."""
    label = Version(value.split()[0]).local if _version_key(value)[0] else None
    return ("--index-url", f"{TORCH_INDEX}/{label}") if label else ()


class SameNccl(Rule):
    """Every machine has the same NCCL: ranks with different NCCL versions can hang or fail to connect."""

    code = "CMP104"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        return compare(ctx, "NCCL", _nccl, fixes=(Fix(
            "install the same torch build everywhere: its NCCL comes with it (the nvidia-nccl wheel or the build)",
        ),))


def _nccl(facts: Facts) -> str | None:
    """The NCCL version torch will load: what torch reports, else the one NCCL wheel (metadata-only facts)."""
    if facts.torch.nccl:
        return _numbers(facts.torch.nccl)
    wheels = package_set(facts, NCCL_WHEEL)
    if len(wheels) == 1:
        return _numbers(next(iter(wheels.values())))
    if wheels:
        return _listing(wheels)
    if facts.torch.status == Status.OK and not facts.torch.cuda:
        return "none (CPU build)"
    return "none found" if facts.python.status == Status.OK else UNKNOWN


def _numbers(version: str) -> str:
    """'2.27.3', '(2, 27, 3)' and '2.27.3-1' are one NCCL."""
    return ".".join(re.findall(r"\d+", version)[:3])


def _listing(versions: dict[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items())) or "none"


class SameCudaLibraries(Rule):
    """Every machine has the same CUDA library wheels (cuBLAS, cuDNN, the CUDA runtime, ...): numerics and kernels."""

    code = "CMP105"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        outcome = _package_family(ctx, "CUDA library wheels", CUDA_WHEEL, Severity.WARNING)
        if isinstance(outcome, Fail) and len(groups(ctx, _torch)) > 1:
            # the wheels are torch's own pins: aligning them one by one would break the torch that needs them
            return Fail(outcome.message, outcome.evidence, (Fix(
                "install the same torch build everywhere (CMP103): these wheels are the ones it pins",
            ),), outcome.severity)
        return outcome


def _package_family(ctx: FleetContext, what: str, pattern: re.Pattern[str], severity: Severity) -> Pass | Fail | Unknown:
    unknown = [m.name for m in ctx.machines if m.facts.python.status == Status.UNKNOWN]
    if unknown:
        return Unknown(f"{what}: the installed packages are unknown on {', '.join(unknown)}")
    differing = _differing(ctx, pattern)
    if not differing:
        return Pass(f"{what}: the same {everywhere(ctx)}")
    lines = [f"{name}: {describe(spread)}" for name, spread in differing.items()]
    fixes = tuple(fix for name, spread in differing.items() for fix in pip_fix(ctx, spread, lambda v, n=name: f"{n}=={v}"))
    return Fail(f"{what} differ: " + " | ".join(lines), {n: dict(s) for n, s in differing.items()}, fixes, severity)


def _differing(ctx: FleetContext, pattern: re.Pattern[str]) -> dict[str, dict[str | None, list[str]]]:
    sets = {m.name: package_set(m.facts, pattern) for m in ctx.machines}
    names = sorted({name for versions in sets.values() for name in versions})
    result = {}
    for name in names:
        spread: dict[str | None, list[str]] = {}
        for machine, versions in sets.items():
            spread.setdefault(versions.get(name, "not installed"), []).append(machine)
        if len(spread) > 1:
            result[name] = dict(sorted(spread.items(), key=lambda item: -len(item[1])))
    return result


class SameTrainingStack(Rule):
    """Every machine has the same training packages (transformers, accelerate, peft, trl, deepspeed, flash-attn, ...)."""

    code = "CMP106"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: FleetContext) -> Pass | Fail | Info | Unknown:
        stack = re.compile("^(" + "|".join(re.escape(n) for n in sorted(TRAINING_STACK)) + ")$")
        outcome = _package_family(ctx, "training packages", stack, Severity.ERROR)
        if not isinstance(outcome, Pass):
            return outcome
        others = {name: spread for name, spread in _differing(ctx, re.compile(".")).items() if not _covered(name)}
        if others:
            listed = ", ".join(f"{name} ({describe(spread)})" for name, spread in list(others.items())[:8])
            more = f" and {len(others) - 8} more" if len(others) > 8 else ""
            return Info(f"{outcome.message}; other packages differ: {listed}{more}", {"differing": sorted(others)})
        return outcome


def _covered(name: str) -> bool:
    """Packages another CMP rule already compares."""
    return name == "torch" or name in TRAINING_STACK or bool(CUDA_WHEEL.search(name) or NCCL_WHEEL.search(name))


class SameGpuModels(Rule):
    """Every machine has the same GPU model: the slowest sets the pace, and kernels and precisions differ by architecture."""

    code = "CMP107"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        return compare(ctx, "GPU models", _gpu_models)


def _gpu_models(facts: Facts) -> str | None:
    names = Counter(
        f"{g.name}" + (f" (sm_{g.compute_capability.replace('.', '')})" if g.compute_capability else "")
        for g in facts.driver.gpus
    )
    return ", ".join(sorted(names)) or "no GPU"


class SameGpuCount(Rule):
    """Every machine has the same number of GPUs: launchers start the same number of processes on each node."""

    code = "CMP108"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: FleetContext) -> Pass | Fail | Unknown:
        return compare(ctx, "GPU count", lambda f: str(len(f.driver.gpus)), fixes=(Fix(
            "give every node the same GPUs, or launch with a per-node process count (torchrun --nproc-per-node)",
        ),))


class SameArchitecture(Rule):
    """Every machine has the same CPU architecture and OS: wheels are built per platform."""

    code = "CMP109"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: FleetContext) -> Pass | Fail | Info | Unknown:
        outcome = compare(ctx, "platform", lambda f: f"{f.system.os} {f.system.machine}" if f.system.machine else UNKNOWN)
        if not isinstance(outcome, Pass):
            return outcome
        glibc = compare(ctx, "glibc", lambda f: f.system.glibc_version or "unknown")
        if isinstance(glibc, Fail):
            return Info(f"{outcome.message}; {glibc.message}", glibc.evidence)
        return outcome


class SameEnvironment(Rule):
    """Every machine sets the same NCCL/CUDA/torch environment variables: they steer transport, devices and memory."""

    code = "CMP110"
    family = FAMILY
    severity = Severity.WARNING

    def check(self, ctx: FleetContext) -> Pass | Fail:
        keys = sorted({k for m in ctx.machines for k in m.facts.env if k.startswith(ENV_PREFIXES)})
        differing = {}
        for key in keys:
            spread = groups(ctx, lambda f, k=key: f.env.get(k, "unset"))
            if len(spread) > 1:
                differing[key] = spread
        if not differing:
            return Pass(f"{len(keys)} NCCL/CUDA/torch variable(s), the same on every machine")
        text = " | ".join(f"{key}: {describe(spread)}" for key, spread in differing.items())
        return Fail(f"environment variables differ: {text}", {k: dict(s) for k, s in differing.items()}, (Fix(
            "set these variables in the job script or launcher (srun --export, mpirun -x, the pod spec), not per node",
        ),))


class SameToolkit(Rule):
    """Every machine has the same CUDA toolkit (nvcc): JIT-built extensions (DeepSpeed ops, Triton) compile with it."""

    code = "CMP111"
    family = FAMILY
    severity = Severity.INFO

    def check(self, ctx: FleetContext) -> Pass | Info:
        outcome = compare(ctx, "CUDA toolkit (nvcc)", lambda f: f.toolkit.nvcc_version or "none")
        if isinstance(outcome, Fail):
            return Info(outcome.message, outcome.evidence)
        return outcome  # type: ignore[return-value]


RULES = (
    SamePython, SameDriver, SameTorch, SameNccl, SameCudaLibraries, SameTrainingStack,
    SameGpuModels, SameGpuCount, SameArchitecture, SameEnvironment, SameToolkit,
)
