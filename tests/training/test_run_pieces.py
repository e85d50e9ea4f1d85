"""The pieces around a run: the output directory's rules, the record, the generated accelerate settings, the
worker's command line, the log supervisor and the crash report's fallback."""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from ftdoctor.errors import OutputExistsError, UsageError
from ftdoctor.trainer.launch import accelerate_config, command, crash, supervise
from ftdoctor.trainer.launch.plan import LaunchPlan
from ftdoctor.trainer.run import outdir
from ftdoctor.trainer.run.record import RunRecord, lockfile
from training_helpers import cpu_facts


def checkpoint(folder, step, complete=True):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if complete:
        (path / "trainer_state.json").write_text("{}")
    return path


def test_checkpoints_are_ordered_by_step_and_must_be_complete(tmp_path):
    checkpoint(tmp_path, 100)
    checkpoint(tmp_path, 20)
    checkpoint(tmp_path, 300, complete=False)  # killed while saving: trainer_state.json is written last
    assert [p.name for p in outdir.checkpoints(tmp_path)] == ["checkpoint-20", "checkpoint-100"]
    assert outdir.last_checkpoint(tmp_path).name == "checkpoint-100"


def test_an_occupied_output_dir_is_never_overwritten_without_a_flag(tmp_path):
    assert outdir.claim(tmp_path / "new", resume=False, overwrite=False) is None
    (tmp_path / "run").mkdir()
    with pytest.raises(OutputExistsError) as raised:
        outdir.claim(tmp_path, resume=False, overwrite=False)
    assert "previous run" in raised.value.what and "--resume" in raised.value.hint
    assert outdir.claim(tmp_path, resume=False, overwrite=True) is None
    assert (tmp_path / "run").is_dir()  # claiming deletes nothing
    outdir.clear(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(UsageError, match="nothing to resume"):
        outdir.claim(tmp_path, resume=True, overwrite=False)
    last = checkpoint(tmp_path, 40)
    assert outdir.claim(tmp_path, resume=True, overwrite=False) == last


def test_the_record_keeps_every_attempt(tmp_path):
    config = tmp_path / "config.yml"
    config.write_text("base_model: x\n")
    record = RunRecord(tmp_path / "out" / "run")
    gate = {"launch": True, "forced": True, "warning": "LAUNCHED WITH --force", "errors": 1, "checks_run": ["torch"]}
    record.start(config_path=config, facts=cpu_facts(), gate=gate, data={"/d.jsonl": {"sha256": "ab", "bytes": 3}},
                 command=["python", "-m", "w"], config_sha256="c1", resumed_from=None)
    record.finish(status="failed", result=None, runtime=None, returncode=1, explanation={"cause": "boom"})
    record.start(config_path=config, facts=cpu_facts(), gate={**gate, "forced": False, "warning": None},
                 data={}, command=["python"], config_sha256="c1", resumed_from="/out/checkpoint-10")
    record.finish(status="finished", result={"metrics": {"train_loss": 1.5}}, runtime={"world_size": 1},
                  returncode=0)
    saved = json.loads((tmp_path / "out" / "run" / "record.json").read_text())
    assert saved["status"] == "finished" and saved["metrics"] == {"train_loss": 1.5}
    assert [a["status"] for a in saved["attempts"]] == ["failed", "finished"]
    assert saved["attempts"][0]["gate"]["warning"] == "LAUNCHED WITH --force"
    assert saved["attempts"][0]["explanation"] == {"cause": "boom"}
    assert saved["data"] == {"/d.jsonl": {"sha256": "ab", "bytes": 3}}
    run = tmp_path / "out" / "run"
    assert (run / "config.yml").read_text() == "base_model: x\n"
    assert json.loads((run / "facts.json").read_text())["torch"]["version"] == "2.13.0+cpu"
    assert "torch==2.13.0\n" in (run / "requirements.lock").read_text()


def test_lockfile_pins_every_distribution():
    text = lockfile(cpu_facts())
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert pins == sorted(pins) and "trl==1.16.0" in pins and len(pins) == 8


def plan(**kw):
    base = dict(processes=2, device="cpu", distributed="ddp", precision="fp32", gpus=0, gpus_known=True)
    return LaunchPlan(**{**base, **kw})


def test_cpu_processes_use_the_multi_process_launcher_never_the_cpu_flag():
    settings = accelerate_config.accelerate_settings(plan(), port=29999)
    assert settings["distributed_type"] == "MULTI_GPU" and settings["use_cpu"] is False
    assert settings["num_processes"] == 2 and settings["mixed_precision"] == "no"
    assert yaml.safe_load(accelerate_config.to_yaml(settings)) == settings


def test_deepspeed_and_fsdp_settings():
    ds = accelerate_config.accelerate_settings(plan(distributed="deepspeed", zero_stage=3), port=1,
                                               deepspeed_file="/run/deepspeed.json")
    assert ds["distributed_type"] == "DEEPSPEED" and "mixed_precision" not in ds
    assert ds["deepspeed_config"] == {"deepspeed_config_file": "/run/deepspeed.json", "zero3_init_flag": True}
    fsdp = accelerate_config.accelerate_settings(plan(distributed="fsdp", device="cuda", precision="bf16"), port=1,
                                                 fsdp={"fsdp_version": 2})
    assert fsdp["distributed_type"] == "FSDP" and fsdp["mixed_precision"] == "bf16"


def test_worker_commands_and_environment(tmp_path):
    single = command.worker_command(plan(processes=1, distributed="none"), tmp_path / "job.json", None, "py")
    assert single == ["py", "-m", "ftdoctor.trainer.launch.worker", str(tmp_path / "job.json")]
    multi = command.worker_command(plan(), tmp_path / "job.json", tmp_path / "a.yaml", "py")
    assert multi[:5] == ["py", "-m", "accelerate.commands.launch", "--config_file", str(tmp_path / "a.yaml")]
    assert "--cpu" not in multi and multi[5:7] == ["--module", "ftdoctor.trainer.launch.worker"]
    env = command.worker_environment(plan(), base={}, python=sys.executable)
    assert env["PYTHONUNBUFFERED"] == "1" and "ftdoctor-" in env["TORCH_EXTENSIONS_DIR"]
    assert int(env["OMP_NUM_THREADS"]) >= 1
    assert command.worker_environment(plan(), base={"TORCH_EXTENSIONS_DIR": "/x"})["TORCH_EXTENSIONS_DIR"] == "/x"


def test_supervise_shows_and_keeps_the_output(tmp_path):
    import io

    echo = io.BytesIO()
    log = tmp_path / "run" / "train.log"
    script = "import sys; print('step 1\\r', end=''); print('done'); sys.stderr.write('warn\\n'); sys.exit(3)"
    finished = supervise.supervise([sys.executable, "-c", script], {}, log, echo=echo)
    assert finished == supervise.Finished(3, False)
    assert b"step 1\rdone\n" in echo.getvalue() and b"warn\n" in echo.getvalue()
    supervise.supervise([sys.executable, "-c", "print('second')"], {}, log, echo=io.BytesIO())
    text = log.read_text()
    assert "done" in text and "second" in text and text.count("===== ftdoctor:") == 2  # appended, never replaced


def test_the_crash_report_falls_back_to_the_workers_failure_line(tmp_path):
    log = tmp_path / "train.log"
    log.write_text("Traceback (most recent call last):\n  ...\nValueError: inner\n"
                   "ftdoctor: training failed: RuntimeError: reward endpoint refused the connection\n")
    assert crash.last_error(log) == "RuntimeError: reward endpoint refused the connection"
    log.write_text("x\nKilled\n")
    assert crash.last_error(log) == "Killed"
    report = crash.explain_crash(tmp_path / "missing.log")
    assert report.cause == "the processes exited without an error message"
