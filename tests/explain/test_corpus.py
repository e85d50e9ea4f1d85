"""The real-log corpus: every excerpt from a public issue thread must be explained with the cause the
thread established (its category, and the specifics the diagnosis pulls from the log)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from ftdoctor.explain import explain_file
from ftdoctor.explain.catalog import load_catalog

LOGS = Path(__file__).parent / "logs"
CASES = tomllib.loads((LOGS / "cases.toml").read_text(encoding="utf-8"))["case"]
VOCABULARY = {
    "driver_too_old", "cpu_only_torch", "arch_not_in_build", "gpu_too_old_for_package", "bf16_unsupported",
    "abi_mismatch", "cuda_lib_missing", "cuda_lib_conflict", "toolkit_mismatch", "nvcc_too_old",
    "cuda_home_missing", "build_env", "system_libs_too_old", "no_binary_for_platform", "python_unsupported",
    "nccl_env", "dist_timeout", "dist_port_in_use", "api_changed", "peft_target_modules", "dtype_mismatch",
    "distributed_setup", "oom_gpu", "oom_host", "gradient_checkpointing", "tokenizer_config", "stale_runtime",
    "library_bug",
}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_real_log_is_explained_with_the_threads_cause(case):
    result = explain_file(LOGS / case["file"])
    if not case["category"]:  # a log that holds no recognisable error: "no known cause", never a guess
        assert not result.found, [d.category for d in result.diagnoses]
        return
    assert result.found, f"no diagnosis; expected {case['category']}"
    top = result.diagnoses[0]
    assert top.category == case["category"], [(d.category, d.confidence) for d in result.diagnoses]
    for key, value in case.get("specifics", {}).items():
        assert top.specifics.get(key) == value, (key, top.specifics)
    for other in case.get("also", []):
        assert other in [d.category for d in result.diagnoses[1:]]
    assert top.evidence and all(e.line >= 1 for e in top.evidence)
    assert top.cause and not re.search(r"\{[a-z_]+(\[[^\]]*\])?\}", top.cause), top.cause  # no unfilled placeholder


def test_the_corpus_is_broad_sourced_and_complete():
    files = {p.name for p in LOGS.glob("*.log")}
    listed = [c["file"] for c in CASES]
    assert sorted(listed) == sorted(files), "every log is listed once in cases.toml, and every case has a log"
    assert len(CASES) >= 60
    assert {c["category"] for c in CASES if c["category"]} == VOCABULARY  # all 28 categories from real threads
    for case in CASES:
        assert case["url"].startswith("https://github.com/"), case["file"]
        assert case["cause"].strip(), case["file"]


def test_the_vocabulary_is_exactly_the_issues():
    assert set(load_catalog().categories) == VOCABULARY


def test_every_category_has_a_signature():
    assert {s.category for s in load_catalog().signatures} == VOCABULARY
