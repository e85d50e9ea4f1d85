"""The lockfiles of the tested targets (lockfiles/targets.toml): regenerate them, check them for drift.

    python -m ftdoctor.lock.lockfiles [DIR] [--refresh] [--check] [--pip-arg ARG]...

Offline (the default), each NAME.txt is rebuilt from the matrix and the recorded NAME.resolution.json; a
resolution made for other pins is not used (the lockfile then holds the direct pins only, and --check says
to refresh). --refresh asks pip's resolver again (network) and records the new resolutions.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ftdoctor import atomic
from ftdoctor.errors import FtdoctorError, InputFileError
from ftdoctor.lock import render
from ftdoctor.lock import resolution as res
from ftdoctor.lock.search import LockResult, Request, lock
from ftdoctor.lock.target import described
from ftdoctor.typed_data import DataError, from_plain

SCHEMA = "ftdoctor-lock-targets/1"


@dataclass(frozen=True)
class LockTarget:
    name: str
    python: str
    note: str
    gpu: str = ""
    driver: str = ""
    cpu: bool = False
    glibc: str = ""
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Targets:
    schema: str
    targets: tuple[LockTarget, ...]


@dataclass(frozen=True)
class Outcome:
    name: str
    path: Path
    text: str
    resolved: bool  # hashed from a resolution matching these pins
    stale_resolution: bool  # a recorded resolution exists but was made for other pins
    problem: str = ""  # why --refresh could not resolve it


def load_targets(folder: Path) -> Targets:
    path = folder / "targets.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        if data.get("schema") != SCHEMA:
            raise DataError("schema", f"expected {SCHEMA!r}")
        return from_plain(Targets, data)
    except (OSError, tomllib.TOMLDecodeError, DataError) as exc:
        raise InputFileError(f"cannot read the tested targets ({exc})", where=str(path)) from None


def lock_target(matrix, tested: LockTarget) -> tuple[LockResult, str]:
    target = described(matrix, gpu=tested.gpu or None, driver=tested.driver or None, python=tested.python, platform=None,
                       cpu=tested.cpu, glibc=tested.glibc or None)
    result = lock(matrix, Request(target, tested.extras, None, "proven"))
    if not result.ok:
        raise FtdoctorError(f"nothing fits the tested target {tested.name}", hint="; ".join(result.suggestions))
    flags = "--cpu" if tested.cpu else f"--gpu '{tested.gpu}' --driver {tested.driver}"
    flags += f" --python {tested.python}" + (f" --glibc {tested.glibc}" if tested.glibc else "")
    return result, render.command_line(result, flags)


def regenerate(matrix, folder: Path, refresh: bool = False, pip_args: tuple[str, ...] = ()) -> list[Outcome]:
    outcomes = []
    for tested in load_targets(folder).targets:
        result, command = lock_target(matrix, tested)
        recorded = folder / f"{tested.name}.resolution.json"
        problem = ""
        if refresh:
            problem = _refresh(matrix, result, recorded, pip_args)
        resolution, stale = _resolution(matrix, result, recorded)
        text = render.requirements(result, command + f" -o lockfiles/{tested.name}.txt", resolution)
        outcomes.append(Outcome(tested.name, folder / f"{tested.name}.txt", text, resolution is not None, stale, problem))
    return outcomes


def _refresh(matrix, result: LockResult, recorded: Path, pip_args: tuple[str, ...]) -> str:
    """Ask pip again; a target it cannot resolve keeps its recorded resolution (if any) and says why."""
    from ftdoctor.errors import NetworkError
    from ftdoctor.lock.resolve import resolve

    try:
        found = resolve(result, matrix, list(pip_args))
    except NetworkError as exc:
        return exc.one_line()
    atomic.write_text(recorded, found.stored(), overwrite=True)
    return ""


def _resolution(matrix, result: LockResult, recorded: Path):
    if not recorded.exists():
        return None, False
    found = res.load(recorded)
    if res.matches(found, result.proposal, matrix):
        return found, False
    return None, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ftdoctor.lock.lockfiles", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", nargs="?", default="lockfiles")
    parser.add_argument("--refresh", action="store_true", help="ask pip's resolver again (network)")
    parser.add_argument("--check", action="store_true", help="report drift instead of writing")
    parser.add_argument("--pip-arg", action="append", default=[], help="an argument for pip when refreshing")
    args = parser.parse_args(argv)
    from ftdoctor.matrix import load_matrix

    try:
        outcomes = regenerate(load_matrix(), Path(args.folder), args.refresh, tuple(args.pip_arg))
    except FtdoctorError as exc:
        print(f"lockfiles: error: {exc.one_line()}", file=sys.stderr)
        return 3
    return _check(outcomes) if args.check else _write(outcomes)


def _check(outcomes: list[Outcome]) -> int:
    drifted = [o for o in outcomes if not o.path.exists() or o.path.read_text(encoding="utf-8") != o.text]
    for o in drifted:
        why = "its recorded resolution was made for other pins" if o.stale_resolution else "it differs from what the matrix gives"
        print(f"lockfiles: {o.path} is stale: {why}; run scripts/lockfiles" + (" --refresh" if o.stale_resolution else ""))
    return 1 if drifted else 0


def _write(outcomes: list[Outcome]) -> int:
    for o in outcomes:
        atomic.write_text(o.path, o.text, overwrite=True)
        state = "hashed" if o.resolved else ("direct pins only: resolution stale, run with --refresh" if o.stale_resolution else "direct pins only")
        print(f"lockfiles: wrote {o.path} ({state})" + (f"; not resolved: {o.problem}" if o.problem else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
