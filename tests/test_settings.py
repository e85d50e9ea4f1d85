import pytest

from ftdoctor.errors import InputFileError
from ftdoctor.rules.settings import Settings, load_settings


def test_longest_prefix_wins_between_select_and_ignore():
    s = Settings(select=("DRV", "TOR301"), ignore={"TOR": "no torch here", "DRV1": "driver is managed elsewhere"})
    assert s.skip_reason("TOR301") is None  # select TOR301 is longer than ignore TOR
    assert s.skip_reason("TOR302").startswith("not selected")
    assert s.skip_reason("DRV101") == "ignored: driver is managed elsewhere"  # DRV1 beats DRV
    assert s.skip_reason("ARC201").startswith("not selected")


def test_ignore_without_select():
    s = Settings(ignore={"TLK": "we never build extensions"})
    assert s.skip_reason("TLK401") == "ignored: we never build extensions"
    assert s.skip_reason("DRV100") is None


def test_pyproject_settings_are_found_upwards(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ftdoctor]\nfail-on = "error"\nselect = ["DRV"]\nignore = { DRV101 = "known old driver" }\n'
    )
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    s = load_settings(nested)
    assert s.fail_on == "error"
    assert s.skip_reason("DRV101") == "ignored: known old driver"
    merged = s.merged(select=None, ignore=["DRV100"], fail_on="warning")
    assert merged.fail_on == "warning"
    assert merged.skip_reason("DRV100").startswith("ignored")


@pytest.mark.parametrize(
    "body, message",
    [
        ('[tool.ftdoctor]\nfail-on = "sometimes"\n', "fail-on must be one of"),
        ('[tool.ftdoctor]\nselcet = ["DRV"]\n', "unknown key 'selcet'"),
        ('[tool.ftdoctor]\nselect = "DRV"\n', "select must be a list"),
        ("[tool.ftdoctor\n", "cannot read"),
    ],
)
def test_bad_settings_are_one_line(tmp_path, body, message):
    (tmp_path / "pyproject.toml").write_text(body)
    with pytest.raises(InputFileError) as err:
        load_settings(tmp_path)
    assert message in err.value.one_line()
    assert "pyproject.toml" in err.value.one_line()
