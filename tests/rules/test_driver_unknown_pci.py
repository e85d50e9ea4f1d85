"""DRV100 must not claim "no GPU" when the PCI bus could not be read (a container without /sys, say)."""

from dataclasses import replace

from ftdoctor.facts import serialize
from ftdoctor.facts.model import Status
from ftdoctor.findings import Severity
from ftdoctor.matrix import load_matrix
from ftdoctor.rules.base import Context
from ftdoctor.rules.driver import DriverPresent
from ftdoctor.rules.engine import judge

from pathlib import Path

LAPTOP = Path(__file__).resolve().parent.parent / "machines" / "cpu-laptop.json"


def _drv100(facts):
    (finding,) = [f for f in judge([DriverPresent], Context(facts=facts, matrix=load_matrix()))]
    return finding


def test_unreadable_pci_bus_is_unknown_not_no_gpu():
    laptop = serialize.load(LAPTOP)
    blind = replace(laptop, driver=replace(laptop.driver, pci_status=Status.UNKNOWN, pci_reason="/sys/bus/pci is not mounted"))
    finding = _drv100(blind)
    assert finding.severity == Severity.WARNING
    assert finding.message.startswith("unknown: ")
    assert "/sys/bus/pci is not mounted" in finding.message
    assert "no NVIDIA GPU on this machine" not in finding.message


def test_readable_empty_pci_bus_is_a_cpu_only_machine():
    finding = _drv100(serialize.load(LAPTOP))
    assert finding.severity == Severity.WARNING
    assert "runs on the CPU only" in finding.message
