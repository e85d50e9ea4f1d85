"""Which machine a preflight judges, from the command line: `--facts FILE`, `--gpu NAME [--gpus N]`,
`--cpu`, or (none of them) this machine, probed live."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

from ftdoctor.errors import UsageError
from ftdoctor.facts.model import Facts
from ftdoctor.trainer.target import Target, cpu_only, described, first_gpus, from_facts


@dataclass(frozen=True)
class Machine:
    target: Target
    facts: Facts  # what machine rules and `Context.pip` read (empty for a described machine)
    origin: str  # one line for the header


def add_machine_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("which machine to judge for (default: this one)")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--facts", metavar="FILE", help="a snapshot saved with `ftdoctor check --save-facts`")
    choice.add_argument("--gpu", metavar="NAME", help='a described machine with this GPU, e.g. "RTX 4090", "A100 80GB"')
    choice.add_argument("--cpu", action="store_true", help="a described machine without a GPU")
    group.add_argument("--gpus", type=int, metavar="N", help="how many GPUs: with --gpu, of that model (default 1); "
                       "otherwise the first N of the machine's or snapshot's GPUs")
    group.add_argument("--gpu-memory", type=float, metavar="GIB", help="with --gpu: override the memory per GPU")
    group.add_argument("--no-torch", action="store_true", help="this machine: do not import torch to probe it")


def resolve_machine(args: argparse.Namespace, matrix) -> Machine:
    _refuse_stray_options(args)
    if args.facts:
        from ftdoctor.facts import serialize

        facts = serialize.load(args.facts)
        target = from_facts(facts, f"facts {args.facts}")
        if args.gpus is not None:
            target = first_gpus(target, args.gpus, matrix, f"the snapshot {args.facts}")
        return Machine(target, facts, f"for the snapshot {args.facts}")
    if args.gpu or args.cpu:
        packages, python = installed_packages(), Facts()
        memory = _system_memory()
        target = cpu_only(packages, memory) if args.cpu else described(
            args.gpu, 1 if args.gpus is None else args.gpus, matrix, packages, memory_gib=args.gpu_memory,
            system_memory_bytes=memory)
        return Machine(target, python, f"for a described machine: {target.describe()}")
    facts = _gather(args)
    target = from_facts(facts, "live")
    if args.gpus is not None:
        target = first_gpus(target, args.gpus, matrix, "this machine")
    return Machine(target, facts, "for this machine")


def _refuse_stray_options(args: argparse.Namespace) -> None:
    """Options that would otherwise be dropped without a word (the very failure ftdoctor exists to catch)."""
    if args.cpu and args.gpus is not None:
        raise UsageError("--gpus counts GPUs, --cpu describes a machine without one", where="--gpus",
                         hint="drop one of them")
    if args.gpu_memory is not None and not args.gpu:
        raise UsageError("--gpu-memory sets the memory of a described GPU", where="--gpu-memory",
                         hint='add --gpu NAME (e.g. --gpu "A100" --gpu-memory 80)')


def installed_packages() -> dict[str, str]:
    """This interpreter's distributions, from metadata (no import of any of them)."""
    from importlib import metadata

    from ftdoctor.facts.model import normalize_name

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata.get("Name")
        if name:
            found.setdefault(normalize_name(name), dist.version)
    return found


def _system_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _gather(args: argparse.Namespace) -> Facts:
    from ftdoctor.probes.gather import GatherOptions, gather
    from ftdoctor.probes.host import Host

    return gather(Host.from_environment(python=sys.executable), GatherOptions(torch=not args.no_torch))
