"""Several processes on this CPU machine, launched by `ftdoctor train` with generated accelerate settings:
DDP over gloo, DeepSpeed ZeRO, and FSDP — which accelerate silently turns into DDP on a CPU. Each test
checks the world size and the wrapper the model actually ran in (run/runtime.json, written by rank 0).

DeepSpeed builds its CPU collectives op on first use (about a minute, once per virtual environment; cached
under ~/.cache/torch_extensions/ftdoctor-*)."""

from __future__ import annotations

import json

import pytest
import yaml

from training_helpers import SFT

pytestmark = pytest.mark.slow


def train(cli, project, config, *extra):
    result = cli("train", str(config), "--no-color", "--processes", "2", *extra, cwd=project.root, timeout=600)
    run = project.root / "out" / "run"
    record = json.loads((run / "record.json").read_text()) if (run / "record.json").exists() else None
    return result, record


def test_two_processes_train_with_ddp_over_gloo(project, cli):
    result, record = train(cli, project, project(SFT, max_steps=20))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    runtime = record["attempts"][0]["runtime"]
    assert runtime["world_size"] == 2 and runtime["backend"] == "gloo"
    assert runtime["distributed_type"] == "MULTI_CPU" and runtime["wrapper"] == "DistributedDataParallel"
    assert not runtime["mismatch"]
    settings = yaml.safe_load((project.root / "out" / "run" / "accelerate.yaml").read_text())
    assert settings["num_processes"] == 2 and settings["use_cpu"] is False
    res = record["attempts"][0]["result"]
    assert res["last_loss"] < res["first_loss"] and res["global_step"] == 20
    gate = json.loads((project.root / "out" / "run" / "gate.json").read_text())
    assert gate["checks_run"] == ["torch", "distributed"]
    assert gate["launch_plan"]["backend"] == "gloo" and gate["launch_plan"]["launcher"] == "accelerate"


def test_deepspeed_zero2_runs_in_two_processes(project, cli):
    (project.root / "zero2.json").write_text(json.dumps({
        "zero_optimization": {"stage": 2}, "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto", "train_batch_size": "auto"}))  # no optimizer block: a torch one
    result, record = train(cli, project, project(SFT, max_steps=10, deepspeed="zero2.json"))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    runtime = record["attempts"][0]["runtime"]
    assert runtime["world_size"] == 2 and runtime["distributed_type"] == "DEEPSPEED"
    assert runtime["wrapper"] == "DeepSpeedEngine" and runtime["deepspeed_enabled"]
    settings = yaml.safe_load((project.root / "out" / "run" / "accelerate.yaml").read_text())
    assert settings["distributed_type"] == "DEEPSPEED"
    assert record["attempts"][0]["result"]["global_step"] == 10


def test_fsdp_on_a_cpu_is_refused_and_when_forced_is_recorded_running_as_ddp(project, cli):
    config = project(SFT, max_steps=5, fsdp_version=2, fsdp_config="{transformer_layer_cls_to_wrap: LlamaDecoderLayer}")
    refused, _ = train(cli, project, config)
    assert refused.returncode == 2
    assert "CEN809 FSDP on a machine without a GPU" in refused.stdout and not (project.root / "out").exists()

    forced, record = train(cli, project, config, "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr[-3000:]
    assert "ftdoctor: WARNING: LAUNCHED WITH --force" in forced.stdout
    attempt = record["attempts"][0]
    assert attempt["gate"]["forced"] and "CEN809" in attempt["gate"]["warning"]
    runtime = attempt["runtime"]
    assert runtime["world_size"] == 2 and runtime["wrapper"] == "DistributedDataParallel"
    assert not runtime["fsdp_enabled"] and "FSDP was asked for" in runtime["mismatch"]
    assert attempt["findings"][0]["code"] == "RUN950"
    assert "WARNING: FSDP was asked for, but the model runs in DistributedDataParallel" in forced.stdout


def test_the_accelerate_cpu_flag_starts_one_process_and_the_run_stops_itself(project, tmp_path):
    """The trap ftdoctor's generated settings avoid, sprung on purpose: `accelerate launch --cpu --num_processes 2`
    starts ONE process without a word; that process sees a world of 1 where 2 were launched, and stops instead
    of training alone on all the data."""
    import os
    import subprocess
    import sys

    from ftdoctor.trainer.recipe.job import save_job
    from training_helpers import make_job

    job = make_job(project(SFT, max_steps=2), processes=2)
    assert job.processes == 2 and job.distributed == "ddp"
    job_file = save_job(job, job.run_dir / "job.json")
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf")}  # no accelerate default_config.yaml of this machine
    result = subprocess.run([sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
                             "--module", "ftdoctor.trainer.launch.worker", str(job_file)],
                            cwd=project.root, env=env, capture_output=True, text=True, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    failures = [ln for ln in output.splitlines() if ln.startswith("ftdoctor: training failed:")]
    assert len(failures) == 1, output[-3000:]  # one process, not two
    assert "WorldMismatch: launched for 2 processes but this one sees a world of 1" in failures[0]
    runtime = json.loads((job.run_dir / "runtime.json").read_text())
    assert runtime["world_size"] == 1 and runtime["wrapper"] != "DistributedDataParallel"
    assert not (project.root / "out" / "adapter_model.safetensors").exists()
