"""`ftdoctor matrix`: maintainer commands over the compatibility matrix: `verify` it against the package index,
generate its human-readable page (`docs`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ftdoctor.errors import ExitCode

DESCRIPTION = """Maintainer commands for ftdoctor's compatibility matrix (compat_matrix/*.toml).

  verify  re-derive from the package index what can be derived (versions that exist, the CUDA pins, ABI and
          compiled GPU architectures of torch's wheels, wheel tags and Python versions, bitsandbytes' native
          libraries, DeepSpeed's requirements and op-builder rules, the HF stack's Requires-Dist and
          Requires-Python) and report every disagreement with the data. Needs the network (pip's
          configured index), or recorded answers.
  docs    write the human-readable matrix page, generated from the data."""

EPILOG = """examples:
  ftdoctor matrix verify                          ask the index pip is configured with
  ftdoctor matrix verify --topic torch --json
  ftdoctor matrix verify --record tests/fixtures/index    also save the answers (for offline tests)
  ftdoctor matrix verify --recorded tests/fixtures/index  judge against saved answers, offline
  ftdoctor matrix docs -o docs/matrix.md --force
  ftdoctor matrix docs --check docs/matrix.md     exit 2 when the page is stale

exit codes:
  0  the matrix agrees with the index (docs: the page is current)
  2  disagreements found (docs --check: the page is stale)
  3  ftdoctor could not run (no network, unreadable recordings, existing output without --force)"""


VERIFY_EPILOG = """examples:
  ftdoctor matrix verify                          ask the index pip is configured with
  ftdoctor matrix verify --topic torch --json
  ftdoctor matrix verify --recorded tests/fixtures/index  judge against saved answers, offline

exit codes:
  0  the matrix agrees with the index
  2  disagreements found
  3  ftdoctor could not run (no network, unreadable recordings)"""

DOCS_EPILOG = """examples:
  ftdoctor matrix docs -o docs/matrix.md --force
  ftdoctor matrix docs --check docs/matrix.md     exit 2 when the page is stale

exit codes:
  0  written (--check: the page is current)
  2  --check: the page is stale
  3  ftdoctor could not run (existing output without --force, unreadable file)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ftdoctor.index.verify import TOPICS

    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    verify = sub.add_parser(
        "verify", help="compare the matrix with the package index", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Re-derive from the package index what can be derived, and report every disagreement with the matrix.",
        epilog=VERIFY_EPILOG,
    )
    verify.add_argument("--topic", action="append", choices=TOPICS, help="only these parts (repeatable; default all)")
    verify.add_argument("--recorded", metavar="DIR", help="use recorded index answers instead of the network")
    verify.add_argument("--record", metavar="DIR", help="save every index answer into DIR (for offline runs)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    docs = sub.add_parser(
        "docs", help="generate the human-readable matrix page", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write the human-readable matrix page (docs/matrix.md), generated from compat_matrix/*.toml.",
        epilog=DOCS_EPILOG,
    )
    docs.add_argument("-o", "--output", metavar="FILE", help="write the page here (default: stdout)")
    docs.add_argument("--force", action="store_true", help="replace an existing file")
    docs.add_argument("--check", metavar="FILE", help="compare FILE with the generated page instead of writing")


def run(args: argparse.Namespace) -> int:
    return {"verify": _verify, "docs": _docs}[args.action](args)


def _verify(args: argparse.Namespace) -> int:
    from ftdoctor.index.verify import TOPICS, verify
    from ftdoctor.matrix import load_matrix

    index, recorder = _index(args)
    report = verify(load_matrix(), index, tuple(args.topic or TOPICS))
    if recorder is not None:
        written = recorder.save(args.record)
        print(f"ftdoctor: recorded {len(written)} index answer file(s) in {args.record}", file=sys.stderr)
    code = ExitCode.ERRORS if report.disagreements else ExitCode.OK
    if args.json:
        from ftdoctor.report.envelope import envelope
        from ftdoctor.typed_data import to_plain

        data = {"checked": report.checked, "disagreements": [to_plain(d) for d in report.disagreements]}
        sys.stdout.write(envelope("matrix verify", code, data) + "\n")
        return code
    for d in report.disagreements:
        print(f"{d.file}  {d.row}  {d.field}: the matrix says {d.matrix}; the index says {d.index}")
    print(f"{report.checked} facts compared with the package index, {len(report.disagreements)} disagreement(s)")
    return code


def _index(args: argparse.Namespace):
    if args.recorded:
        from ftdoctor.index.recorded import RecordedIndex

        return RecordedIndex(args.recorded), None
    from ftdoctor.index.client import LiveIndex
    from ftdoctor.index.config import from_pip

    live = LiveIndex(from_pip())
    if not args.record:
        return live, None
    from ftdoctor.index.recorded import Recorder

    recorder = Recorder(live)
    return recorder, recorder


def _docs(args: argparse.Namespace) -> int:
    from ftdoctor import atomic
    from ftdoctor.lock.render import matrix_version
    from ftdoctor.matrix import load_matrix
    from ftdoctor.matrix.docs import render

    page = render(load_matrix(), matrix_version())
    if args.check:
        current = _read(args.check)
        if current == page:
            print(f"{args.check} is current")
            return ExitCode.OK
        print(f"{args.check} is stale: regenerate it with `ftdoctor matrix docs -o {args.check} --force`")
        return ExitCode.ERRORS
    if args.output:
        atomic.write_text(args.output, page, overwrite=args.force)
        print(f"ftdoctor: matrix page written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(page)
    return ExitCode.OK


def _read(path: str) -> str:
    from ftdoctor.errors import unreadable

    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise unreadable(exc, path, "the matrix page", f"generate it with `ftdoctor matrix docs -o {path}`") from None
