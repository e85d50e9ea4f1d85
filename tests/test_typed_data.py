from dataclasses import dataclass, field

import pytest

from ftdoctor.facts.model import Facts, Gpu, DriverFacts, Status, TorchFacts
from ftdoctor.facts.serialize import dumps, from_dict
from ftdoctor.errors import InputFileError
from ftdoctor.typed_data import DataError, from_plain, to_plain


@dataclass(frozen=True)
class Row:
    name: str
    tags: tuple[str, ...] = ()
    size: int | None = None
    ratio: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        if self.name == "bad":
            raise ValueError("name must not be 'bad'")


def test_round_trip_of_a_full_snapshot():
    facts = Facts(
        driver=DriverFacts(gpus=(Gpu(index=0, name="NVIDIA H100 80GB HBM3", source="nvml", compute_capability="9.0"),)),
        torch=TorchFacts(status=Status.OK, version="2.8.0+cu128", arch_list=("sm_80", "sm_90")),
        env={"CUDA_VISIBLE_DEVICES": "0"},
    )
    import json

    assert from_dict(json.loads(dumps(facts))) == facts


@pytest.mark.parametrize(
    "data, path, message",
    [
        ({"name": 3}, "name", "expected str"),
        ({"name": "a", "tags": "x"}, "tags", "expected a list"),
        ({"name": "a", "tags": ["x", 2]}, "tags[1]", "expected str"),
        ({"name": "a", "size": True}, "size", "expected int"),
        ({"name": "a", "colour": "red"}, "colour", "unknown key"),
        ({"tags": []}, "name", "required key is missing"),
        ({"name": "bad"}, "(top level)", "must not be 'bad'"),
        ([], "(top level)", "expected a table/object"),
    ],
)
def test_bad_data_names_the_key(data, path, message):
    with pytest.raises(DataError) as err:
        from_plain(Row, data)
    assert err.value.path == path
    assert message in err.value.message


def test_int_is_accepted_for_float_and_to_plain_is_json_ready():
    row = from_plain(Row, {"name": "a", "ratio": 1, "extra": {"k": "v"}})
    assert row.ratio == 1.0 and isinstance(row.ratio, float)
    assert to_plain(row) == {"name": "a", "tags": [], "size": None, "ratio": 1.0, "extra": {"k": "v"}}


def test_foreign_json_is_rejected_with_the_schema_it_found():
    with pytest.raises(InputFileError) as err:
        from_dict({"schema": "something-else/3"}, where="x.json")
    assert "not an ftdoctor facts snapshot" in err.value.one_line()
    assert "x.json" in err.value.one_line()
