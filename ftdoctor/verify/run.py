"""Run smoke tests concurrently, each in its own subprocess of the diagnosed interpreter, and make facts of
how they ended.

`start` launches every child at once (so `ftdoctor check --verify` can gather the other facts while they
run), `finish` waits for all of them, announcing slow ones, then kills anything they left behind.
`run_smokes` does both for a chosen subset and judges the result: the entry point of the trainer's gate.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TextIO

from ftdoctor.facts.model import Facts, Status, VerifyFacts
from ftdoctor.findings import Finding
from ftdoctor.probes import isolated
from ftdoctor.probes.host import Host
from ftdoctor.verify import catalog, outcome, strays
from ftdoctor.verify.catalog import Smoke, SmokeOptions

GIB = 2**30
POLL_S = 0.5
GRACE_S = 3.0  # after a child's bound, before what it left outside its process group is killed
DEVICE_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd")


@dataclass(frozen=True)
class Started:
    smoke: Smoke
    done: Future[isolated.ChildResult]  # waited on from the start, so that each child's time is its own
    bound_s: float
    token: str  # in this child's environment, inherited by all it starts: finds what it leaves behind


@dataclass(frozen=True)
class Batch:
    started: tuple[Started, ...]
    memory_limit: int | None
    began: float
    pool: ThreadPoolExecutor


@dataclass(frozen=True)
class VerifyOutcome:
    facts: Facts  # with `verify` filled in
    findings: list[Finding]  # the verdicts of the rule families the chosen smokes feed


def start(host: Host, smokes: Iterable[Smoke], options: SmokeOptions = SmokeOptions()) -> Batch:
    smokes = list(smokes)
    limit = memory_limit(host)
    env = {**host.env, "PYTHONFAULTHANDLER": "1", "PYTHONUNBUFFERED": "1"}
    pool = ThreadPoolExecutor(max_workers=max(1, len(smokes)), thread_name_prefix="smoke")
    started = []
    for smoke in smokes:
        token = strays.new_token()
        running = isolated.start(smoke.argv(host.python, options), env={**env, strays.MARKER: token},
                                 timeout_s=smoke.bound(options), memory_limit_bytes=limit)
        started.append(Started(smoke, pool.submit(running.result), smoke.bound(options), token))
    return Batch(tuple(started), limit, time.monotonic(), pool)


def finish(batch: Batch, *, notices: TextIO | None = None, every_s: float = 10.0) -> VerifyFacts:
    """Wait for every child; print "still running" to `notices` every `every_s` seconds while some are.

    A child past its bound has had its process group killed; if its result still does not come, a process
    that left the group holds its output pipes open: everything carrying its token is killed, which ends it.
    """
    try:
        _wait_all(batch, notices, every_s)
    except BaseException:  # Ctrl-C, or a bug: the children live in their own sessions, so end them here
        abandon(batch)
        raise
    batch.pool.shutdown()
    for item in batch.started:
        strays.end(item.token)
    smokes = tuple(
        outcome.smoke_result(item.smoke.name, item.done.result(), bound_s=item.bound_s, memory_limit=batch.memory_limit)
        for item in batch.started
    )
    return VerifyFacts(status=Status.OK, reason="", smokes=smokes, elapsed_s=round(time.monotonic() - batch.began, 3))


def abandon(batch: Batch) -> None:
    """Kill every child of the batch and all they started; for when the caller will not wait for results."""
    for item in batch.started:
        strays.end(item.token)
    batch.pool.shutdown()


def _wait_all(batch: Batch, notices: TextIO | None, every_s: float) -> None:
    pending = {item.done: item for item in batch.started}
    next_notice = batch.began + every_s
    while pending:
        wait(pending, timeout=POLL_S)
        now = time.monotonic()
        pending = {f: item for f, item in pending.items() if not f.done()}
        for item in pending.values():
            if now > batch.began + item.bound_s + GRACE_S:
                strays.end(item.token)
        if pending and notices is not None and now >= next_notice:
            _announce(notices, sorted(item.smoke.name for item in pending.values()), batch.began)
            next_notice = now + every_s


def _announce(stream: TextIO, running: list[str], began: float) -> None:
    names = ", ".join(running)
    stream.write(f"ftdoctor: still running after {time.monotonic() - began:.0f} s: {names}\n")
    stream.flush()


def gathered_beside(batch: Batch, gather: Callable[[], Facts]) -> Facts:
    """Gather facts while the batch runs; if gathering fails, the batch's children do not outlive it."""
    try:
        return gather()
    except BaseException:
        abandon(batch)
        raise


def memory_limit(host: Host) -> int | None:
    """An address-space limit for the children: half the memory, 4 to 32 GiB; none where a GPU driver is
    present, because CUDA and ROCm reserve far more address space than they use."""
    if any(host.path(node).exists() for node in DEVICE_NODES):
        return None
    import re

    found = re.search(r"^MemTotal:\s+(\d+) kB", host.read_text("/proc/meminfo") or "", re.M)
    total = int(found.group(1)) * 1024 if found else 8 * GIB
    return min(32 * GIB, max(4 * GIB, total // 2))


def run_smokes(
    host: Host,
    names: Iterable[str] | None = None,
    *,
    world_size: int = 2,
    facts: Facts | None = None,
    options: SmokeOptions | None = None,
    notices: TextIO | None = None,
) -> VerifyOutcome:
    """Run exactly the named smoke tests (all default ones when `names` is None) and judge them.

    `facts`: the machine's facts when the caller has them; otherwise they are gathered while the smokes run.
    The findings are those of the rule families the chosen smokes feed (static ones such as /dev/shm too).
    """
    from ftdoctor.matrix import load_matrix
    from ftdoctor.rules.base import Context
    from ftdoctor.rules.engine import judge
    from ftdoctor.rules.smoke import rules_for_smokes

    options = replace(options or SmokeOptions(), world_size=world_size)
    smokes = catalog.select(names)
    batch = start(host, smokes, options)
    if facts is None:
        from ftdoctor.probes.gather import gather

        facts = gathered_beside(batch, lambda: gather(host))
    facts = replace(facts, verify=finish(batch, notices=notices, every_s=options.notice_every_s))
    rules = rules_for_smokes([s.name for s in smokes])
    return VerifyOutcome(facts=facts, findings=judge(rules, Context(facts=facts, matrix=load_matrix())))
