"""The catalog is data, validated at load: a malformed entry fails with its file and key, never later."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ftdoctor.errors import MatrixError
from ftdoctor.explain.catalog import data_dir, load_catalog

GOOD = '''
schema = "ftdoctor-signatures/1"

[[signature]]
id = "demo"
category = "oom_gpu"
title = "demo"
keywords = ["out of demo memory"]
patterns = ["out of demo memory: (?P<amount>\\\\d+)"]
cause = "ran out ({amount})"
confidence = 0.9
source = "a test"
'''


def catalog_dir(tmp_path: Path, body: str) -> Path:
    shutil.copy(data_dir() / "categories.toml", tmp_path / "categories.toml")
    (tmp_path / "signatures").mkdir()
    (tmp_path / "signatures" / "demo.toml").write_text(body, encoding="utf-8")
    return tmp_path


def load(tmp_path: Path, body: str):
    load_catalog.cache_clear()
    try:
        return load_catalog(catalog_dir(tmp_path, body))
    finally:
        load_catalog.cache_clear()


def test_the_shipped_catalog_loads():
    catalog = load_catalog()
    assert len(catalog.signatures) >= 60 and catalog.markers and catalog.tables


def test_a_good_file_loads(tmp_path):
    assert [s.id for s in load(tmp_path, GOOD).signatures] == ["demo"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('category = "oom_gpu"', 'category = "oom_tpu"'), "unknown category 'oom_tpu'"),
        (('cause = "ran out ({amount})"', 'cause = "ran out ({amonut})"'), "unknown placeholder {amonut}"),
        (('cause = "ran out ({amount})"', 'cause = "ran out {\\"a\\": 1}"'), "unknown placeholder"),
        (('keywords = ["out of demo memory"]', 'keywords = ["Out Of Demo"]'), "must be lower-case"),
        (('source = "a test"', 'source = " "'), "non-empty `source`"),
        (('confidence = 0.9', 'confidence = 1.5'), "strictly between 0 and 1"),
        (('patterns = ["out of demo memory: (?P<amount>\\\\d+)"]', 'patterns = ["(unclosed"]'), "not a valid regex"),
        (('patterns = ["out of demo memory: (?P<amount>\\\\d+)"]', 'patterns = ["(?P<python>x)"]'), "shadows an environment value"),
        (('title = "demo"', 'title = "demo"\nsupports = { nowhere = 0.1 }'), "unknown marker 'nowhere'"),
        (('title = "demo"', 'title = "demo"\nderive = { x = "nope:amount" }'), "unknown converter"),
        (('title = "demo"', 'title = "demo"\nextra_key = 1'), "unknown key"),
    ],
)
def test_a_broken_entry_fails_with_where_and_what(tmp_path, change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(MatrixError) as raised:
        load(tmp_path, GOOD.replace(old, new))
    assert message in raised.value.one_line()


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(MatrixError, match="duplicate ids: demo"):
        load(tmp_path, GOOD + GOOD.split('schema = "ftdoctor-signatures/1"')[1])


def test_the_package_ships_the_data():
    files = sorted(p.name for p in (data_dir() / "signatures").glob("*.toml"))
    assert files and (data_dir() / "categories.toml").is_file() and (data_dir() / "explain.schema.json").is_file()


def test_version_bounds_live_in_the_matrix_not_in_the_catalog():
    """Lookup tables map log values to wording; a version floor (first nvcc per architecture, first transformers
    per model type) is a matrix row with its source, read through ftdoctor.matrix."""
    import re

    for name, rows in load_catalog().tables.items():
        for row in rows:
            versions = {k: v for k, v in row.vars.items() if re.fullmatch(r"\d+(\.\d+)+", v)}
            assert not versions, (name, row.key, versions)
