"""Run a child process so that whatever it does (segfault, hang, exhaust memory, spawn grandchildren)
becomes data for a fact, never a crash or a hang of ftdoctor.

The child gets its own session, so a timeout kills its whole process group; its output is captured and
bounded; a death by signal is named ("SIGSEGV"). `stream` is for a child whose output is the point (a training
command to explain): stdout and stderr in one pipe, read as it is written and never held whole.
"""

from __future__ import annotations

import io
import json
import os
import resource
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO, TypeVar

OUTPUT_LIMIT = 256 * 1024  # characters kept of each stream; the tail is what explains a failure
LINGER_S = 2.0  # how long grandchildren may keep a streamed child's output open after it exited
T = TypeVar("T")


@dataclass(frozen=True)
class ChildResult:
    argv: tuple[str, ...]
    returncode: int | None
    signal: str | None  # "SIGSEGV" when the child died by a signal
    timed_out: bool
    stdout: str
    stderr: str
    elapsed_s: float
    start_error: str | None = None  # the program could not be started at all

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out and self.start_error is None

    def describe(self) -> str:
        """How the child ended, in words."""
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.timed_out:
            return f"did not finish within {self.elapsed_s:.0f} s (killed)"
        if self.signal:
            return f"killed by {self.signal}"
        return f"exited with status {self.returncode}"


class Running:
    """A started child; `result()` waits for it with the timeout given at start."""

    def __init__(self, argv: list[str], proc: subprocess.Popen[str] | None, timeout_s: float, error: str | None):
        self.argv = tuple(argv)
        self._proc = proc
        self._timeout = timeout_s
        self._start = time.monotonic()
        self._error = error
        self._result: ChildResult | None = None

    def cancel(self) -> None:
        """Kill a child whose answer is no longer wanted (its whole process group)."""
        if self._proc is not None and self._result is None:
            _kill_group(self._proc)
            self._proc.communicate()

    def result(self) -> ChildResult:
        if self._result is None:
            self._result = self._wait()
        return self._result

    def _wait(self) -> ChildResult:
        if self._proc is None:
            return ChildResult(self.argv, None, None, False, "", "", 0.0, start_error=self._error)
        remaining = max(0.0, self._timeout - (time.monotonic() - self._start))
        timed_out = False
        try:
            out, err = self._proc.communicate(timeout=remaining)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(self._proc)
            out, err = self._proc.communicate()
        finally:
            _kill_group(self._proc)  # grandchildren left behind by a child that exited
        code = self._proc.returncode
        sig = signal.Signals(-code).name if code is not None and code < 0 and not timed_out else None
        return ChildResult(
            argv=self.argv,
            returncode=None if timed_out else code,
            signal=sig,
            timed_out=timed_out,
            stdout=_tail(out),
            stderr=_tail(err),
            elapsed_s=round(time.monotonic() - self._start, 3),
        )


def start(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    timeout_s: float,
    cwd: str | None = None,
    stdin_text: str | None = None,
    memory_limit_bytes: int | None = None,
) -> Running:
    def limit() -> None:  # runs in the child between fork and exec
        if memory_limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit_bytes, memory_limit_bytes))

    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=limit if memory_limit_bytes else None,
        )
    except OSError as exc:
        return Running(argv, None, timeout_s, f"{exc.strerror or exc}: {argv[0]}")
    if stdin_text is not None:
        assert proc.stdin is not None
        try:
            proc.stdin.write(stdin_text)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    return Running(argv, proc, timeout_s, None)


def run(argv: list[str], **kwargs: object) -> ChildResult:
    return start(argv, **kwargs).result()  # type: ignore[arg-type]


def stream(argv: list[str], consume: Callable[[BinaryIO], T], *, timeout_s: float, env: dict[str, str] | None = None,
           echo: BinaryIO | None = None) -> tuple[ChildResult, T | None]:
    """Run a child whose stdout and stderr share one pipe (in the order it wrote them) and hand that pipe to
    `consume` while the child runs: its output is read as a stream, whatever its size. `echo` also gets every
    byte as it arrives. At the time limit the child's process group is killed, which ends the stream; after the
    child exits, grandchildren holding its output get LINGER_S, then go too. The result's stdout and stderr are
    empty: the output went to `consume`."""
    started = time.monotonic()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True)
    except OSError as exc:
        return ChildResult(tuple(argv), None, None, False, "", "", 0.0, start_error=f"{exc.strerror or exc}: {argv[0]}"), None
    assert proc.stdout is not None
    timed_out, done = threading.Event(), threading.Event()

    def watch() -> None:
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            timed_out.set()
            _kill_group(proc)
            return
        if not done.wait(LINGER_S):
            _kill_group(proc)

    threading.Thread(target=watch, daemon=True).start()
    try:
        value = consume(_Pipe(proc.stdout.fileno(), echo))
    finally:
        done.set()
        _kill_group(proc)  # consume failed, or grandchildren left behind by a child that exited
        proc.wait()
        proc.stdout.close()
    code = None if timed_out.is_set() else proc.returncode
    sig = signal.Signals(-code).name if code is not None and code < 0 else None
    return ChildResult(tuple(argv), code, sig, timed_out.is_set(), "", "", round(time.monotonic() - started, 3)), value


class _Pipe(io.RawIOBase):
    """A child's output pipe as a stream whose reads return what has arrived (not a full buffer), so a slow
    writer is read, and echoed, as it writes."""

    def __init__(self, fd: int, echo: BinaryIO | None) -> None:
        self._fd, self._echo = fd, echo

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = os.read(self._fd, len(buffer))
        if data and self._echo is not None:
            try:
                self._echo.write(data)
                self._echo.flush()
            except (OSError, ValueError):  # the echo was closed (a pager quit): keep reading, stop echoing
                self._echo = None
        buffer[: len(data)] = data
        return len(data)


def staged_records(stdout: str) -> tuple[dict, str]:
    """Merge the JSON object lines a probe child printed as it went, and name the last stage it reached.

    Children print one flushed line per stage, so after a hang or crash the parent still knows how far they got;
    lines that are not JSON objects (a library printing to stdout) are skipped.
    """
    records: dict = {}
    stage = ""
    for line in stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            stage = record.get("stage", stage)
            records.update({k: v for k, v in record.items() if k != "stage"})
    return records, stage


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(text: str | None) -> str:
    if not text:
        return ""
    return text if len(text) <= OUTPUT_LIMIT else "…" + text[-OUTPUT_LIMIT:]
