"""`ftdoctor explain` end to end, as a user runs it: files, stdin, --cmd, facts, JSON, exit codes."""

from __future__ import annotations

import json
import sys
from importlib import resources

import jsonschema
import pytest

from ftdoctor.facts import serialize
from ftdoctor.facts.model import (
    DriverFacts, Distribution, Facts, Gpu, PythonEnvFacts, Resolved, Status, TorchFacts,
)

FA_ABI = ("ImportError: /env/lib/python3.10/site-packages/flash_attn_2_cuda.cpython-310-x86_64-linux-gnu.so: "
          "undefined symbol: _ZN3c104cuda9SetDeviceEi\n")


@pytest.fixture(scope="module")
def schemas():
    envelope = json.loads(resources.files("ftdoctor.report").joinpath("result.schema.json").read_text())
    data = json.loads(resources.files("ftdoctor.explain").joinpath("explain.schema.json").read_text())
    return envelope, data


def validate(body: dict, schemas) -> None:
    envelope, data = schemas
    jsonschema.validate(body, envelope)
    if body["exit_code"] != 3:
        jsonschema.validate(body["data"], data)


@pytest.fixture
def snapshot(tmp_path):
    facts = Facts(
        label="gpu-box",
        driver=DriverFacts(driver_version=Resolved("550.54.14", "nvml"), cuda_driver_version=Resolved("12.4", "nvml"),
                           gpus=(Gpu(0, "NVIDIA A100-SXM4-80GB", "nvml", compute_capability="8.0"),)),
        python=PythonEnvFacts(status=Status.OK, executable="/opt/train/bin/python", version="3.11.9",
                              distributions=(Distribution("torch", "2.5.1+cu124"), Distribution("flash-attn", "2.7.0"))),
        torch=TorchFacts(status=Status.OK, source="subprocess", version="2.5.1+cu124", cuda="12.4", cxx11_abi=False),
    )
    path = tmp_path / "gpu.json"
    path.write_text(serialize.dumps(facts))
    return path


def test_a_log_file_with_a_known_cause_exits_0(cli, tmp_path):
    log = tmp_path / "train.log"
    log.write_text("step 1\n" + FA_ABI)
    result = cli("explain", str(log), "--no-facts")
    assert result.returncode == 0, result.stderr
    assert "[abi_mismatch]" in result.stdout and "line 2:" in result.stdout
    assert "Check the installed torch's version, CUDA and C++ ABI" in result.stdout and "$ ftdoctor check" in result.stdout


def test_no_known_cause_exits_1_and_says_so(cli, tmp_path):
    log = tmp_path / "train.log"
    log.write_text("step 1 loss 2.0\nValueError: an error nobody has catalogued\n")
    result = cli("explain", str(log), "--no-facts")
    assert result.returncode == 1
    assert "No known cause" in result.stdout and "line 2: ValueError" in result.stdout


def test_standard_input(cli):
    result = cli("explain", "-", "--no-facts", stdin="RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB\n")
    assert result.returncode == 0 and "[oom_gpu]" in result.stdout and "standard input" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("/no/such/train.log",), "no such file"),
        ((".",), "is a directory"),
        ((), "give a LOG file"),
        (("x.log", "--cmd", "true"), "not both"),
        (("--cmd", "true", "--timeout", "0"), "--timeout: 0 is not a positive number of seconds"),
        (("x.log", "--facts", "/no/facts.json"), "no such file"),
    ],
)
def test_bad_input_is_one_line_and_exit_3(cli, tmp_path, args, message):
    result = cli("explain", *args, "--no-facts" if "--facts" not in args else "--all", cwd=tmp_path)
    assert result.returncode == 3
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_json_uses_the_envelope_and_its_documented_data_shape(cli, tmp_path, schemas):
    log = tmp_path / "train.log"
    log.write_text(FA_ABI + "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB\n")
    result = cli("explain", str(log), "--no-facts", "--json")
    body = json.loads(result.stdout)
    validate(body, schemas)
    assert body["exit_code"] == result.returncode == 0 and body["data"]["found"]
    first = body["data"]["diagnoses"][0]
    assert first["rank"] == 1 and first["category"] in {"abi_mismatch", "oom_gpu"}
    assert first["evidence"][0]["line"] in (1, 2) and first["source"].startswith("https://")
    nothing = cli("explain", "-", "--no-facts", "--json", stdin="all good\n")
    body = json.loads(nothing.stdout)
    validate(body, schemas)
    assert nothing.returncode == body["exit_code"] == 1 and body["data"]["diagnoses"] == []
    broken = cli("explain", str(tmp_path / "missing.log"), "--no-facts", "--json")
    validate(json.loads(broken.stdout), schemas)


def test_fixes_target_the_snapshots_environment(cli, tmp_path, snapshot):
    log = tmp_path / "train.log"
    log.write_text(FA_ABI)
    result = cli("explain", str(log), "--facts", str(snapshot), "--json")
    diagnosis = json.loads(result.stdout)["data"]["diagnoses"][0]
    assert diagnosis["facts_used"]
    summary = diagnosis["fixes"][0]["summary"]
    assert summary.endswith(": flash_attn-2.8.3+cu12torch2.5cxx11abiFALSE-cp311-cp311-linux_x86_64.whl")
    assert diagnosis["fixes"][0]["commands"][0] == "/opt/train/bin/python -m pip uninstall -y flash-attn"
    assert diagnosis["fixes"][0]["commands"][1].startswith("/opt/train/bin/python -m pip install --no-deps --force-reinstall https://")
    assert "torch 2.5.1+cu124" in diagnosis["cause"]


def test_facts_that_contradict_the_log_lower_the_confidence(cli, tmp_path, snapshot):
    log = tmp_path / "train.log"
    log.write_text("ValueError: Your setup doesn't support bf16/gpu. You need Ampere+ GPU with cuda>=11.0\n")
    without = json.loads(cli("explain", str(log), "--no-facts", "--json").stdout)["data"]["diagnoses"][0]
    with_facts = json.loads(cli("explain", str(log), "--facts", str(snapshot), "--json").stdout)["data"]["diagnoses"][0]
    assert with_facts["confidence"] < without["confidence"]
    assert "A100" in with_facts["notes"][0] and "another machine" in with_facts["notes"][0]


def test_live_facts_are_probed_quickly_by_default(cli, tmp_path):
    log = tmp_path / "train.log"
    log.write_text("RuntimeError: FlashAttention only supports Ampere GPUs or newer.\n")
    body = json.loads(cli("explain", str(log), "--json").stdout)
    assert body["data"]["facts"]["source"] == "live" and not body["data"]["facts"]["torch_imported"]
    commands = [c for fix in body["data"]["diagnoses"][0]["fixes"] for c in fix["commands"]]
    assert f"{sys.executable} -m pip uninstall -y flash-attn" in commands  # this interpreter, not a generic "python"


def test_cmd_runs_the_command_and_explains_its_output(cli, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import sys\nprint('step 1')\nsys.exit(\"ValueError: Asking to pad but the tokenizer does not have a padding token.\")\n")
    result = cli("explain", "--no-facts", "--json", "--cmd", f"{sys.executable} {script}")
    body = json.loads(result.stdout)
    assert result.returncode == 0
    assert body["data"]["input"]["kind"] == "command"
    assert body["data"]["input"]["command"]["returncode"] == 1
    assert body["data"]["diagnoses"][0]["category"] == "tokenizer_config"


def test_cmd_timeout_explains_what_was_printed(cli, tmp_path):
    script = tmp_path / "hang.py"
    script.write_text("import sys, time\nprint('RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB', flush=True)\ntime.sleep(60)\n")
    result = cli("explain", "--no-facts", "--timeout", "2", "--cmd", f"{sys.executable} {script}")
    assert result.returncode == 0 and "[oom_gpu]" in result.stdout
    assert "did not finish within" in result.stdout


def test_cmd_reads_all_of_a_long_output_in_the_order_it_was_written(cli, tmp_path):
    """An error early in a long run is found (the output is streamed, not cut to its tail), and stdout and stderr
    interleave as on a terminal, so evidence line numbers are the lines the user saw, passed through to stderr."""
    script = tmp_path / "train.py"
    script.write_text(
        "import sys\nprint('step 1')\n"
        "print('RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB', file=sys.stderr)\n"
        "for i in range(6000):\n    print(f'[rank1] waiting for rank 0 ({i}) ' + 'x' * 80)\nsys.exit(1)\n")
    result = cli("explain", "--no-facts", "--json", "--cmd", f"{sys.executable} {script}")
    body = json.loads(result.stdout)
    assert result.returncode == 0 and body["data"]["input"]["command"]["returncode"] == 1
    assert body["data"]["read"]["lines"] == 6002
    top = body["data"]["diagnoses"][0]
    assert top["category"] == "oom_gpu" and top["evidence"][0]["line"] == 2
    assert "step 1\nRuntimeError: CUDA out of memory" in result.stderr and "(5999) " in result.stderr


def test_help_lists_the_exit_codes(cli):
    result = cli("explain", "--help")
    assert result.returncode == 0 and "1  no known cause in the log" in result.stdout
    assert "explain" in cli("--help").stdout


def test_ci_formats_carry_the_diagnoses_with_the_logs_lines(cli, tmp_path):
    """--format junit/github/sarif/markdown render the diagnoses as check's findings are rendered; the exit code
    stays explain's (0: a cause was found)."""
    from pathlib import Path
    from xml.etree import ElementTree

    schemas = Path(__file__).parents[1] / "schemas"
    log = tmp_path / "train.log"
    log.write_text("step 1\nstep 2\n" + FA_ABI)
    runs = {fmt: cli("explain", str(log), "--no-facts", "--format", fmt) for fmt in ("github", "junit", "sarif", "markdown")}
    assert {fmt: r.returncode for fmt, r in runs.items()} == dict.fromkeys(runs, 0)
    assert runs["github"].stdout.startswith(f"::error file={log},line=3,title=ftdoctor EXP")
    suite = ElementTree.fromstring(runs["junit"].stdout).find("testsuite")
    assert suite.get("name") == "ftdoctor explain" and suite.get("failures") == "1"
    sarif = json.loads(runs["sarif"].stdout)
    jsonschema.validate(sarif, json.loads((schemas / "sarif-schema-2.1.0.json").read_text()))
    (result,) = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert sarif["runs"][0]["invocations"][0]["exitCode"] == 0
    assert "flash_attn_2_cuda" in runs["markdown"].stdout and "## ftdoctor explain" in runs["markdown"].stdout


def test_ci_format_of_a_log_without_a_known_cause(cli, tmp_path):
    log = tmp_path / "quiet.log"
    log.write_text("step 1 loss 2.0\nstep 2 loss 1.9\n")
    summary = tmp_path / "summary.md"
    run = cli("explain", str(log), "--no-facts", "--format", "github", "--step-summary", str(summary))
    assert run.returncode == 1 and "::error" not in run.stdout
    assert "No problems found." in summary.read_text()
