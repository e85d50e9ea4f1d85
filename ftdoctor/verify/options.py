"""The `--verify` options of `ftdoctor check`, and what they ask for."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ftdoctor.verify.catalog import NAMES, SmokeOptions, Smoke, select


@dataclass(frozen=True)
class VerifyPlan:
    smokes: tuple[Smoke, ...]
    options: SmokeOptions


def add_verify_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("verify (run smoke tests, each in its own bounded subprocess)")
    group.add_argument("--verify", action="store_true",
                       help="also prove that torch, bitsandbytes, flash-attn, distributed, DeepSpeed and Triton work here")
    group.add_argument("--verify-only", metavar="NAMES", help=f"run only these smoke tests (comma-separated: {', '.join(NAMES)})")
    group.add_argument("--verify-deepspeed-ops", nargs="?", const="", metavar="OPS",
                       help="also build and load DeepSpeed ops (slow; default: the optimizer ops ZeRO needs here)")
    group.add_argument("--verify-timeout", type=float, metavar="SECONDS", help="one bound for every smoke test (default: each its own)")


def verify_plan(args: argparse.Namespace) -> VerifyPlan | None:
    """What --verify and its companions ask for; None when no smoke test was asked for."""
    only = [n.strip() for n in (args.verify_only or "").split(",") if n.strip()]
    ops = args.verify_deepspeed_ops
    if not (args.verify or only or ops is not None):
        return None
    opt_in = ["deepspeed-ops"] if ops is not None else []
    smokes = select(only + opt_in if only else None, opt_in=opt_in)
    options = SmokeOptions(timeout_s=args.verify_timeout,
                           deepspeed_ops=tuple(o.strip() for o in (ops or "").split(",") if o.strip()))
    return VerifyPlan(tuple(smokes), options)
