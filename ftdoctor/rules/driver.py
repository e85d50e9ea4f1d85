"""DRV1xx: is there an NVIDIA driver, does its userspace match the kernel module, can it run torch's CUDA?"""

from __future__ import annotations

from ftdoctor.facts.model import Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Pass, Rule, Unknown

DRIVER_DOCS = "https://docs.nvidia.com/deploy/cuda-compatibility/"


class DriverPresent(Rule):
    """An NVIDIA driver is installed and answers."""

    code = "DRV100"
    family = "driver"
    severity = Severity.ERROR

    def check(self, ctx: Context) -> Pass | Fail | Unknown:
        d = ctx.facts.driver
        if d.driver_version.value:
            return Pass(
                f"NVIDIA driver {d.driver_version.value} (from {d.driver_version.source}), {len(d.gpus)} GPU(s)",
                {"driver_version": d.driver_version.value, "source": d.driver_version.source},
            )
        evidence = {
            "kernel_module": d.kernel_module.reason or d.kernel_module.status.value,
            "nvml": d.nvml.reason or d.nvml.status.value,
            "nvidia_smi": d.nvidia_smi.reason or d.nvidia_smi.status.value,
        }
        if d.pci_devices or d.dev_nodes:
            return Fail(
                "an NVIDIA GPU is present but no NVIDIA driver answers "
                f"({len(d.pci_devices)} PCI device(s), {len(d.dev_nodes)} /dev/nvidia* node(s))",
                evidence,
                severity=Severity.ERROR,
            )
        if d.pci_status != Status.OK and d.nvml.status == Status.UNKNOWN:
            return Unknown(f"no driver answered and the PCI bus could not be read: {d.nvml.reason}", evidence)
        return Fail(
            "no NVIDIA driver and no NVIDIA GPU on this machine: fine-tuning here runs on the CPU only "
            "(tiny models, tests, LoRA dry runs); CUDA, bf16 on GPU, flash-attn, NCCL and 4-bit GPU kernels are unavailable",
            evidence,
            fixes=(
                Fix(
                    "To judge a GPU machine from here, save its facts there and check them on this one",
                    ("ftdoctor check --save-facts gpu-box.json   # on the GPU machine",
                     "ftdoctor check --facts gpu-box.json"),
                ),
            ),
            severity=Severity.WARNING,
        )


RULES = (DriverPresent,)
