"""NET1xx: multi-process training on this machine. The all-reduce smoke test (NCCL with GPUs, gloo
otherwise), the rendezvous port, and consumer GPUs whose P2P/IB paths NCCL must not use."""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from ftdoctor.facts.model import SmokeResult, SmokeStatus
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.smoke import broken, evidence, explained, fetch

FAMILY = "distributed"
SMOKE = "distributed"
NCCL_DEBUG_FIX = Fix("rerun with NCCL's own log to see which transport fails", ("NCCL_DEBUG=INFO ftdoctor check --verify",))


def _ran(ctx: Context) -> SmokeResult | NotApplicable:
    """The all-reduce result; NotApplicable when it could not start because the port was taken (NET104)."""
    result = fetch(ctx, SMOKE)
    if isinstance(result, SmokeResult) and result.details.get("port_in_use"):
        return NotApplicable(f"not run: the rendezvous port {result.details.get('port')} is in use (NET104)")
    return result


class AllReduce(Rule):
    """Local processes join a process group and all-reduce the right sum."""

    code = "NET100"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = _ran(ctx)
        if isinstance(result, NotApplicable):
            return result
        if failed := broken(ctx, result, "the all-reduce smoke test"):
            return failed
        backend = result.details.get("backend") or "?"
        if result.status == SmokeStatus.OK:
            return Pass(result.reason, evidence(result, backend=backend))
        tails = "\n".join(r.get("stderr_tail", "") for r in result.details.get("ranks", []))
        cause = explained(ctx, result.reason + "\n" + tails)
        extra = (NCCL_DEBUG_FIX,) if backend == "nccl" else ()
        return Fail(f"the {backend} all-reduce failed: {result.reason}{cause.suffix}",
                    evidence(result, backend=backend, ranks=result.details.get("ranks", []), **cause.evidence),
                    fixes=cause.fixes + extra)


class NcclWorks(Rule):
    """NCCL works between the local GPUs."""

    code = "NET101"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = _ran(ctx)
        if isinstance(result, NotApplicable):
            return result
        skipped = result.details.get("nccl_skipped")
        if skipped:
            return NotApplicable(f"{skipped}: NCCL was not tried (the all-reduce used {result.details.get('backend')})")
        if result.details.get("backend") != "nccl":
            return NotApplicable("the all-reduce smoke test did not get as far as choosing a backend (NET100)")
        if result.status == SmokeStatus.OK:
            return Pass(f"NCCL all-reduce across {result.details.get('world_size')} GPUs is right", evidence(result))
        return Fail(f"NCCL between local GPUs fails: {result.reason}", evidence(result), fixes=(NCCL_DEBUG_FIX,))


class PortFree(Rule):
    """The rendezvous port can be bound: MASTER_PORT, else the launchers' default 29500.

    torchrun, accelerate and the deepspeed launcher rendezvous on 29500 unless told otherwise; a run that did
    not exit still holding it is the usual 'Address already in use'.
    """

    code = "NET104"
    family = FAMILY
    smoke = SMOKE
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        result = fetch(ctx, SMOKE)
        if isinstance(result, NotApplicable):
            return result
        port, source = result.details.get("port"), result.details.get("port_source")
        if port is None:
            return NotApplicable("the all-reduce smoke test ended before choosing a port (NET100)")
        if not result.details.get("port_in_use"):
            return _launcher_port(result, port, source)
        return Fail(f"{result.reason}: a training run rendezvousing there fails with 'Address already in use'",
                    evidence(result, port=port, port_source=source),
                    fixes=(Fix("find what holds the port, or choose another", (f"ss -ltnp 'sport = :{port}'", "export MASTER_PORT=29501")),))


def _launcher_port(result: SmokeResult, port: int, source: str) -> Pass | Fail:
    """The smoke's own port was free; without MASTER_PORT a real run uses the launchers' default instead."""
    default = result.details.get("launcher_port")
    if source == "MASTER_PORT" or default is None:  # a snapshot from before the default was checked
        return Pass(f"port {port} ({source}) was free", evidence(result, port=port))
    busy = result.details.get("launcher_port_busy")
    if not busy:
        return Pass(f"MASTER_PORT is not set and port {default}, the launchers' default, is free "
                    f"(the smoke test rendezvoused on port {port})", evidence(result, port=port, launcher_port=default))
    return Fail(f"MASTER_PORT is not set and port {default}, the default of torchrun, accelerate and the deepspeed "
                f"launcher, cannot be bound ({busy}): a run launched without a port of its own fails there "
                "(the smoke test's all-reduce used a free port)",
                evidence(result, port=port, launcher_port=default, launcher_port_busy=busy),
                fixes=(Fix(f"find what holds port {default} (often a training run that did not exit), or launch on another port: "
                           "torchrun --master-port, accelerate launch --main_process_port, deepspeed --master_port",
                           (f"ss -ltnp 'sport = :{default}'",)),),
                severity=Severity.WARNING)


class ConsumerGpuP2p(Rule):
    """Consumer GPUs whose peer-to-peer or InfiniBand paths break NCCL have them switched off."""

    code = "NET103"
    family = FAMILY
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        gpus = ctx.facts.driver.gpus
        if len(gpus) < 2:
            return NotApplicable(f"{len(gpus)} NVIDIA GPU(s): NCCL peer-to-peer needs two or more")
        for rule in ctx.matrix.distributed.p2p:
            affected = [g.name for g in gpus if re.search(rule.gpu_name, g.name, re.IGNORECASE)]
            if len(affected) >= rule.min_gpus:
                return _judge_p2p(ctx, rule, affected)
        return Pass(f"no GPU among {', '.join(sorted({g.name for g in gpus}))} needs P2P/IB switched off")


def _judge_p2p(ctx: Context, rule, affected: list[str]) -> Pass | Fail | Unknown:
    driver = ctx.facts.driver.driver_version.value
    if rule.driver_below is not None:
        if driver is None:
            return Unknown(f"{len(affected)} x {affected[0]}: whether NCCL needs P2P/IB off depends on the driver, which is unknown")
        try:
            if Version(driver) >= Version(rule.driver_below):
                return Pass(f"{len(affected)} x {affected[0]} on driver {driver} (>= {rule.driver_below}): P2P and IB are supported")
        except InvalidVersion:
            return Unknown(f"driver version {driver!r} cannot be compared with {rule.driver_below}")
    missing = {k: v for k, v in rule.env.items() if ctx.facts.env.get(k) != v}
    if not missing:
        return Pass(f"{', '.join(f'{k}={v}' for k, v in rule.env.items())} set for {len(affected)} x {affected[0]}")
    settings = " ".join(f"{k}={v}" for k, v in missing.items())
    on_driver = f" on driver {driver} (< {rule.driver_below})" if rule.driver_below else ""
    return Fail(f"{len(affected)} x {affected[0]}{on_driver}: NCCL's P2P/IB paths hang or return wrong results; {settings} "
                "is not set", {"gpus": affected, "driver": driver, "missing": missing, "source": rule.source},
                fixes=(Fix("switch them off for every training run", (f"export {settings}",)),)
                + ((Fix(f"or upgrade the NVIDIA driver to {rule.driver_below} or newer"),) if rule.driver_below else ()))


RULES = (AllReduce, NcclWorks, ConsumerGpuP2p, PortFree)  # /dev/shm is judged once, by SYS503
