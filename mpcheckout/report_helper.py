"""A big report file is parsed in a helper process while this one writes it to the store.

Why: reading a settlement row (CSV, amounts, dates, its identity) costs about as much CPU as
writing it with its money summaries, and one Python process does one at a time. A helper
process started for one file (`python -m mpcheckout.report_helper`) parses and encodes it, and
streams batches of ready rows back over a pipe; this process only writes them, all in the same
single transaction as before. `marshal`, not pickle: both ends are the same interpreter, the
rows are tuples of text, numbers and None, and marshal writes them in half pickle's time.
Small files are not worth the helper's start (~0.1 s): they are parsed in this process
(report_imports.HELPER_MIN_BYTES). Only for a store that takes rows as text (SQLite's
"text" report_encoding): marshal carries neither Decimal nor datetime, and PostgreSQL's own
inserts, not the parsing, bound its import.

What crosses the pipe, one marshalled tuple each, after its length (8 bytes, little-endian):
    ("batch", *ReportBatch)                    rows ready for the store
    ("unreadable", reason, details)            the file is not a report, or a row of it is bad
    ("done",)                                  the whole file was read
A helper that ends without "done" (killed, crashed) fails the import with ReportReaderError,
and the store's transaction leaves nothing of the file behind.
"""

from __future__ import annotations

import marshal
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, BinaryIO, cast

import mpcheckout

from .errors import AppError
from .reports.errors import ReportFormatError, ReportProblem
from .reports.parse import open_report
from .store.rows import ReportBatch, report_batches

_LENGTH = 8
PIPE_BYTES = 1 << 20  # a pipe that holds about two batches: the helper reads ahead of the writer


class ReportReaderError(AppError):
    """The helper process stopped before it had read the whole file."""

    code = "report_reader_stopped"
    message_key = "error.report_reader_stopped"


def helper_command() -> list[str]:
    return [sys.executable, "-m", "mpcheckout.report_helper"]


class HelperBatches:
    """The batches of one file, as a helper process reads them. A context manager: leaving it
    (the store failed, the user pressed Ctrl-C) stops the helper."""

    def __init__(
        self,
        path: Path,
        *,
        name: str,
        separator: str,
        file_sha256: str,
        command: Sequence[str] | None = None,
    ) -> None:
        self._name = name
        argv = [*(command or helper_command()), str(path), name, separator, file_sha256]
        self._process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, env=_helper_environment()
        )
        self._output = cast(IO[bytes], self._process.stdout)
        _widen_pipe(self._output)

    def __enter__(self) -> HelperBatches:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._process.poll() is None:
            self._process.kill()
        self._output.close()
        self._process.wait()

    def __iter__(self) -> Iterator[ReportBatch]:
        while True:
            message = self._receive()
            if message is None:
                raise ReportReaderError(file=self._name, status=self._process.wait())
            if message[0] == "batch":
                yield ReportBatch(*message[1:])
            elif message[0] == "unreadable":
                raise _unreadable(message[1], message[2])
            else:
                return

    def _receive(self) -> tuple[Any, ...] | None:
        """The next message, or None when the pipe ended before a whole one."""
        head = self._output.read(_LENGTH)
        if len(head) < _LENGTH:
            return None
        size = int.from_bytes(head, "little")
        body = self._output.read(size)
        return cast(tuple[Any, ...], marshal.loads(body)) if len(body) == size else None


def _send(output: BinaryIO, message: tuple[Any, ...]) -> None:
    body = marshal.dumps(message)
    output.write(len(body).to_bytes(_LENGTH, "little"))
    output.write(body)


def _helper_environment() -> dict[str, str]:
    """The helper imports this very package, wherever it was imported from."""
    here = str(Path(mpcheckout.__file__).resolve().parent.parent)
    paths = [here, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _widen_pipe(pipe: IO[bytes]) -> None:
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except (ImportError, OSError):
        pass  # Linux only, and capped by /proc/sys/fs/pipe-max-size: a smaller pipe only waits


def _unreadable(reason: str, details: dict[str, Any]) -> ReportFormatError:
    params = {key: value for key, value in details.items() if key not in ("reason", "file")}
    return ReportFormatError(ReportProblem(reason), file=details["file"], **params)


def read_into(output: BinaryIO, arguments: Sequence[str]) -> None:
    """The helper's side: parse the file, write each message to `output`."""
    path, name, separator, file_sha256 = arguments
    with Path(path).open("rb") as stream:
        try:
            reader = open_report(stream, name=name, separator=separator)
            rows = reader.rows_or_plain()
            for batch in report_batches(rows, file_sha256, "text", stream.tell):
                _send(output, ("batch", *batch))
        except ReportFormatError as exc:
            _send(output, ("unreadable", exc.reason.value, exc.details))
            return
    _send(output, ("done",))


def main(arguments: Sequence[str]) -> int:
    """The helper process: quiet whatever happens to the process that started it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the importing process stops us
    try:
        read_into(sys.stdout.buffer, arguments)
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the importing process stopped reading: it failed or was stopped
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
