"""Shared helpers of the training tests: facts and targets that do not depend on this machine, configs, and a
job built the way `ftdoctor train` builds one. Fixtures are in conftest.py beside this file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ftdoctor.facts.model import (Distribution, Facts, Gpu, PythonEnvFacts, Status, TorchFacts)
from ftdoctor.trainer.target import Target

STACK = {"torch": "2.13.0", "transformers": "5.23.0", "trl": "1.16.0", "peft": "0.21.2", "accelerate": "1.15.0",
         "datasets": "5.2.0", "bitsandbytes": "0.50.2", "deepspeed": "0.19.8"}

SFT = """
base_model: ./model
datasets:
  - path: data/chat.jsonl
    type: chat_template
adapter: lora
lora_r: 16
lora_alpha: 32
lora_target_linear: true
lora_modules_to_save: [embed_tokens, lm_head]
sequence_len: 128
micro_batch_size: 8
gradient_accumulation_steps: 1
learning_rate: 0.005
lr_scheduler: constant
max_steps: 40
logging_steps: 1
seed: 0
output_dir: ./out
"""

PAIRS = """
base_model: ./model
datasets:
  - path: data/pairs.jsonl
    type: chat_template.default
rl: dpo
rl_beta: 0.1
adapter: lora
lora_r: 8
lora_alpha: 16
lora_target_linear: true
sequence_len: 128
micro_batch_size: 4
gradient_accumulation_steps: 1
learning_rate: 0.001
lr_scheduler: constant
max_steps: 12
logging_steps: 1
seed: 0
output_dir: ./out
"""


def cpu_facts(packages: dict[str, str] | None = None, python: str = "/venv/bin/python") -> Facts:
    """A CPU-only machine whose torch was probed in a subprocess (as `ftdoctor check` records it)."""
    dists = tuple(Distribution(n, v) for n, v in (STACK if packages is None else packages).items())
    return Facts(python=PythonEnvFacts(status=Status.OK, executable=python, version="3.11.7", distributions=dists),
                 torch=TorchFacts(status=Status.OK, source="subprocess", version="2.13.0+cpu", cuda=None,
                                  cuda_available=False, device_count=0))


def gpu_facts(count: int = 2, cc: str = "9.0", name: str = "NVIDIA H100 80GB HBM3", nccl: str | None = "2.27.5",
              packages: dict[str, str] | None = None) -> Facts:
    devices = tuple(Gpu(index=i, name=name, source="torch", compute_capability=cc, memory_total_mib=81559)
                    for i in range(count))
    base = cpu_facts(packages)
    return replace(base, torch=TorchFacts(status=Status.OK, source="subprocess", version="2.13.0+cu130", cuda="13.0",
                                          cuda_available=count > 0, device_count=count, devices=devices, nccl=nccl))


def cpu_target() -> Target:
    return Target(source="live", packages=dict(STACK), system_memory_bytes=24 << 30)


def _set_key(text: str, key: str, value: object) -> str:
    lines = [ln for ln in text.splitlines() if not ln.startswith(f"{key}:")]
    if value is not None:
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def make_job(config: Path, *, processes: int = 1, output_dir: Path | None = None, resume_from: str | None = None):
    """The Job the launcher would write for this config on a CPU machine."""
    from ftdoctor.trainer.launch.guarded import data_sources
    from ftdoctor.trainer.launch.plan import launch_plan
    from ftdoctor.trainer.preflight import prepare
    from ftdoctor.trainer.recipe.job import Job

    pre = prepare(config, cpu_target())
    plan = launch_plan(pre.plan, cpu_facts(), processes)
    data, _ = data_sources(pre)
    out = output_dir or (config.parent / (pre.config.output_dir or "out")).resolve()
    (out / "run").mkdir(parents=True, exist_ok=True)
    return Job(config_path=str(config.resolve()), output_dir=str(out), model_path=str(pre.model.located.path),
               tokenizer_path=str(pre.model.located.path), data=data, method=pre.plan.method, device="cpu",
               processes=plan.processes, distributed=plan.distributed,
               deepspeed=dict(pre.plan.sharding.settings) or None, resume_from=resume_from)


def losses(history: list[dict]) -> list[float]:
    return [h["loss"] for h in history if "loss" in h]
