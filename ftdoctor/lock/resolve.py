"""--resolve: complete a lock with every dependency and its hash, from pip's resolver and the package index."""

from __future__ import annotations

import sys

from ftdoctor.errors import NetworkError
from ftdoctor.lock import resolution as res
from ftdoctor.lock.search import LockResult


def resolve(result: LockResult, matrix, pip_args: list[str], python: str = sys.executable) -> res.Resolution:
    proposal, target = result.proposal, result.request.target
    lines = res.resolvable_lines(proposal, matrix)
    indexes = sorted({p.index for p in proposal.pins if p.index})
    report = res.ask_pip(lines, target, indexes, pip_args, python)
    deepspeed = proposal.pin("deepspeed")
    sdist = _deepspeed_sdist(deepspeed.version) if deepspeed else None
    return res.from_report(report, lines, sdist, {p.name for p in proposal.pins})


def _deepspeed_sdist(version: str) -> res.ResolvedFile:
    """DeepSpeed has only an sdist for Linux, which pip cannot resolve for another platform without building it:
    its hash comes from the index's file list, its dependencies were resolved in its place."""
    from ftdoctor.index.client import LiveIndex
    from ftdoctor.index.config import from_pip

    files = [f for f in LiveIndex(from_pip()).files("deepspeed", version) if not f.is_wheel]
    if not files or not files[0].sha256:
        raise NetworkError(f"the package index lists no sdist with a hash for deepspeed {version}")
    return res.ResolvedFile("deepspeed", version, files[0].filename, files[0].sha256, True, files[0].url)
