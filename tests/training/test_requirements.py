"""What a config needs is derived from the config and the launch alone: each case below names exactly the
checks the gate must run (and the smoke test of verified loading that proves each)."""

from __future__ import annotations

import pytest

from ftdoctor.trainer.gate.requirements import deepspeed_ops, derive
from ftdoctor.trainer.launch.plan import LaunchPlan, launch_plan
from ftdoctor.trainer.preflight import prepare
from training_helpers import SFT, cpu_facts, cpu_target, gpu_facts


def needs(project, text=SFT, facts=None, processes=None, **changes):
    pre = prepare(project(text, **changes), cpu_target())
    plan = launch_plan(pre.plan, facts or cpu_facts(), processes)
    return {r.name: r for r in derive(pre.config, pre.plan, plan)}, plan


def test_a_plain_lora_run_on_the_cpu_needs_torch_only(project):
    found, plan = needs(project)
    assert list(found) == ["torch"] and found["torch"].smoke == "torch"
    assert (plan.device, plan.processes, plan.distributed, plan.launcher) == ("cpu", 1, "none", "python")


def test_flash_attention_needs_cuda_and_flash_attn_even_on_a_cpu_machine(project):
    found, _ = needs(project, attn_implementation="flash_attention_2")
    assert list(found) == ["torch", "cuda", "flash-attn"]
    assert found["cuda"].key == "attn_implementation" and "flash-attn runs on CUDA only" in found["cuda"].why
    assert found["flash-attn"].smoke == "flash-attn"


@pytest.mark.parametrize("key, value", [("tf32", "true"), ("fp8", "true")])
def test_gpu_only_precision_needs_cuda(project, key, value):
    found, _ = needs(project, **{key: value})
    assert found["cuda"].key == key


def test_a_gpu_machine_needs_cuda_on_every_process_and_bf16(project):
    found, plan = needs(project, facts=gpu_facts(4), bf16="true")
    assert plan.processes == 4 and plan.device == "cuda" and plan.backend == "nccl"
    assert found["cuda"].count == 4 and "bf16" in found
    assert found["collective"].detail == "nccl" and found["collective"].smoke == "distributed"


def test_processes_on_the_cpu_need_gloo(project):
    found, plan = needs(project, processes=2)
    assert plan.launcher == "accelerate" and plan.distributed == "ddp"
    assert found["collective"].detail == "gloo" and found["collective"].count == 2
    assert "cuda" not in found and "bf16" not in found  # bf16 on a CPU works (slowly): nothing to verify


def test_qlora_needs_4bit_and_an_8bit_optimizer_needs_the_library(project):
    found, _ = needs(project, adapter="qlora", load_in_4bit="true")
    assert found["bitsandbytes-4bit"].smoke == "bitsandbytes-4bit" and "bitsandbytes-8bit" not in found
    found, _ = needs(project, optimizer="paged_adamw_8bit")
    assert found["bitsandbytes-8bit"].key == "optimizer" and found["bitsandbytes-8bit"].smoke == "bitsandbytes-4bit"


def test_deepspeed_needs_deepspeed_and_the_ops_it_builds(project):
    (project.root / "zero2.json").write_text('{"zero_optimization": {"stage": 2}}')
    found, plan = needs(project, processes=2, deepspeed="zero2.json")
    assert plan.distributed == "deepspeed" and plan.zero_stage == 2
    assert found["deepspeed"].detail == "stage 2"
    assert found["deepspeed-ops"].detail == "deepspeed_shm_comm" and found["deepspeed-ops"].smoke == "deepspeed-ops"
    assert found["collective"].count == 2


def test_deepspeed_ops_follow_the_optimizer_and_device():
    adam = {"optimizer": {"type": "AdamW"}}
    assert deepspeed_ops({}, "cuda", False) == ()
    assert deepspeed_ops(adam, "cuda", False) == ("fused_adam",)
    assert deepspeed_ops(adam, "cuda", True) == ("cpu_adam",)
    assert deepspeed_ops(adam, "cpu", False) == ("deepspeed_shm_comm", "fused_adam")


def test_fsdp_on_a_gpu_machine(project):
    found, plan = needs(project, facts=gpu_facts(2), fsdp_version=2,
                        fsdp_config="{transformer_layer_cls_to_wrap: LlamaDecoderLayer}")
    assert plan.distributed == "fsdp" and found["cuda"].count == 2 and "deepspeed" not in found


def test_launch_plan_defaults():
    from ftdoctor.trainer.plan import Sharding

    class Plan:
        sharding, precision = Sharding(), "fp32"

    assert launch_plan(Plan, gpu_facts(0), None).device == "cpu"
    assert launch_plan(Plan, gpu_facts(8), None).processes == 8
    assert launch_plan(Plan, gpu_facts(8), 2).processes == 2
    unprobed = cpu_facts()
    from dataclasses import replace

    from ftdoctor.facts.model import Status, TorchFacts

    blind = launch_plan(Plan, replace(unprobed, torch=TorchFacts(status=Status.UNKNOWN)), None)
    assert blind == LaunchPlan(1, "cpu", "none", "fp32", 0, False, 0, None)
