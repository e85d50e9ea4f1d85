from ftdoctor.facts.model import Facts
from ftdoctor.findings import Severity
from ftdoctor.rules.base import Context, Fail, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.engine import judge, order
from ftdoctor.rules.settings import Settings


class Root(Rule):
    """The root check."""

    code = "TST100"
    family = "test"

    def check(self, ctx):
        return Fail("root is broken")


class Child(Rule):
    """Needs the root."""

    code = "TST101"
    family = "test"
    requires = frozenset({"TST100"})

    def check(self, ctx):  # pragma: no cover - must never run while TST100 fails
        raise AssertionError("ran although its prerequisite failed")


class Fine(Rule):
    """Always fine."""

    code = "TST102"
    family = "test"

    def check(self, ctx):
        return Pass("all good")


class AfterFine(Rule):
    """Runs after the fine one."""

    code = "TST099"
    family = "test"
    requires = frozenset({"TST102"})

    def check(self, ctx):
        return Unknown("the fact was not collected")


class Crashes(Rule):
    """A rule with a bug."""

    code = "TST103"
    family = "test"

    def check(self, ctx):
        return {}["missing"]


class NeedsUnknown(Rule):
    """Requires a rule that could not tell."""

    code = "TST104"
    family = "test"
    requires = frozenset({"TST099"})

    def check(self, ctx):  # pragma: no cover
        raise AssertionError("ran although its prerequisite was unknown")


class Skips(Rule):
    """Not applicable here."""

    code = "TST105"
    family = "test"

    def check(self, ctx):
        return NotApplicable("no GPU")


RULES = [Root, Child, Fine, AfterFine, Crashes, NeedsUnknown, Skips]


def run(settings=None):
    return {f.code: f for f in judge(RULES, Context(facts=Facts(), matrix=None, settings=settings))}


def test_prerequisites_run_first_whatever_the_code_order():
    codes = [r.code for r in order(RULES)]
    assert codes.index("TST102") < codes.index("TST099") < codes.index("TST104")
    assert codes.index("TST100") < codes.index("TST101")


def test_failed_or_unknown_prerequisite_skips_dependents():
    found = run()
    assert found["TST100"].severity == Severity.ERROR
    assert found["TST101"].severity == Severity.SKIPPED
    assert "requires TST100" in found["TST101"].message
    assert found["TST099"].severity == Severity.WARNING
    assert found["TST099"].message.startswith("unknown: ")
    assert found["TST104"].severity == Severity.SKIPPED
    assert found["TST105"].severity == Severity.SKIPPED


def test_a_crashing_rule_becomes_one_error_finding():
    found = run()
    assert found["TST103"].severity == Severity.ERROR
    assert "crashed (KeyError" in found["TST103"].message
    assert found["TST102"].severity == Severity.OK


def test_ignored_rules_are_reported_skipped_with_the_reason():
    found = run(Settings(ignore={"TST100": "known broken"}))
    assert found["TST100"].severity == Severity.SKIPPED
    assert found["TST100"].message == "ignored: known broken"
    assert found["TST101"].severity == Severity.SKIPPED


def test_pip_fixes_survive_being_pasted_into_a_shell(tmp_path):
    import shlex
    import subprocess

    ctx = Context(facts=Facts(), matrix=None)
    command = ctx.pip("install", "trl>=1.0", "ftdoctor-cli[train]", '"numpy<2"', "ninja")
    # The shell must hand pip each requirement whole: no redirect to a file named "=1.0", no glob.
    argv = subprocess.run(["sh", "-c", 'printf "%s\\n" ' + command.split(" -m pip ", 1)[1]],
                          cwd=tmp_path, capture_output=True, text=True, check=True).stdout.splitlines()
    assert argv == ["install", "trl>=1.0", "ftdoctor-cli[train]", "numpy<2", "ninja"]
    assert not list(tmp_path.iterdir())
    assert shlex.split(command)[:3] == ["python", "-m", "pip"]
