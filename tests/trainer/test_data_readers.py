"""Data files read from disk: format from the bytes, counts, a sample, and every broken file as one finding."""

from __future__ import annotations

import json
import tracemalloc

import pytest

from ftdoctor.trainer.data.readers import read_sample


def jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_jsonl_counts_every_line_and_samples(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": f"row {i}"} for i in range(2500)])
    sample = read_sample(path)
    assert (sample.format, sample.count, sample.count_exact, sample.columns) == ("jsonl", 2500, True, ("text",))
    assert len(sample.records) == 1000 and sample.sampled_from == "reservoir"
    lines = [line for line, _ in sample.records]
    assert max(lines) > 1000  # the sample reaches past the head of the file
    assert all(record == {"text": f"row {line - 1}"} for line, record in sample.records)  # line numbers are right


def test_blank_lines_are_not_examples(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n\n', encoding="utf-8")
    assert read_sample(path).count == 2


def test_a_bad_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3,\n{"a": 4}\n', encoding="utf-8")
    sample = read_sample(path)
    [problem] = [p for p in sample.problems if p.kind == "not-jsonl"]
    assert problem.line == 3


def test_a_file_that_is_not_json_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("instruction,output\nhello,world\n", encoding="utf-8")
    sample = read_sample(path)
    assert sample.format == "text" or sample.problems
    path = tmp_path / "e.jsonl"
    path.write_text('{"a": 1}\nthis is not json\n', encoding="utf-8")
    assert [(p.kind, p.line) for p in read_sample(path).problems][0] == ("not-jsonl", 2)


def test_json_array_and_object_with_a_list(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"prompt": "p", "completion": "c"}] * 3), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"version": 1, "data": [{"text": "t"}] * 4}), encoding="utf-8")
    a, b = read_sample(tmp_path / "a.json"), read_sample(tmp_path / "b.json")
    assert (a.format, a.count, a.columns) == ("json", 3, ("prompt", "completion"))
    assert (b.format, b.count, b.columns) == ("json", 4, ("text",))


def test_csv(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("instruction,input,output\nsay hi,,hi\nadd,1 2,3\n", encoding="utf-8")
    sample = read_sample(path)
    assert (sample.format, sample.count, sample.columns) == ("csv", 2, ("instruction", "input", "output"))
    assert sample.records[0] == (2, {"instruction": "say hi", "input": "", "output": "hi"})


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"prompt": ["a", "b", "c"], "chosen": ["x"] * 3, "rejected": ["y"] * 3}), path)
    sample = read_sample(path)
    assert (sample.format, sample.count, sample.columns) == ("parquet", 3, ("prompt", "chosen", "rejected"))
    assert sample.records[0][1] == {"prompt": "a", "chosen": "x", "rejected": "y"}


def test_binary_and_empty_files(tmp_path):
    (tmp_path / "w.jsonl").write_bytes(b"PK\x03\x04" + bytes(200))
    (tmp_path / "e.jsonl").write_bytes(b"")
    assert [p.kind for p in read_sample(tmp_path / "w.jsonl").problems] == ["binary"]
    assert [p.kind for p in read_sample(tmp_path / "e.jsonl").problems] == ["empty"]


def test_a_cut_off_last_line(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": ', encoding="utf-8")
    assert [(p.kind, p.line) for p in read_sample(path).problems] == [("truncated", 3)]  # said once
    path.write_text('{"a": 1}\n{"messages": [{"role": "us', encoding="utf-8")
    assert [(p.kind, p.line) for p in read_sample(path).problems] == [("truncated", 2)]
    path.write_text('{"a": 1}\n{"messages": [bad json]}\n', encoding="utf-8")  # malformed, not cut off
    assert [(p.kind, p.line) for p in read_sample(path).problems] == [("not-jsonl", 2)]


def test_a_file_of_bad_lines_is_not_called_cut_off(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("instruction,output\nhello,world\nbye,now\n", encoding="utf-8")
    assert [(p.kind, p.line) for p in read_sample(path).problems] == [("not-jsonl", 1)]


def test_a_2_gb_file_is_sampled_not_read_whole(tmp_path):
    """A 2 GB JSON-lines file whose first rows are real and whose rest was never written (a sparse file, as a
    preallocated or interrupted download leaves it): the reader must stay fast and small, estimate the
    count, and say that the file ends in NUL bytes."""
    path = tmp_path / "big.jsonl"
    rows = "".join(json.dumps({"messages": [{"role": "user", "content": f"q{i}"}]}) + "\n" for i in range(5000))
    with path.open("wb") as handle:
        handle.write(rows.encode())
        handle.truncate(2 * 1024 ** 3)
    tracemalloc.start()
    sample = read_sample(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 * 1024 ** 2, f"{peak / 2**20:.0f} MiB: the file was loaded, not streamed"
    assert sample.count_exact is False and sample.count > 10 ** 6  # estimated from the size
    assert sample.sampled_from == "head" and len(sample.records) == 1000
    assert [p.kind for p in sample.problems] == ["nul-tail"]


def test_exact_count_limit_switches_to_an_estimate(tmp_path):
    path = jsonl(tmp_path / "d.jsonl", [{"text": "x" * 50}] * 3000)
    exact, estimated = read_sample(path), read_sample(path, exact_limit=1000)
    assert exact.count == 3000 and exact.count_exact
    assert not estimated.count_exact and abs(estimated.count - 3000) < 100


def test_a_large_json_document_without_a_list_is_one_problem(tmp_path):
    """Past the full-parse limit a JSON file is streamed from its first list; a document with none is said so
    (it used to end the preflight with an internal error)."""
    from ftdoctor.trainer.data.readers import SCAN_LIMIT_BYTES

    path = tmp_path / "d.json"
    path.write_text('{\n "notes": "' + "a" * (SCAN_LIMIT_BYTES + 1024) + '"\n}\n', encoding="utf-8")
    sample = read_sample(path)
    assert sample.format == "json" and sample.records == []
    assert [(p.kind, p.message) for p in sample.problems] == [
        ("not-json", "a JSON document with no list of examples in its first 8 MiB")]
