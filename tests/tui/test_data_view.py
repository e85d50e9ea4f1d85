"""View models: grouping, filtering, search, problem navigation, the summary line and what a fix changed."""

from __future__ import annotations

from dataclasses import replace

from synthetic_machine import TITLES, facts, judge

from ftdoctor.facts.model import Facts
from ftdoctor.findings import Severity
from ftdoctor.tui.data import changes
from ftdoctor.tui.data.state import CheckState
from ftdoctor.tui.data.view import Filter, families, step_problem, summary

STATE = CheckState.judged(facts(), judge)
FINDINGS = {f.code: f for f in STATE.findings}


def labels(state=STATE, flt=None):
    return [v.label() for v in families(state, flt or Filter(), TITLES)]


def test_families_keep_rule_order_with_the_worst_mark_and_counts():
    assert labels() == [
        "✓ NVIDIA driver · 2 ok",
        "! GPU architecture and precision · 1 warning",
        "✗ torch build · 1 error, 1 info",
        "- CUDA toolkit · 1 skipped",
        "! Python packages · 1 warning",
    ]


def test_a_hidden_severity_is_counted_and_keeps_the_family_mark():
    flt = Filter().toggled(Severity.ERROR)
    torch = next(v for v in families(STATE, flt, TITLES) if v.family == "torch")
    assert torch.label() == "✗ torch build · 1 info, 1 hidden"
    assert [f.code for f in torch.findings] == ["TOR310"]


def test_search_matches_evidence_and_fix_commands_and_hides_other_families():
    by_evidence = families(STATE, Filter(text="SM_120"), TITLES)  # case-insensitive, in evidence and messages
    assert {f.code for v in by_evidence for f in v.findings} == {"ARC200", "TOR300"}
    by_command = families(STATE, Filter(text="download.pytorch"), TITLES)
    assert [f.code for v in by_command for f in v.findings] == ["TOR300"]
    assert families(STATE, Filter(text="no such words"), TITLES) == ()


def test_waiting_families_show_no_findings():
    state = replace(STATE, waiting=frozenset({"torch"}))
    assert "… torch build · waiting for torch" in labels(state)
    assert "✓ NVIDIA driver · 2 ok" in labels(state)


def test_step_problem_walks_errors_and_warnings_and_wraps():
    views = families(STATE, Filter(), TITLES)
    order = []
    current = None
    for _ in range(4):
        current = step_problem(views, current, 1)
        order.append(current.code)
    assert order == ["ARC200", "TOR300", "PKG600", "ARC200"]
    assert step_problem(views, FINDINGS["ARC200"], -1).code == "PKG600"
    assert step_problem(views, FINDINGS["DRV100"], 1).code == "ARC200"  # from a non-problem: the first
    assert step_problem(families(STATE, Filter(frozenset({Severity.OK})), TITLES), None, 1) is None


def test_summary_uses_checks_words_and_says_when_probes_are_still_answering():
    assert summary(STATE) == "✗ Problems found: 1 error, 2 warnings, 2 ok, 1 info, 1 skipped"
    waiting = replace(STATE, waiting=frozenset({"driver"}))
    assert summary(waiting) == "Probing… so far: 0 errors, 0 warnings, 0 ok, 0 info, 1 skipped"
    assert summary(CheckState(Facts())) == "✓ No problems found: 0 errors, 0 warnings, 0 ok, 0 info, 0 skipped"


def test_changes_list_better_worse_and_reworded_rules_only():
    after = judge(facts(env={"TORCH_FIXED": "yes"}))
    found = changes.changes(STATE.findings, after)
    assert [c.line() for c in found] == ["TOR300 ✗ error → ✓ ok  torch 2.7.1+cu128 has kernels for sm_120"]
    assert changes.summary(found, len(after)) == "1 changed (1 better); 6 unchanged."
    worse = changes.changes(after, STATE.findings)
    assert worse[0].direction == "worse"
    gone = changes.changes(STATE.findings, [f for f in STATE.findings if f.code != "PKG600"])
    assert gone[0].line().startswith("PKG600 ! warning → (none)")
    assert changes.summary([], 7) == "Nothing changed: all 7 findings are as they were."


def test_while_probing_only_families_whose_probes_answered_are_counted():
    state = replace(STATE, waiting=frozenset({"torch"}))
    assert {f.family for f in state.settled} == {"driver"}  # every other family reads torch
    assert summary(state) == "Probing… so far: 0 errors, 0 warnings, 2 ok, 0 info, 0 skipped"


def test_rewordings_are_listed_apart_from_severity_changes():
    after = judge(facts(env={"TORCH_FIXED": "yes"}))
    reworded = [replace(f, message=f.message + " (in 1.4 s)") if f.code == "DRV110" else f for f in after]
    sections = changes.report_lines(changes.changes(STATE.findings, reworded))
    assert [heading for heading, _ in sections] == ["What changed:", "Same severity, new message:"]
    assert sections[1][1] == ["DRV110 ✓ ok → ✓ ok  driver 570.133.07 supports CUDA ≤ 12.8; torch needs 12.1 (in 1.4 s)"]
    assert changes.report_lines([]) == []
