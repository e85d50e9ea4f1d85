import os

import pytest

from ftdoctor import atomic
from ftdoctor.errors import OutputExistsError


def test_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "facts.json"
    target.write_text("precious")
    with pytest.raises(OutputExistsError) as err:
        atomic.write_text(target, "new")
    assert "--force" in err.value.one_line()
    assert target.read_text() == "precious"
    atomic.write_text(target, "new", overwrite=True)
    assert target.read_text() == "new"


def test_no_temporary_file_is_left_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "out.json"

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic.write_text(target, "data")
    assert list(tmp_path.iterdir()) == []
