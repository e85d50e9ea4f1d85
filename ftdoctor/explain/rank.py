"""From hits to diagnoses: check the conditions around each hit, fill the templates, rank.

A signature's hits count when their guards hold and the markers it requires (or forbids) are (not)
within `near_lines`. Lookup tables refine the cause. One diagnosis per category survives: the most
confident signature's text, with the evidence of all of them. Most likely first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from ftdoctor.explain.catalog import Catalog, FixTemplate, LookupEntry, Signature
from ftdoctor.explain.checks import FACTS_CHECKS
from ftdoctor.explain.context import log_values
from ftdoctor.explain.convert import CONVERTERS, guard_holds
from ftdoctor.explain.model import Diagnosis, Evidence
from ftdoctor.explain.scan import Hit, ScanResult
from ftdoctor.explain.template import render
from ftdoctor.facts.model import Facts
from ftdoctor.findings import Fix

MAX_EVIDENCE = 5
AGREE_BONUS, DISAGREE_PENALTY = 0.03, 0.25


@dataclass(frozen=True)
class Setting:
    """What ranking needs besides the scan: the catalog, this environment's values, facts and matrix."""

    catalog: Catalog
    values: dict[str, Any]
    facts: Facts | None
    matrix: Any


def diagnose(scan: ScanResult, setting: Setting) -> list[Diagnosis]:
    found = [d for sig in setting.catalog.signatures if (d := _diagnosis(sig, scan, setting))]
    present = {d.signature for d in found}
    superseded = {s for sig in setting.catalog.signatures if sig.id in present for s in sig.supersedes}
    found = [d for d in found if d.signature not in superseded]
    return sorted(_merge_by_category(found), key=lambda d: (-d.confidence, _first_line(d)))


def _first_line(diagnosis: Diagnosis) -> int:
    return diagnosis.evidence[0].line if diagnosis.evidence else 0


def _diagnosis(sig: Signature, scan: ScanResult, setting: Setting) -> Diagnosis | None:
    log = scan.hits.get(sig.id)
    if log is None:
        return None
    valid = [(hit, specifics) for hit in log.hits() if (specifics := _specifics(sig, hit, scan, setting))]
    if not valid:
        return None
    primary, specifics = max(valid, key=lambda pair: len(pair[1]))  # the hit that says the most
    entry = _lookup(sig, specifics, setting.catalog)
    confidence = (entry.confidence if entry and entry.confidence else sig.confidence)
    confidence += _support_bonus(sig, [hit for hit, _ in valid], scan)
    values = {**setting.values, **log_values(specifics, setting.facts, setting.matrix), **specifics,
              **(entry.vars if entry else {})}
    confidence, notes = _facts_verdict(sig, setting.facts, confidence)
    fixes, facts_used = _fixes(entry.fixes if entry and entry.fixes else sig.fixes, values, setting.facts is not None)
    category = entry.category if entry and entry.category else sig.category
    return Diagnosis(
        category=category,
        category_title=setting.catalog.categories[category].title,
        signature=sig.id,
        title=sig.title,
        cause=_cause(entry.cause if entry and entry.cause else sig.cause, values),
        confidence=round(min(max(confidence, 0.05), 0.99), 2),
        fixes=fixes,
        evidence=_evidence([hit for hit, _ in valid]),
        specifics={k: v for k, v in {**specifics, **(entry.vars if entry else {})}.items() if not k.startswith("_")},
        source=entry.source if entry else sig.source,
        matches=log.count,
        facts_used=facts_used,
        notes=notes,
    )


def _specifics(sig: Signature, hit: Hit, scan: ScanResult, setting: Setting) -> dict[str, str]:
    """The hit's values (groups, nearby markers' values, derived values); empty when the hit does not count."""
    specifics = dict(hit.groups)
    for marker in sig.requires_near:
        near = _near_hit(scan, marker, hit.line, sig.near_lines)
        if near is None:
            return {}
        specifics = {**_marker_values(setting.catalog, marker, near), **specifics}
    if any(_near_hit(scan, m, hit.line, sig.near_lines) for m in sig.excluded_near):
        return {}
    for marker in sig.supports:
        near = _near_hit(scan, marker, hit.line, sig.near_lines)
        if near is not None:
            specifics = {**_marker_values(setting.catalog, marker, near), **specifics}
    for name, spec in sig.derive.items():
        converter, _, group = spec.partition(":")
        if group in specifics and (value := CONVERTERS[converter](specifics[group])):
            specifics[name] = value
    if not all(guard_holds(guard, specifics) for guard in sig.guards):
        return {}
    specifics.setdefault("_matched", "yes")  # a valid hit with no groups still counts
    return specifics


def _near_hit(scan: ScanResult, marker: str, line: int, window: int) -> Hit | int | None:
    """The nearest kept marker hit with values within the window, else its nearest line, else None."""
    log = scan.hits.get(marker)
    if log is None:
        return None
    close = [h for h in log.hits() if abs(h.line - line) <= window]
    if close:
        return min(close, key=lambda h: (not h.groups, abs(h.line - line)))
    return next((n for n in log.lines if abs(n - line) <= window), None)


def _marker_values(catalog: Catalog, marker_id: str, near: Hit | int) -> dict[str, str]:
    marker = next(m for m in catalog.markers if m.id == marker_id)
    groups = near.groups if isinstance(near, Hit) else {}
    return {**marker.vars, **groups}


def _support_bonus(sig: Signature, hits: list[Hit], scan: ScanResult) -> float:
    bonus = 0.0
    for marker, weight in sig.supports.items():
        if any(_near_hit(scan, marker, hit.line, sig.near_lines) is not None for hit in hits):
            bonus += weight
    return bonus


def _lookup(sig: Signature, specifics: dict[str, str], catalog: Catalog) -> LookupEntry | None:
    if not sig.lookup or sig.lookup_key not in specifics:
        return None
    key, owner = specifics[sig.lookup_key], specifics.get("owner", "")
    for entry in catalog.tables[sig.lookup]:
        if entry.key == key and (not entry.owner or (owner and re.search(entry.owner, owner))):
            return entry
    return None


def _facts_verdict(sig: Signature, facts: Facts | None, confidence: float) -> tuple[float, tuple[str, ...]]:
    if facts is None or not sig.facts_check:
        return confidence, ()
    agrees, note = FACTS_CHECKS[sig.facts_check](facts)
    if agrees is True:
        confidence += AGREE_BONUS
    elif agrees is False:
        confidence -= DISAGREE_PENALTY
    return confidence, (note,) if note else ()


def _cause(template: str, values: dict[str, Any]) -> str:
    text = render(template, values)
    if text is None:  # a placeholder the log did not provide: keep the sentence, mark the gap
        text = render(re.sub(r"\{(\w+)(\[[^\]]*\])?\}", "[[{\\1\\2}]]", template), values) or template
    text = re.sub(r"\s+([,;:)])|\s+(\.)(?=\s|$)", r"\1\2", re.sub(r" {2,}", " ", text))
    return text.strip()


def _fixes(templates: tuple[FixTemplate, ...], values: dict[str, Any], have_facts: bool) -> tuple[tuple[Fix, ...], bool]:
    fixes: list[Fix] = []
    shown_facts = False
    for template in templates:
        if template.when == "facts" and not have_facts:
            continue
        if template.when == "no_facts" and shown_facts:
            continue
        if template.when == "otherwise" and fixes:
            continue
        fix = _fix(template, values)
        if fix is not None:
            fixes.append(fix)
            shown_facts = shown_facts or template.when == "facts"
    return tuple(fixes), shown_facts


def _fix(template: FixTemplate, values: dict[str, Any]) -> Fix | None:
    summary = render(template.summary, values)
    commands = [render(c, values) for c in template.commands]
    if summary is None or any(c is None for c in commands):
        return None
    return Fix(summary=summary, commands=tuple(c for c in commands if c), link=template.link)


def _evidence(hits: list[Hit]) -> tuple[Evidence, ...]:
    seen: dict[str, Evidence] = {}
    for hit in hits:
        for item in hit.evidence:
            seen.setdefault(re.sub(r"\d+", "#", item.text), item)  # the same message from every rank: once
    items = sorted(seen.values(), key=lambda e: e.line)
    return tuple(items[: MAX_EVIDENCE - 1] + items[-1:]) if len(items) > MAX_EVIDENCE else tuple(items)


def _merge_by_category(found: list[Diagnosis]) -> list[Diagnosis]:
    best: dict[str, Diagnosis] = {}
    for diagnosis in sorted(found, key=lambda d: -d.confidence):
        kept = best.get(diagnosis.category)
        if kept is None:
            best[diagnosis.category] = diagnosis
            continue
        evidence = sorted({(e.line, e.text): e for e in kept.evidence + diagnosis.evidence}.values(), key=lambda e: e.line)
        best[diagnosis.category] = replace(
            kept, evidence=tuple(evidence[:MAX_EVIDENCE]), matches=kept.matches + diagnosis.matches,
            notes=tuple(dict.fromkeys(kept.notes + diagnosis.notes)),
        )
    return list(best.values())
