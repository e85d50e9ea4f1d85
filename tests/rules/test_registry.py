"""The registry: every family registered, codes in their bands, requirements resolvable, docs and --list-rules
generated from it."""

from pathlib import Path

from ftdoctor.rules import FAMILY_MODULES, FAMILY_TITLES, all_rules
from ftdoctor.rules.docs import render

REPO = Path(__file__).resolve().parents[2]
BANDS = {"driver": "DRV1", "architecture": "ARC2", "torch": "TOR3", "toolkit": "TLK4", "system": "SYS5", "packages": "PKG6",
         "flash_attn": "FLA7", "bitsandbytes": "BNB8", "deepspeed": "DSP9",
         "verify-torch": "TOR38", "verify-flash-attn": "FLA75", "verify-bitsandbytes": "BNB85",
         "verify-deepspeed": "DSP95", "distributed": "NET1", "triton": "TRI1", "abi": "ABI1"}


def test_every_family_has_rules_in_its_band():
    rules = all_rules()
    # "fleet" rules judge several machines at once (ftdoctor compare), so they are not in the one-machine registry
    assert {r.family for r in rules} == set(FAMILY_TITLES) - {"fleet"} == set(BANDS)
    assert len(FAMILY_MODULES) == len(BANDS)
    for rule in rules:
        assert rule.code.startswith(BANDS[rule.family]) and len(rule.code) == 6, rule.code


def test_requirements_name_existing_rules_and_every_rule_has_a_description():
    codes = {r.code for r in all_rules()}
    for rule in all_rules():
        assert rule.requires <= codes, f"{rule.code} requires unknown {rule.requires - codes}"
        assert rule.description().endswith("."), rule.code


def test_docs_page_is_current():
    page = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == render(), "docs/rules.md is stale: run `python -m ftdoctor.rules.docs --output docs/rules.md`"


def test_docs_page_names_every_rule():
    page = render()
    assert all(f"### {r.code}: " in page for r in all_rules())


def test_list_rules_prints_every_rule(cli):
    result = cli("check", "--list-rules")
    assert result.returncode == 0
    lines = result.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == sorted(r.code for r in all_rules())
    assert "requires DRV101, TOR300" in next(line for line in lines if line.startswith("DRV103"))
