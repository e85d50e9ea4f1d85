"""Shared helpers of the preflight tests: a fixed described target (so results do not depend on this machine),
running the preflight, and picking findings. Fixtures are in conftest.py beside this file."""

from __future__ import annotations

from ftdoctor.facts.model import Distribution, DriverFacts, Facts, Gpu, PythonEnvFacts, Status, TorchFacts
from ftdoctor.findings import Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.rules.base import Context
from ftdoctor.trainer.target import Target, TargetGpu, GIB

STACK = {"torch": "2.13.0", "transformers": "5.23.0", "trl": "1.16.0", "peft": "0.21.2", "accelerate": "1.15.0",
         "datasets": "5.2.0", "bitsandbytes": "0.50.2", "deepspeed": "0.19.8"}


def gpu_target(name="H100", cc="9.0", gib=80, count=1, packages=None, **kw) -> Target:
    return Target(source="described", gpus=(TargetGpu(name, cc, gib * GIB),) * count,
                  packages=dict(STACK if packages is None else packages), system_memory_bytes=512 * GIB, **kw)


def cpu_target(packages=None) -> Target:
    return Target(source="described", packages=dict(STACK if packages is None else packages),
                  system_memory_bytes=24 * GIB)


def facts_machine(gpus: int, nccl: str | None, torch_cuda: str | None = "12.8",
                  name: str = "NVIDIA H100 80GB HBM3", memory_mib: int = 81559) -> Facts:
    """A saved snapshot of a machine with `gpus` GPUs and the STACK installed."""
    devices = tuple(Gpu(index=i, name=name, source="nvml", compute_capability="9.0", memory_total_mib=memory_mib)
                    for i in range(gpus))
    packages = tuple(Distribution(name=k, version=v) for k, v in STACK.items())
    return Facts(driver=DriverFacts(gpus=devices),
                 python=PythonEnvFacts(status=Status.OK, distributions=packages),
                 torch=TorchFacts(status=Status.OK, source="subprocess", version="2.8.0+cu128", cuda=torch_cuda,
                                  nccl=nccl))


def run_preflight(path, target=None, facts=None):
    from ftdoctor.trainer.preflight import judge_preflight, prepare

    pre = prepare(path, target or gpu_target())
    return pre, judge_preflight(pre, Context(facts=facts or Facts(), matrix=load_matrix()))


def problems(findings, *severities):
    wanted = severities or (Severity.ERROR, Severity.WARNING)
    return [f for f in findings if f.severity in wanted]


def codes(findings, *severities) -> set[str]:
    return {f.code for f in problems(findings, *severities)}


def one(findings, code):
    hits = [f for f in findings if f.code == code and f.severity not in (Severity.OK, Severity.SKIPPED)]
    assert len(hits) == 1, f"{code}: {[(f.severity, f.message) for f in findings if f.code == code]}"
    return hits[0]


BASE = """
base_model: ./model
datasets:
  - path: data/chat.jsonl
    type: chat_template
sequence_len: 128
micro_batch_size: 2
gradient_accumulation_steps: 2
learning_rate: 0.0002
"""
