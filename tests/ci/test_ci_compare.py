"""`ftdoctor compare` and `check --facts-dir`: snapshots that differ in one fact each, and exactly that
difference is reported; the fleet judged machine by machine with one exit code."""

from __future__ import annotations

import json
from dataclasses import replace

import jsonschema
import pytest
import xmlschema

from ci_machines import laptop, node, save, variants
from test_ci_formats import SCHEMAS

EXPECTED = {
    "CMP101": "error", "CMP102": "warning", "CMP103": "error", "CMP104": "error", "CMP105": "warning",
    "CMP106": "error", "CMP107": "warning", "CMP108": "warning", "CMP109": "error", "CMP110": "warning",
    "CMP111": "info",
}
EXIT = {"error": 2, "warning": 1, "info": 0}


def test_every_comparison_rule_has_a_one_fact_variant():
    from ftdoctor.rules.fleet import RULES

    assert sorted(r.code for r in RULES) == sorted(EXPECTED) == sorted(variants())


def test_identical_nodes_agree(cli, tmp_path):
    paths = [str(save(node(f"node{i}"), tmp_path / f"n{i}.json")) for i in (1, 2, 3)]
    result = cli("compare", *paths, "--json")
    assert result.returncode == 0, result.stdout
    findings = result.json()["data"]["findings"]
    assert {f["code"]: f["severity"] for f in findings} == {code: "ok" for code in EXPECTED}
    assert result.json()["data"]["compared"][0] == {"name": "node1", "source": paths[0]}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_one_differing_fact_is_reported_by_its_rule_alone(cli, tmp_path, code):
    a = save(node("node1"), tmp_path / "a.json")
    b = save(variants()[code], tmp_path / "b.json")
    result = cli("compare", str(a), str(b), "--json")
    body = result.json()
    severities = {f["code"]: f["severity"] for f in body["data"]["findings"]}
    assert severities.pop(code) == EXPECTED[code]
    assert set(severities.values()) == {"ok"}, severities  # nothing else differs
    assert result.returncode == EXIT[EXPECTED[code]]
    (finding,) = [f for f in body["data"]["findings"] if f["code"] == code]
    assert "node1" in finding["message"] and "node2" in finding["message"]


def test_messages_and_fixes_name_the_odd_node(cli, tmp_path):
    a = save(node("node1"), tmp_path / "a.json")
    c = save(node("node3"), tmp_path / "c.json")
    b = save(variants()["CMP103"], tmp_path / "b.json")
    result = cli("compare", str(a), str(b), str(c), "--json")
    (torch,) = [f for f in result.json()["data"]["findings"] if f["code"] == "CMP103"]
    assert torch["message"] == (
        "torch build differs: 2.8.0+cu128 (CUDA 12.8) on node1, node3; 2.7.1+cu126 (CUDA 12.6) on node2"
    )
    # a +cu128 build is only on PyTorch's cu128 index: without it pip finds no such version
    assert torch["fixes"][0]["commands"] == [
        "# on node2: /opt/venv/bin/python -m pip install torch==2.8.0+cu128 --index-url https://download.pytorch.org/whl/cu128"
    ]
    assert "what most machines have" in torch["fixes"][0]["summary"]


def test_a_node_whose_driver_cannot_run_the_fleets_build_is_told_to_upgrade_it_first(cli, tmp_path):
    from ftdoctor.facts.model import Resolved

    a = save(node("node1"), tmp_path / "a.json")
    old = variants()["CMP103"]  # 2.7.1+cu126; the fleet runs 2.8.0+cu128
    old = replace(old, driver=replace(old.driver, driver_version=Resolved("470.256.02", "nvml"),
                                      cuda_driver_version=Resolved("11.4", "nvml")))
    b = save(old, tmp_path / "b.json")
    (torch,) = [f for f in cli("compare", str(a), str(b), "--json").json()["data"]["findings"] if f["code"] == "CMP103"]
    (command,) = torch["fixes"][0]["commands"]
    # a cu128 build on a CUDA 11.4 driver fails at its first CUDA call: the driver comes first
    assert command.startswith("# on node2: upgrade the NVIDIA driver 470.256.02 (CUDA 12.8 needs 525.")
    assert command.endswith("-m pip install torch==2.8.0+cu128 --index-url https://download.pytorch.org/whl/cu128")


def test_cuda_wheels_of_different_torch_builds_are_aligned_through_torch(cli, tmp_path):
    """Pinning cuBLAS/cuDNN wheels one by one across two torch builds would break the torch that pins them."""
    from ci_machines import PACKAGES, _with_packages

    a = save(node("node1"), tmp_path / "a.json")
    other_torch = variants()["CMP103"]  # 2.7.1+cu126, with the cuBLAS wheel that build pins
    b = save(_with_packages(other_torch, **{**{d.name: d.version for d in other_torch.python.distributions if d.name in PACKAGES},
                                            "nvidia-cublas-cu12": "12.6.4.1"}), tmp_path / "b.json")
    findings = {f["code"]: f for f in cli("compare", str(a), str(b), "--json").json()["data"]["findings"]}
    assert findings["CMP103"]["severity"] == "error" and findings["CMP105"]["severity"] == "warning"
    assert [fix["summary"] for fix in findings["CMP105"]["fixes"]] == [
        "install the same torch build everywhere (CMP103): these wheels are the ones it pins"]
    same_torch = save(variants()["CMP105"], tmp_path / "c.json")
    alone = {f["code"]: f for f in cli("compare", str(a), str(same_torch), "--json").json()["data"]["findings"]}
    assert all(c.startswith("# on ") and " -m pip install " in c for fix in alone["CMP105"]["fixes"] for c in fix["commands"])


def test_a_tie_aligns_on_the_newer_version(cli, tmp_path):
    a = save(node("node1"), tmp_path / "a.json")
    b = save(variants()["CMP106"], tmp_path / "b.json")
    (stack,) = [f for f in cli("compare", str(a), str(b), "--json").json()["data"]["findings"] if f["code"] == "CMP106"]
    assert "transformers: 4.56.1 on node1; 4.57.0 on node2" in stack["message"]
    assert stack["fixes"][0]["commands"] == ["# on node1: /opt/venv/bin/python -m pip install transformers==4.57.0"]
    assert stack["fixes"][0]["summary"] == "install the same version everywhere (4.57.0, the newest of a tie)"


def test_other_packages_differing_are_information(cli, tmp_path):
    from ci_machines import PACKAGES, _with_packages

    a = save(node("node1"), tmp_path / "a.json")
    b = save(_with_packages(node("node2"), requests="2.31.0", rich="14.0.0"), tmp_path / "b.json")
    result = cli("compare", str(a), str(b), "--json")
    (stack,) = [f for f in result.json()["data"]["findings"] if f["code"] == "CMP106"]
    assert stack["severity"] == "info"
    assert "requests (2.32.5 on node1; 2.31.0 on node2)" in stack["message"]
    assert "rich (not installed on node1; 14.0.0 on node2)" in stack["message"]
    assert result.returncode == 0 and "requests" in PACKAGES and "rich" not in PACKAGES


def test_a_machine_that_could_not_tell_is_unknown_not_equal(cli, tmp_path):
    from ftdoctor.facts.model import PythonEnvFacts

    a = save(node("node1"), tmp_path / "a.json")
    broken = node("node2")
    b = save(replace(broken, python=PythonEnvFacts(reason="the interpreter timed out")), tmp_path / "b.json")
    findings = {f["code"]: f for f in cli("compare", str(a), str(b), "--json").json()["data"]["findings"]}
    assert findings["CMP106"]["severity"] == "warning"
    assert findings["CMP106"]["message"].startswith("unknown: ")
    assert "node2" in findings["CMP106"]["message"]


def test_names_come_from_labels_then_file_names_and_never_collide(cli, tmp_path):
    a = save(node("same"), tmp_path / "a.json")
    b = save(node("same"), tmp_path / "b.json")
    c = save(node(""), tmp_path / "gpu-07.json")
    compared = cli("compare", str(a), str(b), str(c), "--json").json()["data"]["compared"]
    assert [m["name"] for m in compared] == ["same (1)", "same (2)", "gpu-07"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["one"], "compare needs at least two facts snapshots, got 1"),
        (["--facts-dir", "missing"], "not a directory"),
        (["--facts-dir", "empty"], "no *.json facts snapshots"),
        (["one", "one"], "the same snapshot is named twice"),
    ],
)
def test_bad_input_is_one_line(cli, tmp_path, args, message):
    save(node(), tmp_path / "one")
    (tmp_path / "empty").mkdir()
    result = cli("compare", *args, cwd=tmp_path)
    assert result.returncode == 3
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr


def test_compare_renders_in_the_ci_formats(cli, tmp_path):
    a = save(node("node1"), tmp_path / "a.json")
    b = save(variants()["CMP104"], tmp_path / "b.json")
    junit = cli("compare", str(a), str(b), "--format", "junit").stdout
    xmlschema.XMLSchema(str(SCHEMAS / "junit-ant.xsd")).validate(junit)
    sarif = json.loads(cli("compare", str(a), str(b), "--format", "sarif").stdout)
    jsonschema.Draft4Validator(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["CMP104"]
    assert len(sarif["runs"][0]["tool"]["driver"]["rules"]) == len(EXPECTED)


# --- check --facts-dir ----------------------------------------------------------------------------------

@pytest.fixture
def fleet(tmp_path):
    folder = tmp_path / "facts"
    folder.mkdir()
    save(node("node1"), folder / "node1.json")
    save(variants()["CMP102"], folder / "node2.json")
    save(node("node3"), folder / "node3.json")
    (folder / "notes.txt").write_text("not a snapshot")
    return folder


def test_facts_dir_judges_each_machine_then_compares(cli, fleet):
    result = cli("check", "--facts-dir", str(fleet), "--json")
    body = result.json()
    machines = body["data"]["machines"]
    assert [m["name"] for m in machines] == ["node1", "node2", "node3", "all 3 machines compared"]
    assert [m["summary"]["error"] + m["summary"]["warning"] for m in machines[:3]] == [0, 0, 0]
    assert len({m["summary"]["ok"] for m in machines[:3]}) == 1
    compared = {f["code"]: f["severity"] for f in machines[-1]["findings"]}
    assert compared.pop("CMP102") == "warning" and set(compared.values()) == {"ok"}
    assert len(body["data"]["findings"]) == sum(len(m["findings"]) for m in machines)
    assert result.returncode == 1  # warnings somewhere, no errors anywhere


def test_facts_dir_terminal_has_a_section_per_machine(cli, fleet):
    save(laptop(), fleet / "login.json")
    result = cli("check", "--facts-dir", str(fleet), "--no-compare")
    headings = [line for line in result.stdout.splitlines() if line.startswith("== ")]
    assert headings == ["== laptop ==", "== node1 ==", "== node2 ==", "== node3 =="]
    assert result.stdout.rstrip().splitlines()[-1].startswith("Overall (4 sections): Warnings: 0 errors, 1 warning")
    assert result.returncode == 1  # the laptop's missing driver, and nothing compared


def test_several_facts_files_work_like_a_directory(cli, fleet):
    files = sorted(str(p) for p in fleet.glob("*.json"))
    by_files = cli("check", *files, "--json").json()["data"]
    by_flags = cli("check", *(a for f in files for a in ("--facts", f)), "--json").json()["data"]
    assert by_flags["summary"] == by_files["summary"]
    by_dir = cli("check", "--facts-dir", str(fleet), "--json").json()["data"]
    assert by_files["summary"] == by_dir["summary"]


def test_facts_dir_refuses_to_save_facts(cli, fleet, tmp_path):
    result = cli("check", "--facts-dir", str(fleet), "--save-facts", str(tmp_path / "x.json"))
    assert result.returncode == 3
    assert "--save-facts saves one machine's facts" in result.stderr


def test_facts_dir_json_matches_the_published_envelope_schema(cli, fleet):
    from importlib import resources

    schema = json.loads(resources.files("ftdoctor.report").joinpath("result.schema.json").read_text())
    body = cli("check", "--facts-dir", str(fleet), "--json").json()
    jsonschema.validate(body, schema)
    compare = cli("compare", "--facts-dir", str(fleet), "--json").json()
    jsonschema.validate(compare, schema)
    broken = {**body, "data": {**body["data"], "machines": [{"name": "x"}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)
