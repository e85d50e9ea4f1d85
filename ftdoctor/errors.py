"""The errors a user can cause, and the exit codes every command shares.

Each error renders as one line: what was wrong, where, and how to fix it. Exceptions are mapped to exit
codes in one place (`ftdoctor.cli.run`), never scattered through the commands.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    WARNINGS = 1
    ERRORS = 2
    COULD_NOT_RUN = 3
    TRAINING_FAILED = 4  # ftdoctor train: the training processes failed (the gate had let them start)
    INTERRUPTED = 130


class FtdoctorError(Exception):
    """A problem with the user's input or machine that stops a command before it can judge anything."""

    code = "ftdoctor-error"
    exit_code = ExitCode.COULD_NOT_RUN

    def __init__(self, what: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.where = where
        self.hint = hint

    def one_line(self) -> str:
        parts = [f"{self.where}: {self.what}" if self.where else self.what]
        if self.hint:
            parts.append(self.hint)
        return " — ".join(parts)


class UsageError(FtdoctorError):
    code = "usage"


class InputFileError(FtdoctorError):
    """A file the user pointed at is missing, unreadable, or not what it should be."""

    code = "input-file"


def unreadable(exc: OSError, where: str, expected: str, hint: str = "check the path") -> InputFileError:
    """A file the user named that could not be read, as one line: missing, a directory, or unreadable."""
    if isinstance(exc, FileNotFoundError):
        return InputFileError("no such file", where=where, hint=hint)
    if isinstance(exc, IsADirectoryError):
        return InputFileError(f"is a directory, expected {expected}", where=where)
    return InputFileError(f"cannot read: {exc.strerror or exc}", where=where)


class OutputExistsError(FtdoctorError):
    code = "output-exists"


class MatrixError(FtdoctorError):
    """The compatibility matrix shipped with ftdoctor is malformed: a bug in ftdoctor, not in the machine."""

    code = "matrix-invalid"


class NetworkError(FtdoctorError):
    code = "network"
