"""`ftdoctor train config.yml` as a user runs it: a process that gathers the facts, gates, launches the
worker, keeps the record; killed and resumed; crashed and explained."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from training_helpers import SFT, losses, make_job

pytestmark = pytest.mark.slow


def test_train_writes_the_adapter_and_a_full_record(project, cli):
    config = project(SFT, max_steps=10)
    result = cli("train", str(config), "--no-color", cwd=project.root, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "ftdoctor: training finished: loss" in result.stdout and "10 steps" in result.stdout
    out = project.root / "out"
    run = out / "run"
    assert (out / "adapter_model.safetensors").is_file()
    record = json.loads((run / "record.json").read_text())
    assert record["status"] == "finished" and record["metrics"]["train_loss"] > 0
    data = str((project.root / "data" / "chat.jsonl").resolve())
    digest = hashlib.sha256((project.root / "data" / "chat.jsonl").read_bytes()).hexdigest()
    assert record["data"][data]["sha256"] == digest
    attempt = record["attempts"][0]
    assert attempt["gate"]["launch"] and not attempt["gate"]["forced"] and attempt["gate"]["checks_run"] == ["torch"]
    assert attempt["runtime"]["world_size"] == 1 and attempt["result"]["global_step"] == 10
    gate = json.loads((run / "gate.json").read_text())
    assert {f["code"] for f in gate["findings"]} >= {"RUN910", "CFG101", "CEN804"}
    assert (run / "config.yml").read_text() == config.read_text()
    assert json.loads((run / "facts.json").read_text())["schema"] == "ftdoctor-facts/1"
    assert "\ntrl==" in (run / "requirements.lock").read_text()
    log = (run / "train.log").read_text()
    assert "step 10/10 · loss" in log and f"ftdoctor: logging to TensorBoard in {out / 'runs'}" in log
    assert attempt["result"]["tensorboard"] == str(out / "runs") and list((out / "runs").glob("*/events.out.*"))

    again = cli("train", str(config), cwd=project.root)
    assert again.returncode == 3 and "refusing to overwrite it" in again.stderr
    assert again.stderr.count("\n") == 1  # one clear line


def test_resume_after_a_kill_between_checkpoints_continues_with_the_same_loss(project):
    from ftdoctor.trainer.recipe.recipe import FineTuneRecipe

    config = project(SFT, max_steps=60, save_steps=10, save_total_limit=3)
    out = project.root / "out"
    first = subprocess.Popen([sys.executable, "-m", "ftdoctor", "train", str(config)], cwd=project.root,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(out / "checkpoint-20" / "trainer_state.json", first)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the launcher and the training process, mid-run
        first.wait()
    assert not (out / "run" / "result.json").exists(), "the run finished before it could be killed"
    done = len((out / "run" / "metrics.jsonl").read_text().splitlines())

    resumed = subprocess.run([sys.executable, "-m", "ftdoctor", "train", str(config), "--resume"],
                             cwd=project.root, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr[-3000:]
    record = json.loads((out / "run" / "record.json").read_text())
    assert [a["status"] for a in record["attempts"]] == ["died", "finished"]
    step = int(record["attempts"][1]["resumed_from"].rsplit("-", 1)[1])
    assert 20 <= step < 60
    after = [json.loads(line) for line in (out / "run" / "metrics.jsonl").read_text().splitlines()[done:]]
    continued = {m["step"]: m["loss"] for m in after if "loss" in m}
    assert min(continued) == step + 1 and max(continued) == 60

    reference = FineTuneRecipe(make_job(config, output_dir=project.root / "reference"))
    reference.setup()
    reference.train()
    uninterrupted = losses(reference.trainer.state.log_history)
    assert continued[step + 1] == pytest.approx(uninterrupted[step], abs=1e-5)
    assert continued[60] == pytest.approx(uninterrupted[59], abs=1e-4)


def test_ctrl_c_stops_the_run_as_interrupted_and_says_how_to_continue(project):
    config = project(SFT, max_steps=400, save_steps=10)
    out = project.root / "out"
    run = subprocess.Popen([sys.executable, "-m", "ftdoctor", "train", str(config), "--no-color"], cwd=project.root,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        _wait_for(out / "checkpoint-10" / "trainer_state.json", run)
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C sends: the launcher and the worker, one process group
        stdout, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 130, stdout[-3000:]
    assert "ftdoctor: training interrupted; continue it with --resume" in stdout
    record = json.loads((out / "run" / "record.json").read_text())
    assert record["status"] == "interrupted" and record["attempts"][-1]["status"] == "interrupted"
    assert json.loads((out / "run" / "result.json").read_text())["status"] == "interrupted"
    assert "KeyboardInterrupt" in (out / "run" / "train.log").read_text()


def _wait_for(path, process, timeout=240.0):
    began = time.monotonic()
    while not path.exists():
        assert process.poll() is None, f"the run ended (rc {process.returncode}) before {path.name} appeared"
        assert time.monotonic() - began < timeout, f"{path} did not appear"
        time.sleep(0.02)


def test_a_crash_is_explained_and_its_log_kept(project, cli):
    from ftdoctor.trainer import tiny

    tiny.write_jsonl(project.root / "data" / "prompts.jsonl",
                     [{"prompt": r["prompt"]} for r in tiny.preference_pairs(8)])
    (project.root / "rewards.py").write_text(
        "def judge(completions, **kw):\n    raise ConnectionError('reward server at 10.0.0.7:8000 refused the "
        "connection')\n")
    body = SFT.replace("data/chat.jsonl", "data/prompts.jsonl").replace("    type: chat_template\n", "")
    config = project(body + "trl:\n  num_generations: 2\n  max_completion_length: 8\n  reward_funcs: [rewards.judge]\n",
                     rl="grpo", max_steps=2, lora_modules_to_save=None)
    result = cli("train", str(config), "--no-color", cwd=project.root, timeout=300)
    assert result.returncode == 4, result.stdout + result.stderr[-3000:]
    assert "ftdoctor: training failed: ConnectionError: reward server at 10.0.0.7:8000 refused" in result.stdout
    log = project.root / "out" / "run" / "train.log"
    assert f"the full log is kept in {log}" in result.stdout
    assert "Traceback (most recent call last)" in log.read_text()
    record = json.loads((project.root / "out" / "run" / "record.json").read_text())
    attempt = record["attempts"][-1]
    assert record["status"] == "failed" and attempt["returncode"] == 1
    assert "refused the connection" in attempt["explanation"]["cause"]
