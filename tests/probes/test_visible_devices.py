"""CUDA_VISIBLE_DEVICES read as CUDA reads it and mapped to NVML's physical GPUs."""

from __future__ import annotations

import pytest
from fakes.machine import A100, H100

from ftdoctor.facts.model import Gpu
from ftdoctor.probes.visible_devices import bus_key, count_visible, map_visible


def gpu(index, name="NVIDIA H100 80GB HBM3", uuid=None, bus=None, migs=()):
    return Gpu(index=index, name=name, source="nvml", uuid=uuid or f"GPU-{index}{index}aa{index}-0000-1111-2222-333333333333",
               pci_bus_id=bus or f"00000000:{index + 1:02X}:00.0", mig_devices=migs)


EIGHT = tuple(gpu(i) for i in range(8))


def physical(value, gpus=EIGHT, **kwargs):
    return [d.physical_index for d in map_visible(value, gpus, **kwargs)]


@pytest.mark.parametrize(
    "value, expected, count",
    [
        (None, [], 8),
        ("", [], 0),
        ("3", [3], 1),
        ("4,5,6,7", [4, 5, 6, 7], 4),
        (" 2 , 1 ", [2, 1], 2),
        ("1gpu", [1], 1),  # read like strtoul
        ("0,9,1", [0, None, None], 1),  # no GPU 9: the list ends there
        ("-1", [None], 0),
        ("0,-1,1", [0, None, None], 1),
        ("0,0", [0, 0], 0),  # a repeated entry leaves no GPU at all
        ("0,GPU-11", [0, None], 1),  # the first entry decides: indices
    ],
)
def test_indices(value, expected, count):
    mapped = map_visible(value, EIGHT)
    assert [d.physical_index for d in mapped] == expected
    assert count_visible(value, mapped, EIGHT) == count


def test_an_invalid_entry_ends_the_list_and_later_entries_say_why():
    mapped = map_visible("0,9,1", EIGHT)
    assert mapped[1].reason == "invalid: there are 8 GPU(s), so no CUDA index 9"
    assert mapped[2].reason.startswith("ignored: it follows an invalid entry")


def test_uuids_and_unique_prefixes():
    gpus = (gpu(0, uuid="GPU-8932f937-d72c-4106-c12f-20bd9faed9f6"), gpu(1, uuid="GPU-8932aaaa-d72c-4106-c12f-20bd9faed9f6"))
    assert physical("GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", gpus) == [0]
    assert physical("GPU-8932a", gpus) == [1]
    ambiguous = map_visible("GPU-8932", gpus)
    assert ambiguous[0].physical_index is None and ambiguous[0].reason == "invalid: matches several GPUs' UUIDs"
    assert map_visible("GPU-ffff", gpus)[0].reason == "invalid: matches no GPU's UUID"
    assert physical("GPU-8932a,1", gpus) == [1, None]  # the first entry decides: UUIDs
    assert count_visible("GPU-8932a,1", map_visible("GPU-8932a,1", gpus), gpus) == 1


def test_mig_instances_map_to_their_parent():
    migs = ("MIG-0c4b7b4f-2a23-5a3e-8d3e-1f0e6b4c9a01",)
    gpus = (gpu(0), gpu(1, uuid="GPU-8932f937-d72c-4106-c12f-20bd9faed9f6", migs=migs))
    (device,) = map_visible("MIG-0c4b7b4f", gpus)
    assert (device.physical_index, device.mig) == (1, True)
    (legacy,) = map_visible("MIG-GPU-8932f937-d72c-4106-c12f-20bd9faed9f6/1/0", gpus)
    assert legacy.physical_index == 1
    (unknown,) = map_visible("MIG-0c4b7b4f", (gpu(0),))
    assert unknown.physical_index is None and "no source listed MIG instances" in unknown.reason
    assert count_visible("MIG-0c4b7b4f", (unknown,), (gpu(0),)) is None


def test_without_a_gpu_list_nothing_is_guessed():
    (device,) = map_visible("0", ())
    assert device.physical_index is None
    assert device.reason == "no GPU list to map it to: no driver source listed the GPUs"
    assert count_visible("0", (device,), ()) is None
    assert count_visible(None, (), ()) is None


def test_different_models_follow_cuda_device_order():
    mixed = (gpu(0, name="NVIDIA A100-SXM4-40GB", bus="00000000:07:00.0"), gpu(1, bus="00000000:3B:00.0"))
    (unsure,) = map_visible("0", mixed)
    assert unsure.physical_index is None and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in unsure.reason
    assert count_visible("0", (unsure,), mixed) == 1
    assert physical("0", mixed, device_order="PCI_BUS_ID") == [0]
    cuda_order = (Gpu(0, "H100", "cuda driver api", pci_bus_id="0000:3b:00.0"),
                  Gpu(1, "A100", "cuda driver api", pci_bus_id="0000:07:00.0"))
    assert physical("0", mixed, cuda_order=cuda_order) == [1]


def test_bus_ids_compare_as_numbers():
    assert bus_key("00000000:3B:00.0") == bus_key("0000:3b:00.0")
    assert bus_key("garbage") == bus_key(None)


def test_the_fake_driver_api_order_is_used_end_to_end(machine):
    machine.driver(gpus=[A100, H100])  # NVML: A100 is GPU 0 (bus 07), H100 GPU 1 (bus 3B)
    facts = machine.probe_driver(CUDA_VISIBLE_DEVICES="0")
    (device,) = facts.visible_devices
    assert device.physical_index == 1  # CUDA numbers the faster H100 first
    assert device.uuid == H100.uuid
    same = machine.probe_driver(CUDA_VISIBLE_DEVICES="0", CUDA_DEVICE_ORDER="PCI_BUS_ID")
    assert same.visible_devices[0].physical_index == 0
    assert same.cuda_device_order == "PCI_BUS_ID"
    assert same.cuda_driver_api.reason == "not asked: NVML answered"
