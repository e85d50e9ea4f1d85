"""Any input is read without a crash: encodings, colours, line ends, interleaved ranks, junk, size."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
import textwrap

import pytest

from ftdoctor.explain import explain_stream, explain_text
from ftdoctor.explain.catalog import load_catalog
from ftdoctor.explain.scan import Index, Scanner

OOM = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 23.65 GiB of which 1.00 MiB is free."
WRAPPED = ("RuntimeError:\n      The detected CUDA version (11.8) mismatches the version that was used to compile\n"
           "      PyTorch (12.4). Please make sure to use the same CUDA versions.\n")


def explain_bytes(data: bytes):
    return explain_stream(io.BytesIO(data))


def categories(result) -> list[str]:
    return [d.category for d in result.diagnoses]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_any_encoding(encoding):
    text = "step 1 loss 2.3 — ünïcödé\n" + OOM + "\n"
    result = explain_bytes(text.encode(encoding))
    assert categories(result) == ["oom_gpu"]
    assert result.diagnoses[0].evidence[0].line == 2


def test_bomless_utf16_is_recognised():
    result = explain_bytes(("a\n" * 50 + OOM + "\n").encode("utf-16-le"))
    assert result.read.encoding == "utf-16-le" and categories(result) == ["oom_gpu"]


def test_invalid_bytes_are_replaced_and_reported():
    result = explain_bytes(b"caf\xe9 \xff\xfe\xfd\n" + OOM.encode() + b"\n")
    assert result.read.replaced and categories(result) == ["oom_gpu"]


def test_ansi_colours_are_stripped_even_inside_the_message():
    coloured = "\x1b[31mtorch.OutOfMemoryError\x1b[0m: CUDA \x1b[1mout of memory\x1b[0m. Tried to allocate 2.00 GiB"
    result = explain_text("\x1b[32mINFO\x1b[0m start\n" + coloured + "\n")
    assert categories(result) == ["oom_gpu"] and result.read.ansi_stripped
    assert "\x1b" not in result.diagnoses[0].evidence[0].text


def test_windows_line_ends_and_carriage_return_progress_bars():
    log = "epoch 1\r\n" + "  3%|#  | 3/100\r  4%|#  | 4/100\r" + OOM + "\r\n" + WRAPPED.replace("\n", "\r\n")
    result = explain_text(log)
    assert categories(result) == ["oom_gpu", "toolkit_mismatch"] or set(categories(result)) == {"oom_gpu", "toolkit_mismatch"}
    oom = next(d for d in result.diagnoses if d.category == "oom_gpu")
    assert oom.evidence[0].line == 2 and oom.evidence[0].text.startswith("torch.OutOfMemoryError")
    mismatch = next(d for d in result.diagnoses if d.category == "toolkit_mismatch")
    assert mismatch.specifics["torch_cuda_log"] == "12.4"


def test_interleaved_ranks_keep_a_wrapped_message_together():
    log = textwrap.dedent("""\
        [rank0]: RuntimeError:
        [rank1]: loading shard 3/4
        [rank0]:       The detected CUDA version (11.8) mismatches the version that was used to compile
        [rank1]: loading shard 4/4
        [rank0]:       PyTorch (12.4). Please make sure to use the same CUDA versions.
        """)
    diagnosis = explain_text(log).diagnoses[0]
    assert diagnosis.category == "toolkit_mismatch"
    assert (diagnosis.specifics["toolkit_cuda"], diagnosis.specifics["torch_cuda_log"]) == ("11.8", "12.4")
    assert [e.line for e in diagnosis.evidence] == [3, 5]


def test_the_same_error_from_every_rank_is_one_diagnosis_with_a_count():
    log = "".join(f"[rank{r}]: {OOM}\n" for r in range(8))
    result = explain_text(log)
    assert len(result.diagnoses) == 1 and result.diagnoses[0].matches == 8
    assert len(result.diagnoses[0].evidence) == 1  # the same message once, not eight times


def test_binary_junk_never_crashes_and_never_invents_a_cause():
    rng = random.Random(7)
    junk = bytes(rng.getrandbits(8) for _ in range(300_000))
    result = explain_bytes(junk)
    assert not result.found
    assert categories(explain_bytes(junk + b"\n" + OOM.encode() + b"\n" + junk)) == ["oom_gpu"]


@pytest.mark.parametrize("data", [b"", b"\n", b"   \n\t\n", b"\x00\x00\x00", b"\xff\xfe", "\ufeff".encode()])
def test_empty_and_degenerate_inputs(data):
    result = explain_bytes(data)
    assert not result.found


def test_a_huge_line_without_line_breaks_is_read_in_bounded_pieces():
    result = explain_bytes(b"x" * (9 << 20) + OOM.encode())
    assert categories(result) == ["oom_gpu"] and result.read.lines == 1


def test_a_message_is_found_whatever_the_chunk_boundaries():
    log = "a\n" * 30 + WRAPPED + "b\n" * 5 + OOM + "\nc\n"
    whole = Scanner(Index(load_catalog()))
    whole.feed(log)
    expected = whole.finish()
    rng = random.Random(3)
    pieces = Scanner(Index(load_catalog()))
    pos = 0
    while pos < len(log):
        step = rng.randint(1, 9)
        pieces.feed(log[pos:pos + step])
        pos += step
    got = pieces.finish()
    assert set(got.hits) == set(expected.hits) and got.lines == expected.lines == log.count("\n")
    for key in expected.hits:
        assert [h.line for h in got.hits[key].hits()] == [h.line for h in expected.hits[key].hits()]


def test_a_character_whose_lower_case_is_longer_does_not_shift_lines():
    result = explain_text("İstanbul İ İ\n" * 3 + OOM + "\n")
    assert result.diagnoses[0].evidence[0].line == 4


def test_no_known_cause_shows_the_last_error_line():
    result = explain_text("ok\nValueError: something nobody has seen\nfinished\n")
    assert not result.found and result.last_error.line == 2


class LazyLog(io.RawIOBase):
    """`size` bytes of a training log, made as they are read: nothing this big is ever held or written."""

    def __init__(self, size: int, tail: bytes) -> None:
        self.left, self.tail = size, tail
        self.line = b"[rank0]: {'loss': 1.2345, 'grad_norm': 0.77, 'learning_rate': 2e-05, 'epoch': 0.42}\n" * 64

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.left <= 0:
            data, self.tail = self.tail, b""
        else:
            data = self.line[: min(len(self.line), self.left)]
            self.left -= len(data)
        buffer[: len(data)] = data
        return len(data)


@pytest.mark.slow
def test_a_200_mb_log_is_streamed_in_bounded_memory():
    code = textwrap.dedent(f"""
        import io, resource, sys
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_robust import LazyLog
        from ftdoctor.explain import explain_stream
        from ftdoctor.explain.catalog import load_catalog
        from ftdoctor.matrix import load_matrix
        load_catalog(); load_matrix()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stream = io.BufferedReader(LazyLog(200 << 20, {OOM.encode()!r} + b"\\n"), 1 << 20)
        result = explain_stream(stream)
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(result.read.bytes, result.read.lines, [d.category for d in result.diagnoses], (after - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True).stdout.split()
    read_bytes, lines, grown_mib = int(out[0]), int(out[1]), int(out[-1])
    assert read_bytes > 200 << 20 and lines > 2_000_000
    assert "'oom_gpu'" in " ".join(out)
    assert grown_mib < 120, f"resident memory grew by {grown_mib} MiB while reading 200 MB"


# --- the command line streams too: a file (here a FIFO, so nothing is ever on disk), standard input, --cmd ---------

LINE = b"[rank0]: {'loss': 1.2345, 'grad_norm': 0.77, 'learning_rate': 2e-05, 'epoch': 0.42}\n" * 64
BIG = 200 << 20
GENERATOR = (f"import sys\nline = {LINE!r}\nwrite = sys.stdout.buffer.write\n"
             f"for _ in range({BIG // len(LINE)}):\n    write(line)\nwrite({OOM.encode()!r} + b'\\n')\n")


def _feed(target, size: int) -> None:
    with target:
        for _ in range(size // len(LINE)):
            target.write(LINE)
        target.write(OOM.encode() + b"\n")


def _cli_peak(args: list[str], size: int = 0, fifo=None) -> tuple[dict, int]:
    """Run `ftdoctor explain ARGS --no-facts --json`, feeding `size` bytes of log to its stdin or to `fifo`: its
    answer and its peak resident memory in MiB (from wait4, this process alone)."""
    import json
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "ftdoctor", "explain", *args, "--no-facts", "--json"],
                            stdin=subprocess.PIPE if size and fifo is None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    feeder = None
    if size:
        sink = open(fifo, "wb") if fifo is not None else proc.stdin  # opening a FIFO waits for its reader
        feeder = threading.Thread(target=_feed, args=(sink, size))
        feeder.start()
    out = proc.stdout.read()
    _, _, usage = os.wait4(proc.pid, 0)
    if feeder is not None:
        feeder.join()
    proc.stdout.close()
    return json.loads(out), usage.ru_maxrss // 1024


@pytest.mark.slow
def test_the_command_line_streams_200_mb_from_a_file_stdin_and_a_command(tmp_path):
    small = tmp_path / "small.log"
    small.write_bytes(LINE + OOM.encode() + b"\n")
    _, baseline = _cli_peak([str(small)])
    fifo = tmp_path / "train.log"
    os.mkfifo(fifo)
    script = tmp_path / "generate.py"
    script.write_text(GENERATOR)
    runs = {
        "file": _cli_peak([str(fifo)], BIG, fifo=fifo),
        "stdin": _cli_peak(["-"], BIG),
        "cmd": _cli_peak(["--cmd", f"{sys.executable} {script}"]),
    }
    for how, (body, peak) in runs.items():
        data = body["data"]
        assert data["read"]["bytes"] > BIG - len(LINE) and data["read"]["lines"] > 2_000_000, how
        assert [d["category"] for d in data["diagnoses"]] == ["oom_gpu"], how
        assert peak - baseline < 100, f"{how}: peak memory {peak} MiB against {baseline} MiB for a small log"
