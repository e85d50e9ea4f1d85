"""The command line. Commands are a literal list; each lives in its own module, imported only when it runs,
so `ftdoctor --help` never pays for any of them. Exceptions become exit codes here and nowhere else."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from importlib import import_module

from ftdoctor import __version__
from ftdoctor.errors import ExitCode, FtdoctorError, UsageError


@dataclass(frozen=True)
class Command:
    name: str
    module: str
    help: str


COMMANDS = (
    Command("check", "ftdoctor.cli.check", "probe this machine (or a saved snapshot) and judge it"),
    Command("lock", "ftdoctor.cli.lock", "pin torch, its CUDA variant, the HF stack and extras for a target machine"),
    Command("fix", "ftdoctor.cli.fix", "plan (and with --apply run) the commands that fix what check finds"),
    Command("matrix", "ftdoctor.cli.matrix", "maintainer: verify the matrix against the package index, generate its page"),
    Command("compare", "ftdoctor.cli.compare", "compare the saved facts of several machines (the nodes of a cluster)"),
    Command("tui", "ftdoctor.cli.tui", "browse the findings and fixes in a terminal app"),
    Command("explain", "ftdoctor.cli.explain", "name the root cause and the fix from an error log"),
    Command("train", "ftdoctor.cli.train", "train a config once a gate checks it works here (--dry-run: preflight)"),
    Command("estimate", "ftdoctor.cli.estimate", "estimate a training config's peak GPU memory"),
    Command("demo", "ftdoctor.cli.demo", "train ftdoctor's tiny local model end to end (no download)"),
)

EXIT_CODES = """exit codes (`ftdoctor COMMAND --help` says what each means for that command):
  0    no problem found (explain: a cause was found; lock: a lock was chosen)
  1    warnings only (explain: no known cause; estimate: tight)
  2    errors (lock: nothing fits; estimate: does not fit; matrix: disagreements or a stale page)
  3    ftdoctor could not run (bad input, unreadable file, internal error)
  4    train: the training processes failed
  130  interrupted (Ctrl-C)"""


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and the 'could not run' exit code."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, where=self.prog, hint=f"see `{self.prog} --help`")


def top_parser() -> Parser:
    lines = "\n".join(f"  {c.name:<10} {c.help}" for c in COMMANDS)
    parser = Parser(
        prog="ftdoctor",
        description="Find what will break a fine-tuning run before the GPU time is spent.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"commands:\n{lines}\n\nrun `ftdoctor COMMAND --help` for a command's options.\n\n{EXIT_CODES}",
        usage="ftdoctor [--version] COMMAND [options]",
    )
    parser.add_argument("--version", action="version", version=f"ftdoctor {__version__}")
    return parser


def command_parser(command: Command, module: object) -> Parser:
    parser = Parser(
        prog=f"ftdoctor {command.name}",
        description=getattr(module, "DESCRIPTION", command.help),
        epilog=getattr(module, "EPILOG", EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser


def run(argv: list[str]) -> int:
    try:
        return _dispatch(argv)
    except FtdoctorError as exc:
        return _report_error(exc, argv)
    except KeyboardInterrupt:
        print("ftdoctor: interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # `ftdoctor check | head`
        return ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        if os.environ.get("FTDOCTOR_DEBUG"):
            raise
        print(
            f"ftdoctor: internal error: {type(exc).__name__}: {exc} — this is a bug in ftdoctor; "
            "run again with FTDOCTOR_DEBUG=1 for the traceback and report it",
            file=sys.stderr,
        )
        return ExitCode.COULD_NOT_RUN


def _dispatch(argv: list[str]) -> int:
    names = {c.name: c for c in COMMANDS}
    if not argv or argv[0] not in names:
        parser = top_parser()
        if argv and not argv[0].startswith("-"):
            from difflib import get_close_matches

            near = get_close_matches(argv[0], names, n=1)
            hint = f"did you mean `ftdoctor {near[0]}`?" if near else "see `ftdoctor --help`"
            raise UsageError(f"unknown command {argv[0]!r}", hint=hint)
        parser.parse_args(argv)  # --help / --version exit here
        parser.print_help()
        return ExitCode.OK
    command = names[argv[0]]
    module = import_module(command.module)
    args = command_parser(command, module).parse_args(argv[1:])
    return int(module.run(args))


def _wants_json(argv: list[str]) -> bool:
    """--json, --format json or --format=json: a script reads stdout, so the error comes as an envelope too."""
    pairs = zip(argv, argv[1:])
    return "--json" in argv or "--format=json" in argv or any(a == "--format" and b == "json" for a, b in pairs)


def _report_error(exc: FtdoctorError, argv: list[str]) -> int:
    if _wants_json(argv):
        from ftdoctor.report.envelope import error_envelope

        command = argv[0] if argv else ""
        print(error_envelope(command, exc))
    print(f"ftdoctor: error: {exc.one_line()}", file=sys.stderr)
    return exc.exit_code
