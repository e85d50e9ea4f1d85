"""Every config in tests/trainer/configs/ (real public configs) is preflighted, and the preflight says what
INDEX.toml records for it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from ftdoctor.findings import Severity
from tests.trainer.conftest import STACK, gpu_target, run_preflight

ROOT = Path(__file__).parent / "configs"
INDEX = {row["file"]: row for row in tomllib.loads((ROOT / "INDEX.toml").read_text(encoding="utf-8"))["config"]}
FILES = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.suffix in (".yml", ".yaml"))
TARGET = gpu_target(count=8, packages={**STACK, "flash-attn": "2.8.3"})


def test_every_shipped_config_is_indexed_and_counted():
    assert len(FILES) == 70
    assert set(FILES) == set(INDEX)
    for row in INDEX.values():
        assert row["repo"] and len(row["commit"]) == 40 and row["path"]


def test_the_corpus_covers_families_methods_and_parallelism():
    rows = INDEX.values()
    assert {"sft", "dpo", "kto", "orpo", "grpo", "reward", "prm"} <= {r["method"] for r in rows}
    assert {"lora", "qlora", "full"} <= {r["adapter"] for r in rows}
    assert {"zero1", "zero2", "zero3", "fsdp1", "fsdp2", "none"} <= {r["sharding"] for r in rows}
    families = {f.split("/")[2] for f in INDEX if f.startswith("axolotl/examples/")}
    assert len(families) >= 15


@pytest.mark.parametrize("name", FILES)
def test_what_the_preflight_says(name, monkeypatch, tmp_path):
    row = INDEX[name]
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.chdir(ROOT / name.split("/")[0])
    pre, findings = run_preflight(ROOT / name, TARGET)
    errors = sorted({f.code for f in findings if f.severity == Severity.ERROR})
    warnings = sorted({f.code for f in findings if f.severity == Severity.WARNING})
    assert (errors, warnings) == (row["errors"], row["warnings"]), \
        [(f.code, f.message) for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)]
    plan = pre.plan
    sharding = plan.sharding.kind if plan.sharding.kind == "none" else (
        f"zero{plan.sharding.stage}" if plan.sharding.kind == "zero" else f"fsdp{plan.sharding.version}")
    assert (plan.method, plan.adapter or "full", sharding) == (row["method"], row["adapter"], row["sharding"])
    assert (pre.estimate is not None) == row["estimate"]
    crashed = [f for f in findings if "crashed" in f.message]
    assert not crashed
    for finding in findings:
        if finding.severity in (Severity.ERROR, Severity.WARNING) and finding.code[:3] in ("CFG", "CEN", "MEM"):
            assert finding.location and ":" in finding.location, finding
