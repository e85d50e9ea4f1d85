"""Reading the YAML file itself: lines kept, and every way the file can be wrong is one clear error."""

from __future__ import annotations

import pytest

from ftdoctor.errors import InputFileError
from ftdoctor.trainer.config.source import read_source


def test_lines_of_nested_keys_and_list_items(write_config):
    path = write_config("""
        base_model: x/y
        # a comment
        datasets:
          - path: a.jsonl
            type: chat_template
          - path: b.jsonl
        fsdp_config:
          offload_params: true
        """)
    source = read_source(path)
    assert source.lines[("base_model",)] == 1
    assert source.lines[("datasets", 0)] == 4
    assert source.lines[("datasets", 0, "type")] == 5
    assert source.lines[("datasets", 1, "path")] == 6
    assert source.lines[("fsdp_config", "offload_params")] == 8
    assert source.where(("datasets", 1, "path")) == f"{path}:6"
    assert source.where(("datasets", 1, "nonexistent")) == f"{path}:6"  # nearest ancestor
    assert source.where(("absent",)) == f"{path}:1"


def test_values_are_what_safe_load_gives(write_config):
    import yaml

    path = write_config("""
        learning_rate: 2e-5
        lr2: 2.0e-5
        flag: yes
        when: 2024-01-02
        empty:
        """)
    assert read_source(path).data == yaml.safe_load(path.read_text())


def test_duplicate_keys_are_recorded_with_both_lines(write_config):
    source = read_source(write_config("a: 1\nb: 2\na: 3\n"))
    assert source.data["a"] == 3
    [dup] = source.duplicates
    assert (dup.path, dup.first_line, dup.line) == (("a",), 1, 3)


def test_anchors_and_merge_keys(write_config):
    source = read_source(write_config("""
        common: &common
          type: chat_template
          split: train
        datasets:
          - <<: *common
            path: a.jsonl
        """))
    assert source.data["datasets"][0] == {"type": "chat_template", "split": "train", "path": "a.jsonl"}


@pytest.mark.parametrize("text, words, line", [
    ("base_model: x\n  bad: [1, 2\n", "not valid YAML", 2),
    ("a: 1\n---\nb: 2\n", "not valid YAML", 2),
    ("- base_model: x\n- y\n", "top level is a list", 1),
    ("just a string\n", "top level is a single value", 1),
    ("key: value\n\tindented_with_tab: 1\n", "not valid YAML", 2),
])
def test_bad_yaml_is_one_error_with_the_line(write_config, text, words, line):
    path = write_config(text)
    with pytest.raises(InputFileError) as caught:
        read_source(path)
    assert words in caught.value.what
    assert caught.value.where == f"{path}:{line}"


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n# another\n"])
def test_empty_file(write_config, text):
    with pytest.raises(InputFileError, match="empty config"):
        read_source(write_config(text))


def test_binary_file(tmp_path):
    path = tmp_path / "model.safetensors"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputFileError, match="binary file"):
        read_source(path)


def test_not_utf8_names_the_line(tmp_path):
    path = tmp_path / "c.yml"
    path.write_bytes(b"base_model: x\nname: caf\xe9\n")
    with pytest.raises(InputFileError) as caught:
        read_source(path)
    assert caught.value.where == f"{path}:2"


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(InputFileError, match="no such config file"):
        read_source(tmp_path / "nope.yml")
    with pytest.raises(InputFileError, match="is a directory"):
        read_source(tmp_path)


def test_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "big.yml"
    with path.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    with pytest.raises(InputFileError, match="far too large"):
        read_source(path)
