"""`ftdoctor train --dry-run`, `ftdoctor estimate` and `ftdoctor check --config` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ftdoctor.facts.serialize import dumps
from preflight_helpers import BASE, facts_machine


@pytest.fixture
def project(tiny_project):
    (tiny_project / "config.yml").write_text(BASE.lstrip(), encoding="utf-8")
    return tiny_project


def test_dry_run_terminal_and_exit_code(cli, project):
    result = cli("train", "config.yml", "--dry-run", "--gpu", "RTX 4090", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "preflight of config.yml" in result.stdout and "RTX 4090 (sm_89, 24 GiB)" in result.stdout
    assert "No problems found" in result.stdout


def test_dry_run_errors_give_exit_code_2_with_file_and_line(cli, project):
    (project / "config.yml").write_text(BASE.lstrip() + "adapter: qlora\nlerning_rate: 1\n", encoding="utf-8")
    result = cli("train", "config.yml", "--dry-run", "--gpu", "RTX 4090", cwd=project)
    assert result.returncode == 2
    assert "CFG120" in result.stdout and "(config.yml:9)" in result.stdout
    assert "CFG101 unknown key `lerning_rate`" in result.stdout and "(config.yml:10)" in result.stdout


def test_several_configs_are_one_section_each_with_one_exit_code(cli, project):
    (project / "broken.yml").write_text(BASE.lstrip() + "adapter: qlora\n", encoding="utf-8")
    result = cli("train", "config.yml", "broken.yml", "--dry-run", "--gpu", "RTX 4090", cwd=project)
    assert result.returncode == 2  # the worst of the two
    assert "== config.yml ==" in result.stdout and "== broken.yml ==" in result.stdout
    assert "CFG120" in result.stdout.split("== broken.yml ==")[1]
    assert "CFG120" not in result.stdout.split("== broken.yml ==")[0]
    body = cli("train", "config.yml", "broken.yml", "--dry-run", "--gpu", "RTX 4090", "--json", cwd=project).json()
    assert set(body["data"]["configs"]) == {"config.yml", "broken.yml"}


def test_training_takes_one_config(cli, project):
    result = cli("train", "config.yml", "config.yml", cwd=project)
    assert result.returncode == 3 and "one config at a time" in result.stderr


def test_dry_run_json_envelope(cli, project):
    result = cli("train", "config.yml", "--dry-run", "--gpu", "A100 80GB", "--gpus", "2", "--json", cwd=project)
    body = result.json()
    assert body["command"] == "train" and body["exit_code"] == result.returncode == 0
    data = body["data"]
    assert data["plan"]["processes"] == 2 and data["target"].startswith("2 × A100")
    assert data["estimate"]["fits"] is True and data["estimate"]["capacity_bytes"] == 80 * 2 ** 30
    located = [f for f in data["findings"] if f["code"].startswith(("CFG", "DAT", "MDL", "MEM"))
               and f["severity"] in ("error", "warning", "info")]
    assert located and all(f["location"].startswith(("config.yml:", str(project))) for f in located), located


def test_warnings_fail_only_with_fail_on_warning(cli, project):
    (project / "config.yml").write_text(BASE.lstrip() + "sample_packing: true\n", encoding="utf-8")
    assert cli("train", "config.yml", "--dry-run", "--cpu", cwd=project).returncode == 1
    assert cli("train", "config.yml", "--dry-run", "--cpu", "--fail-on", "error", cwd=project).returncode == 0
    ignored = cli("train", "config.yml", "--dry-run", "--cpu", "--ignore", "CFG136,CEN804", cwd=project)
    assert ignored.returncode == 0


def test_without_dry_run_it_says_how_to_run_the_preflight(cli, project):
    # without --dry-run, `train` launches on this machine; a described machine is for the preflight only
    result = cli("train", "config.yml", "--gpu", "H100", cwd=project)
    assert result.returncode == 3 and "--dry-run" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("content, words", [
    ("base_model: [unclosed\n", "not valid YAML"),
    ("", "empty config"),
    ("- a\n- b\n", "top level is a list"),
])
def test_bad_config_is_one_line_and_exit_code_3(cli, tmp_path, content, words):
    (tmp_path / "c.yml").write_text(content, encoding="utf-8")
    result = cli("train", "c.yml", "--dry-run", "--cpu", cwd=tmp_path)
    assert result.returncode == 3 and words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "c.yml" in result.stderr


def test_unknown_gpu_name(cli, project):
    result = cli("train", "config.yml", "--dry-run", "--gpu", "GTX 9999 Ultra", cwd=project)
    assert result.returncode == 3 and "unknown GPU" in result.stderr


def test_estimate_table_json_and_exit_codes(cli, project):
    table = cli("estimate", "config.yml", "--gpu", "H100", cwd=project)
    assert table.returncode == 0 and "weights" in table.stdout and "peak" in table.stdout
    (project / "big.yml").write_text(
        "base_model: meta-llama/Llama-2-7b-hf\nlearning_rate: 1e-5\nmicro_batch_size: 4\n"
        "gradient_accumulation_steps: 1\nsequence_len: 4096\ndatasets: [{path: d.jsonl, type: alpaca}]\n")
    result = cli("estimate", "big.yml", "--gpu", "RTX 4090", "--json", cwd=project)
    body = result.json()
    assert result.returncode == 2 and body["data"]["estimate"]["fits"] is False
    assert body["data"]["would_fit_with"]
    cpu = cli("estimate", "config.yml", "--cpu", cwd=project)
    assert cpu.returncode == 0 and "Peak memory per machine" in cpu.stdout and "CUDA context" not in cpu.stdout


ZERO3 = '{"zero_optimization": {"stage": 3}, "bf16": {"enabled": "auto"}}'


def test_gpus_without_gpu_takes_the_first_gpus_of_the_snapshot(cli, project):
    (project / "box.json").write_text(dumps(facts_machine(4, "2.26.2")), encoding="utf-8")
    (project / "zero3.json").write_text(ZERO3, encoding="utf-8")
    (project / "config.yml").write_text(BASE.lstrip() + "deepspeed: zero3.json\n", encoding="utf-8")
    peaks = {}
    for count in (1, 2, 4):
        body = cli("estimate", "config.yml", "--facts", "box.json", "--gpus", str(count), "--json", cwd=project).json()
        assert body["data"]["target"].startswith(f"{count} × NVIDIA H100" if count > 1 else "NVIDIA H100")
        peaks[count] = body["data"]["estimate"]["peak_bytes"]
        parts = {p["name"]: p for p in body["data"]["estimate"]["parts"]}
        assert (f"sharded over {count}" in parts["weights"]["detail"]) == (count > 1)
    assert peaks[1] > peaks[2] > peaks[4]  # ZeRO-3 shards over the GPUs asked for, not over the snapshot's 4
    two = cli("estimate", "config.yml", "--facts", "box.json", "--gpus", "2", cwd=project)
    assert "note: judged on the first 2 of its 4 GPUs (--gpus 2)" in two.stdout
    dry = cli("train", "config.yml", "--dry-run", "--facts", "box.json", "--gpus", "2", "--json", cwd=project).json()
    assert dry["data"]["plan"]["processes"] == 2


@pytest.mark.parametrize("args, words", [
    (["--facts", "box.json", "--gpus", "8"], '--gpus 8, but the snapshot box.json has 1 GPU (NVIDIA A100-SXM4-80GB) — '
                                             'to judge 8 GPUs of a model, describe them: --gpu "A100 80GB" --gpus 8'),
    (["--facts", "cpu.json", "--gpus", "2"], "--gpus 2, but the snapshot cpu.json has no GPU"),
    (["--facts", "box.json", "--gpus", "0"], "--gpus must be at least 1"),
    (["--gpu-memory", "20"], "--gpu-memory sets the memory of a described GPU — add --gpu NAME"),
    (["--cpu", "--gpus", "2"], "--gpus counts GPUs, --cpu describes a machine without one"),
])
def test_machine_options_that_cannot_apply_are_refused_in_one_line(cli, project, args, words):
    a100 = facts_machine(1, "2.26.2", name="NVIDIA A100-SXM4-80GB", memory_mib=81920)
    (project / "box.json").write_text(dumps(a100), encoding="utf-8")
    (project / "cpu.json").write_text(dumps(facts_machine(0, None, torch_cuda=None)), encoding="utf-8")
    for command in (["estimate", "config.yml"], ["train", "config.yml", "--dry-run"]):
        result = cli(*command, *args, cwd=project)
        assert result.returncode == 3 and words in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_training_refuses_machine_counts_meant_for_the_dry_run(cli, project):
    result = cli("train", "config.yml", "--gpus", "2", cwd=project)
    assert result.returncode == 3 and "--processes N" in result.stderr and "Traceback" not in result.stderr


def test_estimate_names_the_memory_variant_it_assumed(cli, project):
    result = cli("estimate", "config.yml", "--gpu", "A100", cwd=project)
    assert "judged with 40 GiB" in result.stdout and "A100 (sm_80, 40 GiB)" in result.stdout
    cpu = cli("estimate", "config.yml", "--cpu", cwd=project)
    assert "system memory" in cpu.stdout and "GPU memory" not in cpu.stdout


def test_estimate_of_an_unknown_model_is_one_line(cli, tmp_path):
    (tmp_path / "c.yml").write_text("base_model: someone/unknown\nlearning_rate: 1\ndatasets: [{path: a}]\n")
    result = cli("estimate", "c.yml", "--gpu", "H100", cwd=tmp_path, env={"HF_HUB_CACHE": str(tmp_path / "x")})
    assert result.returncode == 3 and "size is unknown" in result.stderr


def test_check_with_config_adds_the_preflight(cli, project):
    result = cli("check", "--no-torch", "--config", "config.yml", "--json", cwd=project)
    body = result.json()
    found = {f["code"][:3] for f in body["data"]["findings"]}
    assert {"DRV", "CFG", "DAT", "MDL", "MEM", "CEN"} <= found
    assert body["data"]["preflight"]["config"] == "config.yml"


def test_list_rules(cli):
    result = cli("train", "--list-rules")
    assert result.returncode == 0
    for code in ("CFG101", "CFG140", "DAT506", "MDL603", "MEM701", "CEN806", "RUN901", "RUN920", "RUN925"):
        assert code in result.stdout


def test_the_preflight_does_not_import_torch(project):
    code = (
        "import sys\n"
        "from ftdoctor.cli import run\n"
        "status = run(['train', 'config.yml', '--dry-run', '--gpu', 'H100', '--json'])\n"
        "heavy = [m for m in ('torch', 'transformers', 'trl', 'peft', 'accelerate', 'bitsandbytes', 'deepspeed')"
        " if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in result.stderr, result.stderr[-2000:]
    assert json.loads(result.stdout)["command"] == "train"
