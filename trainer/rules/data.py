"""DAT5xx: the datasets, read from disk: present, readable, shaped as the declared `type` and the training
method need, and not longer than sequence_len."""

from __future__ import annotations

from dataclasses import dataclass

from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule
from ftdoctor.trainer.locate import hub_cache_dir

PREFERENCE_RL = ("dpo", "ipo", "simpo", "orpo")
PROMPT_LIKE = ("prompt", "question", "instruction", "input", "messages", "conversation")
CHOSEN_LIKE = ("chosen", "chosen_response")
REJECTED_LIKE = ("rejected", "rejected_response")
FORMAT_NAMES = {
    "preference": "preference pairs (chosen/rejected)", "unpaired_preference": "unpaired preference "
    "(prompt/completion/label)", "prompt_completion": "prompt/completion", "conversational": "conversations "
    "(messages)", "sharegpt": "ShareGPT conversations (from/value)", "alpaca": "instruction/output (alpaca)",
    "text": "plain text", "prompt_only": "prompts only", "stepwise": "step-wise labels", "unknown": "unrecognised",
}


class DataRule(Rule):
    family = "dataset"


@dataclass(frozen=True)
class Expectation:
    what: str  # "type: alpaca"
    groups: tuple[tuple[str, ...], ...]  # each group: alternatives, one of which must be a column


def expectation(spec, method: str, dialect: str, command: str | None) -> Expectation | None:
    kind = spec.type
    if isinstance(kind, dict):
        return _user_defined(kind, method)
    if kind is None:
        return _trl_format(command or method) if dialect == "trl" else None
    name = str(kind)
    what = f"type: {name}"
    messages = (spec.field_messages or "messages",)
    chosen = ((spec.field_chosen,) if spec.field_chosen else CHOSEN_LIKE)
    rejected = ((spec.field_rejected,) if spec.field_rejected else REJECTED_LIKE)
    if method in PREFERENCE_RL or name.startswith("bradley_terry"):
        if name == "chat_template.default":
            return Expectation(what, (messages, chosen, rejected))
        if name.startswith(("chat_template", "bradley_terry")):
            return Expectation(what, (chosen, rejected))
        if name.split(".")[0] in ("chatml", "llama3", "zephyr"):
            return Expectation(what, (PROMPT_LIKE, chosen, rejected))
        return None
    if method == "kto" and name.split(".")[0] in ("chatml", "llama3"):
        return Expectation(what, (PROMPT_LIKE, ("completion",), ("label",)))
    return _sft_type(name, what, messages, spec)


def _sft_type(name: str, what: str, messages: tuple[str, ...], spec) -> Expectation | None:
    base = name.split(":")[0].split(".")[0]
    table = {
        "chat_template": (messages,), "alpaca": (("instruction",), ("output",)),
        "alpaca_chat": (("instruction",), ("output",)), "alpaca_w_system": (("instruction",), ("output",)),
        "completion": ((spec.field or "text",),), "pretrain": (("text",),), "input_output": (("segments",),),
        "stepwise_supervised": (("prompt",), ("completions",), ("labels",)),
    }
    groups = table.get(base)
    return Expectation(what, groups) if groups else None


def _user_defined(kind: dict, method: str) -> Expectation:
    if method in PREFERENCE_RL:
        fields = (kind.get("field_prompt", "prompt"), kind.get("field_chosen", "chosen"),
                  kind.get("field_rejected", "rejected"))
    elif method == "kto":
        fields = (kind.get("field_prompt", "prompt"), kind.get("field_completion", "completion"),
                  kind.get("field_label", "label"))
    else:
        fields = (kind.get("field_instruction", "instruction"), kind.get("field_output", "output"))
    return Expectation("a user-defined type", tuple((f,) for f in fields))


def _trl_format(command: str) -> Expectation:
    formats = {
        "sft": ("text", "messages", "prompt"), "grpo": ("prompt",), "kto": ("prompt",),
    }
    if command in ("dpo", "orpo", "reward", "ipo", "simpo"):
        return Expectation(f"`trl {command}` preference data", (("chosen",), ("rejected",)))
    return Expectation(f"`trl {command}` data", (formats.get(command, ("text", "messages", "prompt")),))


def _data_location(report, line: int | None) -> str | None:
    file = report.first_file
    if file is None:
        return None
    return f"{file}:{line}" if line else str(file)


class DatasetPresent(DataRule):
    """Local datasets exist (a missing path is an error, never a silent hub lookup)."""

    code = "DAT501"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for report in pre.datasets:
            if report.located.kind == "missing":
                outcomes.append(Fail(
                    f"dataset `{report.spec.path}` is not there: looked for {report.located.path} (relative to the "
                    "config's folder) and in the working directory. Axolotl would query the hub for it instead and "
                    "fail with a network or 'repository not found' error", {"path": report.spec.path},
                    (Fix("fix the path; it is resolved against the config file's folder"),),
                    location=pre.at(report.path + ("path",))))
            elif report.located.note and report.located.kind != "hub":  # DAT502 says it, once
                outcomes.append(Info(f"dataset `{report.spec.path}`: {report.located.note}",
                                     location=pre.at(report.path + ("path",))))
        return outcomes or (Pass("every local dataset is there") if pre.datasets else NotApplicable("no datasets"))


class HubDataset(DataRule):
    """Hub datasets that are not in the local cache cannot be checked offline (noted once each)."""

    code = "DAT502"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre = ctx.pre
        hub = [r for r in pre.datasets if r.located.kind == "hub"]
        return [Info(f"dataset `{r.spec.path}` is a hub dataset not in the local cache ({hub_cache_dir()}): its "
                     "columns, size and lengths are not checked", location=pre.at(r.path + ("path",))) for r in hub] or \
            NotApplicable("no hub-only dataset")


class DatasetReadable(DataRule):
    """Each data file is what it claims to be: JSON lines, JSON, CSV or Parquet, complete and not binary."""

    code = "DAT503"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for report in pre.datasets:
            for sample in report.files:
                for problem in sample.problems:
                    location = f"{sample.path}:{problem.line}" if problem.line else str(sample.path)
                    if problem.kind == "unchecked":
                        outcomes.append(Info(f"{sample.path.name}: {problem.message}", location=location))
                        continue
                    outcomes.append(Fail(f"{sample.path.name}: {problem.message}", {"format": sample.format},
                                         (Fix(_fix(problem.kind)),), location=location))
            if report.located.kind in ("local", "cache") and not report.files:
                outcomes.append(Fail(f"dataset `{report.spec.path}` is a folder without data files (.jsonl, .json, "
                                     ".parquet, .csv, .arrow)", location=pre.at(report.path + ("path",))))
        return outcomes or (Pass("every data file reads") if pre.datasets else NotApplicable("no datasets"))


def _fix(kind: str) -> str:
    return {
        "not-jsonl": "write one JSON object per line (JSON lines); check the line named",
        "binary": "point `path` at the data file itself (JSON lines, JSON, CSV or Parquet)",
        "nul-tail": "download or copy the file again: it was not completely written",
        "truncated": "the file looks cut off: download or copy it again",
        "not-utf8": "save the file as UTF-8",
        "empty": "the file has no examples",
    }.get(kind, "check the file")


class Columns(DataRule):
    """The data has the columns its `type` (and the training method) reads."""

    code = "DAT504"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for report in pre.datasets:
            if not report.columns:
                continue
            expected = expectation(report.spec, pre.plan.method, pre.loaded.dialect, pre.loaded.trl_command)
            if expected is None:
                outcomes.append(Info(f"dataset `{report.spec.path}`: type `{report.spec.type}` is not one ftdoctor "
                                     f"knows the columns of; found {', '.join(report.columns[:8])}",
                                     location=pre.at(report.path + ("type",))))
                continue
            missing = [group for group in expected.groups if not set(group) & set(report.columns)]
            if missing:
                wanted = " and ".join(" or ".join(f"`{c}`" for c in g) for g in missing)
                outcomes.append(Fail(
                    f"dataset `{report.spec.path}` ({expected.what}) needs {wanted}; its columns are "
                    f"{', '.join(report.columns[:10]) or 'none'} ({FORMAT_NAMES[report.shape]})",
                    {"columns": list(report.columns), "missing": [list(g) for g in missing]},
                    (Fix(_column_fix(report, expected, pre.plan.method)),), location=pre.at(report.path + ("type",))))
        return outcomes or (Pass("every dataset has the columns its type reads") if pre.datasets
                            else NotApplicable("no datasets"))


def _column_fix(report, expected: Expectation, method: str) -> str:
    if report.shape == "preference":
        return _preference_fix(report, method)
    if report.shape == "conversational" and "messages" in report.columns:
        return "use `type: chat_template` for conversations"
    if report.shape in ("conversational", "sharegpt"):
        column = next(c for c in ("conversations", "conversation", "messages") if c in report.columns)
        return f"set `field_messages: {column}` (and message_property_mappings for from/value turns)"
    if report.shape == "alpaca":
        return "use `type: alpaca` for instruction/output data"
    return "rename the columns, or pick the `type` that matches them (docs/config.md)"


def _preference_fix(report, method: str) -> str:
    """chat_template.default reads the prompt from `field_messages` (a string becomes one user turn), the answers
    from chosen/rejected; without a prompt column the conversations in chosen/rejected carry it (argilla_chat)."""
    prompt = next((c for c in ("prompt", "question", "instruction") if c in report.columns), None)
    if prompt:
        how = f"`type: chat_template.default` with `field_messages: {prompt}`"
    else:
        how = "`type: chat_template.argilla_chat` (the conversation is in chosen/rejected)"
    if method in PREFERENCE_RL:
        return f"use {how}"
    return f"this is preference data: train it with `rl: dpo` and {how}"


class Conversations(DataRule):
    """Conversations are lists of turns with the role and content keys, and have an assistant turn to learn."""

    code = "DAT505"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for report in pre.datasets:
            stats = report.messages
            if stats is None or not stats.checked or stats.column not in report.columns:
                continue
            outcomes.extend(self._problems(report, stats))
        return outcomes or (Pass("conversations are well formed") if any(r.messages for r in pre.datasets)
                            else NotApplicable("no conversational data read"))

    def _problems(self, report, stats):
        name = report.spec.path
        result = []
        if stats.bad_message:
            hint = ("set `message_property_mappings: {role: from, content: value}`" if report.shape == "sharegpt"
                    else f"each turn needs `{stats.role_key}` and `{stats.content_key}` (message_property_mappings "
                         "maps other names)")
            result.append(Fail(f"dataset `{name}`: {len(stats.bad_message)} of {stats.checked} sampled conversations "
                               f"have a turn without `{stats.role_key}`/`{stats.content_key}`", fixes=(Fix(hint),),
                               location=_data_location(report, stats.bad_message[0])))
        # In preference pairs, field_messages holds the prompt: a string is one user turn (chat_template.default
        # wraps it) and the assistant turns are chosen/rejected.
        paired = report.shape == "preference"
        if stats.not_a_list and not paired:
            result.append(Fail(f"dataset `{name}`: `{stats.column}` is not a list of turns in "
                               f"{len(stats.not_a_list)} sampled rows", location=_data_location(report, stats.not_a_list[0])))
        if stats.no_assistant and not paired:
            result.append(Fail(f"dataset `{name}`: {len(stats.no_assistant)} of {stats.checked} sampled conversations "
                               "have no assistant turn: nothing to learn from them (TRL raises on such examples with "
                               "assistant-only loss)", fixes=(Fix("map your roles with `roles: {assistant: [gpt]}`, "
                               "or drop those rows"),), severity=Severity.WARNING,
                               location=_data_location(report, stats.no_assistant[0])))
        if stats.unknown_roles:
            result.append(Fail(f"dataset `{name}`: unknown roles {', '.join(map(str, stats.unknown_roles[:5]))}",
                               fixes=(Fix("map them with `roles:` (e.g. {user: [human], assistant: [gpt]})"),),
                               severity=Severity.WARNING, location=_data_location(report, None)))
        return result


class Lengths(DataRule):
    """Examples fit in sequence_len (longer ones are dropped by default, or truncated)."""

    code = "DAT506"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        strategy = pre.config.excess_length_strategy or "drop"
        for report in pre.datasets:
            lengths = report.lengths
            if lengths is None:
                continue
            how = "tokenized" if lengths.exact else "estimated"
            facts = (f"{lengths.over} of {lengths.measured} sampled examples ({lengths.share_over:.1%}) are longer "
                     f"than sequence_len {lengths.limit} ({how}: median {lengths.median}, 95th percentile "
                     f"{lengths.p95}, longest {lengths.longest} tokens; {lengths.method})")
            where = pre.at(("sequence_len",)) if pre.loaded.has("sequence_len") else pre.at(report.path)
            evidence = {"over": lengths.over, "measured": lengths.measured, "p95": lengths.p95,
                        "longest": lengths.longest, "exact": lengths.exact}
            if lengths.over == 0:
                outcomes.append(Pass(f"dataset `{report.spec.path}`: every sampled example fits ({how}, longest "
                                     f"{lengths.longest} tokens)", evidence, location=where))
                continue
            fate = {"drop": "they will be dropped", "truncate": "they will be cut", "raise": "training will stop"}
            severity = Severity.ERROR if lengths.over == lengths.measured or strategy == "raise" else (
                Severity.WARNING if lengths.share_over >= 0.02 else Severity.INFO)
            fix = Fix(f"raise sequence_len to about {lengths.p95} (the 95th percentile) or shorten the data")
            outcomes.append(Fail(f"dataset `{report.spec.path}`: {facts}; {fate.get(strategy, '')}"
                                 f" (excess_length_strategy: {strategy})", evidence, (fix,), severity=severity,
                                 location=where))
        return outcomes or NotApplicable("no local data to measure")


class MethodMatchesData(DataRule):
    """The data's format suits the training method (preference pairs for DPO, conversations or text for SFT)."""

    code = "DAT507"

    def check(self, ctx: Context):
        pre = ctx.pre
        method = pre.plan.method
        outcomes = []
        for report in pre.datasets:
            if not report.columns or report.shape == "unknown":
                continue
            if method == "sft" and report.shape in ("preference", "unpaired_preference"):
                outcomes.append(Fail(f"dataset `{report.spec.path}` holds {FORMAT_NAMES[report.shape]}, but the config "
                                     "trains supervised fine-tuning (no `rl`)", fixes=(Fix("add `rl: dpo` (or kto), "
                                     "or use SFT data"),), severity=Severity.WARNING,
                                     location=pre.at(report.path + ("type",))))
            if method in PREFERENCE_RL and report.shape not in ("preference",):
                outcomes.append(Fail(f"`rl: {method}` trains on preference pairs, but dataset `{report.spec.path}` "
                                     f"holds {FORMAT_NAMES[report.shape]}", fixes=(Fix("use data with chosen and "
                                     "rejected answers"),), location=pre.at(report.path + ("path",))))
        return outcomes or (Pass(f"the data suits {method}") if pre.datasets else NotApplicable("no datasets"))


class LoaderNamePitfall(DataRule):
    """A local file goes in `path` itself, not as `path: json` + data_files (which makes the hub look for `json`)."""

    code = "DAT508"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for i, spec in enumerate(pre.config.datasets or ()):
            if spec.path in ("json", "csv", "parquet", "text", "arrow") and spec.data_files:
                outcomes.append(Fail(f"`path: {spec.path}` with data_files: Axolotl treats `{spec.path}` as a hub "
                                     f"repository and fails with RepositoryNotFoundError (axolotl-ai-cloud/axolotl#2709)",
                                     fixes=(Fix(f"write the file itself: `path: {spec.data_files if isinstance(spec.data_files, str) else spec.data_files[0]}` "
                                                f"(optionally `ds_type: {spec.path}`)"),),
                                     location=pre.at(("datasets", i, "path"))))
        return outcomes or NotApplicable("no loader-name paths")


class ShareGptType(DataRule):
    """Datasets do not use the removed `sharegpt` type."""

    code = "DAT509"

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for section in ("datasets", "test_datasets"):
            for i, spec in enumerate(getattr(pre.config, section) or ()):
                if isinstance(spec.type, str) and spec.type.startswith("sharegpt"):
                    outcomes.append(Fail(f"`type: {spec.type}` was removed (Axolotl: \"`type: sharegpt.*` is "
                                         "deprecated. Please use `type: chat_template` instead.\")",
                                         fixes=(Fix("type: chat_template with field_messages: conversations and "
                                                    "message_property_mappings: {role: from, content: value}"),),
                                         location=pre.at((section, i, "type"))))
        return outcomes or NotApplicable("no sharegpt type")


class Summary(DataRule):
    """What each local dataset holds (format, examples, columns)."""

    code = "DAT510"
    severity = Severity.INFO

    def check(self, ctx: Context):
        pre = ctx.pre
        outcomes = []
        for report in pre.datasets:
            if not report.files:
                continue
            count = f"{report.count:,}" if report.count is not None else "?"
            if not report.count_exact:
                count = f"about {count} (estimated from the file size)"
            formats = ", ".join(sorted({f.format for f in report.files}))
            outcomes.append(Info(f"dataset `{report.spec.path}`: {count} examples, {formats}, "
                                 f"{FORMAT_NAMES[report.shape]}; columns {', '.join(report.columns[:10])}",
                                 {"count": report.count, "exact": report.count_exact, "columns": list(report.columns)},
                                 location=pre.at(report.path + ("path",))))
        return outcomes or NotApplicable("no local data")


class ValidationSplit(DataRule):
    """val_set_size leaves data for both training and evaluation."""

    code = "DAT511"

    def check(self, ctx: Context):
        pre, c = ctx.pre, ctx.pre.config
        size = c.val_set_size or 0
        counts = [r.count for r in pre.datasets if r.section == "datasets" and r.count is not None]
        if not size or not counts or len(counts) != len(c.datasets or ()):
            return NotApplicable("no validation split to judge")
        total = sum(counts)
        held = size if size >= 1 else size * total
        where = pre.at(("val_set_size",))
        if held >= total:
            return Fail(f"val_set_size {size:g} holds out {held:,.0f} of {total:,} examples: nothing left to train on",
                        fixes=(Fix("use a share below 1, e.g. val_set_size: 0.05"),), location=where)
        if held < 1:
            return Fail(f"val_set_size {size:g} of {total:,} examples holds out {held:.2f}: no evaluation example",
                        fixes=(Fix("raise val_set_size or set it to 0"),), severity=Severity.WARNING, location=where)
        return Pass(f"{held:,.0f} examples held out for evaluation, {total - held:,.0f} for training")


RULES = (DatasetPresent, HubDataset, DatasetReadable, Columns, Conversations, Lengths, MethodMatchesData,
         LoaderNamePitfall, ShareGptType, Summary, ValidationSplit)
