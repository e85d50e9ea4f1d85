"""`ftdoctor lock`: exact pins for a machine (this one, a saved snapshot, or one described), chosen from the
matrix and judged with the same rules as `check`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftdoctor.errors import ExitCode, UsageError

DESCRIPTION = """Choose exact versions of torch (and its CUDA variant), the HF training stack and the extras you ask
for, for a target machine, and write them as a pinned requirements file or PEP 751 pylock.toml. Every proposal
is judged with the rules `ftdoctor check` runs, on the environment it would create. Offline by default;
--resolve asks pip's resolver (network) to pin every dependency with its hash."""

EPILOG = """examples:
  ftdoctor lock --gpu H100 --driver 550.54.15 --python 3.11          print a lock for a described machine
  ftdoctor lock --gpu sm_89 --driver 535.104.05 --python 3.12 --with flash-attn,bitsandbytes --explain
  ftdoctor lock --cpu --python 3.12 -o requirements.txt
  ftdoctor lock --target auto --with deepspeed --json                 this machine, as data
  ftdoctor lock --facts box.json --torch 2.8 --prefer newest -o req.txt --force
  ftdoctor lock --gpu A100 --driver 535.104.05 --python 3.12 --resolve -o pylock.toml

exit codes:
  0  a lock was chosen (and written)
  2  nothing fits the target: the explanation says which constraint and what would help
  3  ftdoctor could not run (bad input, existing output without --force, no network for --resolve)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    target = parser.add_argument_group("target machine (one of)")
    target.add_argument("--target", choices=("auto",), help="auto: this machine, from its probed facts")
    target.add_argument("--facts", metavar="FILE", help="a snapshot saved with `ftdoctor check --save-facts`")
    target.add_argument("--gpu", metavar="NAME", help="a GPU model ('H100', 'RTX 4090') or compute capability ('sm_90')")
    target.add_argument("--cpu", action="store_true", help="a machine without an NVIDIA GPU")
    target.add_argument("--driver", metavar="VERSION", help="the NVIDIA driver of the described machine (535.104.05)")
    target.add_argument("--python", metavar="X.Y", help="the Python of the described machine")
    target.add_argument("--platform", metavar="TAG", help="wheel platform (default linux_x86_64)")
    target.add_argument("--glibc", metavar="X.Y", help="the described machine's glibc (default: assume new enough)")
    target.add_argument("--nvcc", metavar="X.Y", help="the CUDA toolkit extension builds would use (DeepSpeed, flash-attn)")
    choice = parser.add_argument_group("what to lock")
    choice.add_argument("--with", dest="extras", metavar="LIST", default="", help="extras: flash-attn,bitsandbytes,deepspeed")
    choice.add_argument("--torch", metavar="SPEC", help="a torch version or range: 2.8, 2.8.0, '>=2.6,<2.9'")
    choice.add_argument("--prefer", choices=("proven", "newest"), default="proven",
                        help="proven (default): confirmed, prebuilt, not the newest series; newest: the newest that fits")
    output = parser.add_argument_group("output")
    output.add_argument("-o", "--output", metavar="FILE",
                        help="write the lock here (pylock*.toml: PEP 751; *Dockerfile: a Dockerfile; else requirements)")
    output.add_argument("--format", choices=("requirements", "pylock", "dockerfile"),
                        help="the output format (default: from the -o name, else requirements)")
    output.add_argument("--force", action="store_true", help="replace an existing output file")
    output.add_argument("--explain", action="store_true", help="say why each pin was chosen and what was ruled out")
    output.add_argument("--json", action="store_true", help="print the chosen set as JSON")
    output.add_argument("--resolve", action="store_true", help="ask pip's resolver (network) for every dependency and its hash")
    output.add_argument("--pip-arg", action="append", default=[], metavar="ARG", help="pass ARG to pip when resolving (repeatable)")
    output.add_argument("--resolution", metavar="FILE", help="use a recorded resolution (JSON) instead of asking pip")
    output.add_argument("--record-resolution", metavar="FILE", help="store the resolution (JSON, no URLs) for offline regeneration")


def run(args: argparse.Namespace) -> int:
    from ftdoctor.lock import render
    from ftdoctor.lock.search import Request, lock
    from ftdoctor.lock.torch_choice import parse_pin
    from ftdoctor.matrix import load_matrix

    matrix = load_matrix()
    target, origin_flag = _target(args, matrix)
    request = Request(target, _extras(args.extras), parse_pin(args.torch), args.prefer)
    _check_output(args)
    result = lock(matrix, request)
    command = render.command_line(result, origin_flag)
    resolution = _resolution(args, result, matrix) if result.ok else None
    return _emit(args, result, command, resolution)


def _target(args: argparse.Namespace, matrix):
    from ftdoctor.lock import target

    sources = [name for name, given in (("--target auto", args.target), ("--facts", args.facts), ("--gpu/--cpu", args.gpu or args.cpu)) if given]
    if len(sources) > 1:
        raise UsageError(f"{' and '.join(sources)} name different targets", hint="give one target")
    if args.target == "auto" or args.facts:
        if args.driver or args.glibc:
            raise UsageError("--driver/--glibc describe a machine, but the target comes from facts", hint="drop them, or describe the target with --gpu/--cpu")
        facts, origin = _facts(args)
        found = target.from_facts(facts, matrix, origin)
        if args.python:
            found = _with_python(found, args.python)
        return found, "--target auto" if args.target else f"--facts {Path(args.facts).name}"
    if not (args.gpu or args.cpu):
        what = "--driver/--python describe a machine, but not its GPU" if args.driver or args.python else "no target machine"
        raise UsageError(what, hint="pass --target auto, --facts FILE, --gpu NAME --driver VERSION --python X.Y, or --cpu --python X.Y")
    found = target.described(matrix, gpu=args.gpu, driver=args.driver, python=args.python, platform=args.platform,
                             cpu=args.cpu, glibc=args.glibc, nvcc=args.nvcc)
    return found, _described_flags(found, args)


def _with_python(found, python: str):
    from dataclasses import replace

    from ftdoctor.lock.target import _python

    return replace(found, python=_python(python))


def _described_flags(found, args: argparse.Namespace) -> str:
    flags = ["--cpu"] if found.cpu else [f"--gpu '{args.gpu}'", f"--driver {found.driver}"]
    flags.append(f"--python {found.python}")
    for name, value in (("--platform", args.platform), ("--glibc", args.glibc), ("--nvcc", args.nvcc)):
        if value:
            flags.append(f"{name} {value}")
    return " ".join(flags)


def _facts(args: argparse.Namespace):
    if args.facts:
        from ftdoctor.facts import serialize

        return serialize.load(args.facts), f"facts {args.facts}"
    from ftdoctor.probes.gather import GatherOptions, gather
    from ftdoctor.probes.host import Host

    return gather(Host.from_environment(), GatherOptions(torch=False)), "this machine"


def _extras(text: str) -> tuple[str, ...]:
    from ftdoctor.lock.extras import EXTRAS

    chosen = []
    for raw in filter(None, (part.strip().lower().replace("_", "-") for part in text.split(","))):
        name = {"flash-attention": "flash-attn", "bnb": "bitsandbytes", "ds": "deepspeed"}.get(raw, raw)
        if name not in EXTRAS:
            raise UsageError(f"unknown extra {raw!r}", where="--with", hint=f"choose from {', '.join(EXTRAS)}")
        if name not in chosen:
            chosen.append(name)
    return tuple(sorted(chosen, key=EXTRAS.index))


def _check_output(args: argparse.Namespace) -> None:
    if args.output and Path(args.output).exists() and not args.force:
        raise UsageError("file exists, refusing to overwrite it", where=args.output, hint="pass --force to replace it")
    if _format(args) == "pylock" and not (args.resolve or args.resolution):
        raise UsageError("pylock.toml lists every file with its hash, which needs a resolution", where=args.output or "--format",
                         hint="add --resolve (asks pip's resolver over the network), or write a requirements file")
    if args.resolve and args.resolution:
        raise UsageError("--resolve and --resolution both say where the resolution comes from", hint="give one")
    if _format(args) == "pylock" and args.resolution:
        raise UsageError("a recorded resolution keeps no file URLs, which pylock.toml needs", where=args.output,
                         hint="use --resolve, or write a requirements file from the recorded resolution")


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    name = Path(args.output).name if args.output else ""
    if name.startswith("pylock.") and name.endswith(".toml"):
        return "pylock"
    return "dockerfile" if name.endswith("Dockerfile") else "requirements"


def _resolution(args: argparse.Namespace, result, matrix):
    from ftdoctor.lock import resolution as res

    if args.resolution:
        recorded = res.load(Path(args.resolution))
        if not res.matches(recorded, result.proposal, matrix):
            raise UsageError("the recorded resolution was made for other pins", where=args.resolution,
                             hint="record it again with --resolve --record-resolution FILE (needs the network)")
        return recorded
    if not args.resolve:
        return None
    from ftdoctor.lock.resolve import resolve

    found = resolve(result, matrix, args.pip_arg)
    if args.record_resolution:
        from ftdoctor import atomic

        atomic.write_text(args.record_resolution, found.stored(), overwrite=True)
    return found


def _emit(args: argparse.Namespace, result, command: str, resolution) -> int:
    from ftdoctor.lock import render

    code = ExitCode.OK if result.ok else ExitCode.ERRORS
    if result.ok and args.output:
        _write(args, result, command, resolution)
    if args.json:
        from ftdoctor.report.envelope import envelope

        sys.stdout.write(envelope("lock", code, render.as_data(result, command, resolution)) + "\n")
    elif args.explain or not result.ok:
        sys.stdout.write(render.explain(result))
    elif not args.output:
        sys.stdout.write(_text(args, result, command, resolution))
    if result.ok and args.output:
        print(f"ftdoctor: lock for {result.request.target.describe()} written to {args.output}", file=sys.stderr)
    elif not result.ok:
        print("ftdoctor: nothing fits this target (see above); no lock written", file=sys.stderr)
    return code


def _write(args: argparse.Namespace, result, command: str, resolution) -> None:
    from ftdoctor import atomic

    atomic.write_text(args.output, _text(args, result, command, resolution), overwrite=args.force)


def _text(args: argparse.Namespace, result, command: str, resolution) -> str:
    from ftdoctor.lock import render
    from ftdoctor.matrix import load_matrix

    match _format(args):
        case "pylock":
            return render.pylock(result, resolution, command)
        case "dockerfile":
            return render.dockerfile(result, command, resolution, load_matrix())
        case _:
            return render.requirements(result, command, resolution)
