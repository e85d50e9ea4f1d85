"""CFG100-119: the config text itself. Each rule reports the validator's issues of one kind, one finding
per key with its `config.yml:LINE`."""

from __future__ import annotations

from ftdoctor.findings import Fix, Severity
from ftdoctor.trainer.config.trl_dialect import vocabulary_command
from ftdoctor.rules.base import Context, Fail, Info, Pass, Rule

DOCS = "docs/config.md"


class IssueRule(Rule):
    family = "config"
    kinds: tuple[str, ...] = ()
    ok: str = ""

    def check(self, ctx: Context):
        pre = ctx.pre
        issues = [i for i in pre.loaded.issues if i.kind in self.kinds]
        if not issues:
            return Pass(self.ok or "none")
        return [self.outcome(pre, issue) for issue in issues]

    def outcome(self, pre, issue):
        fixes = (Fix(issue.hint),) if issue.hint else ()
        where = pre.at(issue.path)
        if issue.severity == Severity.INFO:
            return Info(issue.message, {"key": _key(issue.path)}, fixes, location=where)
        return Fail(issue.message, {"key": _key(issue.path)}, fixes, severity=issue.severity, location=where)


def _key(path) -> str:
    return ".".join(str(p) for p in path)


class UnknownKey(IssueRule):
    """Every key is one the config format knows (a typo is an error, never dropped silently)."""

    code = "CFG101"
    kinds = ("unknown",)
    ok = "every key is known"


class UnknownTrlKey(IssueRule):
    """Every key of a TRL CLI config is one its `trl` command reads (`--config` drops the others silently)."""

    code = "CFG102"
    kinds = ("unknown-trl",)
    ok = "every key is a key of the TRL command"

    def check(self, ctx: Context):
        if ctx.pre.loaded.dialect != "trl":
            return Pass("not a TRL CLI config")
        known = ctx.matrix.trainer_api
        issues = [i for i in ctx.pre.loaded.issues if i.kind == "unknown-trl"
                  and known.key(str(i.path[-1]), vocabulary_command(ctx.pre.loaded.trl_command or "")) is None]
        return [self.outcome(ctx.pre, i) for i in issues] or Pass(self.ok)


class WrongType(IssueRule):
    """Every value has the type its key needs."""

    code = "CFG103"
    kinds = ("type",)
    ok = "every value has the right type"


class BadValue(IssueRule):
    """Every value is one its key allows (choices and ranges)."""

    code = "CFG104"
    kinds = ("value",)
    ok = "every value is allowed"


class MissingKey(IssueRule):
    """The keys a config cannot do without are there (base_model, learning_rate, datasets)."""

    code = "CFG105"
    kinds = ("required",)
    ok = "base_model, learning_rate and the training data are set"


class RenamedKey(IssueRule):
    """Keys from other tools' vocabularies (TRL, transformers, LLaMA-Factory) are written with Axolotl's names."""

    code = "CFG106"
    severity = Severity.WARNING
    kinds = ("renamed",)
    ok = "no key from another tool's vocabulary"


class LegacySpelling(IssueRule):
    """Legacy spellings that Axolotl still accepts (noted, read as the current key)."""

    code = "CFG107"
    severity = Severity.INFO
    kinds = ("legacy",)
    ok = "no legacy spelling"


class RemovedKey(IssueRule):
    """No key that Axolotl no longer supports."""

    code = "CFG108"
    kinds = ("removed",)
    ok = "no removed key"


class IgnoredKey(IssueRule):
    """No key that is accepted but no longer has any effect."""

    code = "CFG109"
    severity = Severity.WARNING
    kinds = ("ignored",)
    ok = "no ignored key"


class DuplicateKey(IssueRule):
    """No key is set twice (YAML keeps the last silently)."""

    code = "CFG110"
    severity = Severity.WARNING
    kinds = ("duplicate",)
    ok = "no key is set twice"


class ContradictingSpellings(IssueRule):
    """An old and a new spelling of one setting do not disagree (nor a legacy attention flag and its successor)."""

    code = "CFG111"
    kinds = ("conflict",)
    ok = "no setting is given twice under different names"


class AxolotlOnlyKey(IssueRule):
    """Axolotl keys that ftdoctor does not check (noted)."""

    code = "CFG112"
    severity = Severity.INFO
    kinds = ("axolotl", "trl-only")
    ok = "every key is one ftdoctor checks"


class PluginKey(Rule):
    """Keys of an Axolotl plugin are used only with that plugin listed under `plugins`."""

    code = "CFG113"
    family = "config"
    severity = Severity.WARNING

    def check(self, ctx: Context):
        from ftdoctor.trainer.config.vocabulary import axolotl_vocabulary

        pre = ctx.pre
        listed = " ".join(pre.config.plugins or ())
        outcomes = []
        for name in pre.config.extras:
            plugin = axolotl_vocabulary().plugins.get(name)
            if plugin and f".{plugin}" not in listed and plugin not in listed:
                outcomes.append(Fail(
                    f"`{name}` belongs to Axolotl's `{plugin}` plugin, which is not under `plugins:`; Axolotl drops "
                    "the key silently", {"key": name, "plugin": plugin},
                    (Fix(f"add the plugin: `plugins: [axolotl.integrations.{plugin}.…Plugin]`, or delete `{name}`"),),
                    location=pre.at((name,))))
        return outcomes or Pass("every plugin key has its plugin listed")


class Dialect(IssueRule):
    """How the config was read (its dialect)."""

    code = "CFG100"
    severity = Severity.INFO
    kinds = ("dialect",)

    def check(self, ctx: Context):
        pre = ctx.pre
        if pre.loaded.dialect == "axolotl":
            return Info(f"read as an Axolotl-style config: {len(pre.loaded.source.data)} keys",
                        location=pre.at(()))
        return super().check(ctx)


RULES = (Dialect, UnknownKey, UnknownTrlKey, WrongType, BadValue, MissingKey, RenamedKey, LegacySpelling,
         RemovedKey, IgnoredKey, DuplicateKey, ContradictingSpellings, AxolotlOnlyKey, PluginKey)
