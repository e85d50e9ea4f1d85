"""Choosing smoke tests by name: the default set, opt-in ones, and a clear error for a typo."""

import pytest

from ftdoctor.errors import UsageError
from ftdoctor.verify.catalog import CATALOG, SMOKES_DIR, SmokeOptions, select


def test_default_set_leaves_out_the_slow_opt_in():
    names = [s.name for s in select()]
    assert names == ["torch", "bitsandbytes-4bit", "flash-attn", "distributed", "deepspeed", "triton"]
    assert [s.name for s in select(opt_in=["deepspeed-ops"])][-1] == "deepspeed-ops"


def test_exact_names_in_order_without_duplicates():
    assert [s.name for s in select(["distributed", "torch", "torch"])] == ["distributed", "torch"]


def test_unknown_name_is_a_usage_error_listing_the_known_ones():
    with pytest.raises(UsageError) as raised:
        select(["torhc"])
    assert "unknown smoke test 'torhc'" in raised.value.one_line() and "bitsandbytes-4bit" in raised.value.one_line()


def test_every_script_exists_and_arguments_follow_the_options():
    for smoke in CATALOG:
        assert (SMOKES_DIR / smoke.script).is_file(), smoke.script
    by_name = {s.name: s for s in CATALOG}
    options = SmokeOptions(world_size=4, timeout_s=40, deepspeed_ops=("cpu_adam",))
    assert by_name["distributed"].argv("py", options)[2:] == ["--world-size", "4", "--timeout", "30.0"]
    assert by_name["deepspeed-ops"].argv("py", options)[2:] == ["--build", "cpu_adam"]
    assert by_name["torch"].bound(options) == 40 and by_name["torch"].bound(SmokeOptions()) == 120
