"""CUDA_VISIBLE_DEVICES read the way CUDA reads it, mapped to the physical GPUs NVML lists.

NVML ignores the variable and numbers GPUs by PCI bus; CUDA honours it and numbers GPUs fastest first unless
CUDA_DEVICE_ORDER=PCI_BUS_ID. The parsing rules follow the CUDA programming guide (indices, GPU-UUIDs and
their unique prefixes, MIG-UUIDs) and the edge cases torch mirrors in `torch.cuda._parse_visible_devices`:
each entry is read like strtoul ("1gpu" is 1); the first entry decides whether the list holds indices or
UUIDs; an invalid entry ends the list; an entry listed twice leaves no GPU visible at all.
"""

from __future__ import annotations

import re

from ftdoctor.facts.model import Gpu, VisibleDevice

IGNORED = "ignored: it follows an invalid entry, and CUDA stops reading the list there"


def map_visible(
    value: str | None, gpus: tuple[Gpu, ...], cuda_order: tuple[Gpu, ...] = (), device_order: str | None = None
) -> tuple[VisibleDevice, ...]:
    if value is None or not value.strip():
        return ()
    tokens = [t.strip() for t in value.split(",")]
    by_uuid = tokens[0].startswith(("GPU-", "MIG-"))
    mapped: list[VisibleDevice] = []
    stopped = False
    for logical, token in enumerate(tokens):
        if stopped:
            mapped.append(VisibleDevice(logical, token, None, IGNORED))
            continue
        device = _by_uuid(logical, token, gpus) if by_uuid else _by_index(logical, token, gpus, cuda_order, device_order)
        stopped = device.reason.startswith("invalid")
        mapped.append(device)
    return _flag_repeats(tuple(mapped))


def _by_index(logical: int, token: str, gpus: tuple[Gpu, ...], cuda_order: tuple[Gpu, ...], order: str | None) -> VisibleDevice:
    match = re.match(r"[+]?\d+", token)
    if token.startswith("-"):
        return VisibleDevice(logical, token, None, "invalid: a negative index hides this and every later entry")
    if match is None:
        return VisibleDevice(logical, token, None, "invalid: not an index (the list started with an index)")
    ordinal = int(match.group())
    if not gpus:
        return VisibleDevice(logical, token, None, "no GPU list to map it to: no driver source listed the GPUs")
    if ordinal >= len(gpus):
        return VisibleDevice(logical, token, None, f"invalid: there are {len(gpus)} GPU(s), so no CUDA index {ordinal}")
    same_model = len({g.name for g in gpus}) == 1
    if order == "PCI_BUS_ID" or same_model:
        gpu = gpus[ordinal]
        return VisibleDevice(logical, token, gpu.index, "", gpu.uuid)
    if len(cuda_order) == len(gpus):
        gpu = _same_bus(cuda_order[ordinal], gpus)
        if gpu is not None:
            return VisibleDevice(logical, token, gpu.index, "CUDA orders these GPUs fastest first", gpu.uuid)
    return VisibleDevice(
        logical, token, None,
        "CUDA_DEVICE_ORDER is not PCI_BUS_ID and the GPUs differ, so CUDA's index may not be NVML's; "
        "set CUDA_DEVICE_ORDER=PCI_BUS_ID to make them agree",
    )


def _same_bus(device: Gpu, gpus: tuple[Gpu, ...]) -> Gpu | None:
    for gpu in gpus:
        if device.pci_bus_id and bus_key(gpu.pci_bus_id) == bus_key(device.pci_bus_id):
            return gpu
    return None


def _by_uuid(logical: int, token: str, gpus: tuple[Gpu, ...]) -> VisibleDevice:
    if token.startswith("MIG-"):
        return _by_mig_uuid(logical, token, gpus)
    if not token.startswith("GPU-"):
        return VisibleDevice(logical, token, None, "invalid: not a GPU-/MIG- UUID (the list started with a UUID)")
    if not gpus:
        return VisibleDevice(logical, token, None, "no GPU list to map it to: no driver source listed the GPUs")
    matches = [g for g in gpus if g.uuid and g.uuid.startswith(token)]
    if len(matches) == 1:
        return VisibleDevice(logical, token, matches[0].index, "", matches[0].uuid)
    why = "matches several GPUs' UUIDs" if matches else "matches no GPU's UUID"
    return VisibleDevice(logical, token, None, f"invalid: {why}")


def _by_mig_uuid(logical: int, token: str, gpus: tuple[Gpu, ...]) -> VisibleDevice:
    legacy = re.match(r"MIG-(GPU-[0-9a-fA-F-]+)/\d+/\d+$", token)  # drivers before R470: MIG-<GPU-UUID>/<GI>/<CI>
    if legacy:
        parents = [g for g in gpus if g.uuid == legacy.group(1)]
    else:
        parents = [g for g in gpus if any(m.startswith(token) for m in g.mig_devices)]
    if len(parents) == 1:
        return VisibleDevice(logical, token, parents[0].index, "a MIG instance of this GPU", token, mig=True)
    if not any(g.mig_devices for g in gpus) and not legacy:
        return VisibleDevice(logical, token, None, "a MIG instance, but no source listed MIG instances", mig=True)
    return VisibleDevice(logical, token, None, "invalid: matches no MIG instance", mig=True)


def _flag_repeats(mapped: tuple[VisibleDevice, ...]) -> tuple[VisibleDevice, ...]:
    keys = [_identity(d) for d in mapped if not d.reason.startswith(("invalid", "ignored"))]
    if len(keys) == len(set(keys)):
        return mapped
    why = "listed twice: a repeated entry leaves CUDA with no visible GPU at all"
    return tuple(VisibleDevice(d.logical_index, d.token, d.physical_index, why, d.uuid, d.mig) for d in mapped)


def _identity(device: VisibleDevice) -> str:
    if device.uuid:
        return device.uuid
    if device.physical_index is not None:
        return f"#{device.physical_index}"
    match = re.match(r"[+]?(\d+)", device.token)
    return f"#{int(match.group(1))}" if match else device.token


def count_visible(value: str | None, mapped: tuple[VisibleDevice, ...], gpus: tuple[Gpu, ...]) -> int | None:
    """How many GPUs CUDA will enumerate, or None when that cannot be told."""
    if value is None:
        return len(gpus) if gpus else None
    if not value.strip() or any(d.reason.startswith("listed twice") for d in mapped):
        return 0
    count = 0
    for device in mapped:
        if device.reason.startswith(("invalid", "ignored")):
            break
        if device.reason.startswith(("no GPU list", "a MIG instance, but")):
            return None
        count += 1
    return count


def bus_key(bus_id: str | None) -> tuple[int, ...]:
    """NVML writes "00000000:3B:00.0", the driver API "0000:3b:00.0": compare them as numbers."""
    if not bus_id:
        return (1 << 32,)
    try:
        domain, bus, rest = bus_id.split(":")
        device, function = rest.split(".")
        return tuple(int(x, 16) for x in (domain, bus, device, function))
    except ValueError:
        return (1 << 32,)
