"""DRV1xx: is there an NVIDIA driver, does its userspace match the kernel module, can it run torch's CUDA, and
which GPUs will a CUDA process actually get?"""

from __future__ import annotations

from ftdoctor.facts.model import Status
from ftdoctor.findings import Fix, Severity
from ftdoctor.rules.base import Context, Fail, Info, NotApplicable, Pass, Rule, Unknown
from ftdoctor.rules.facts_view import not_a_cuda_build, physical_gpus, torch_build, visible_gpus
from ftdoctor.rules.torch_choice import driver_floor, driver_full, driver_runs, machine_needs, torch_install_fix

DRIVER_DOCS = "https://docs.nvidia.com/deploy/cuda-compatibility/"
WSL_DOCS = "https://docs.nvidia.com/cuda/wsl-user-guide/"
CONTAINER_DOCS = "https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/"


class DriverPresent(Rule):
    """An NVIDIA driver is installed and answers.

    Reads the kernel module's version (/sys/module/nvidia, /proc/driver/nvidia), NVML, the CUDA driver API and
    nvidia-smi. Without a driver, torch runs on the CPU only; with an NVIDIA GPU on the PCI bus and no driver
    loaded, the GPU is there but unusable (nouveau bound, the module refused by Secure Boot, a missing install).
    """

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
            "cuda_driver_api": d.cuda_driver_api.reason or d.cuda_driver_api.status.value,
            "nvidia_smi": d.nvidia_smi.reason or d.nvidia_smi.status.value,
            "pci": _pci_evidence(d),
            "dev_nodes": ", ".join(f"/dev/{n}" for n in d.dev_nodes) or "no /dev/nvidia* device node",
        }
        if ctx.facts.system.wsl:
            return _wsl_without_driver(evidence)
        if d.pci_devices or d.dev_nodes:
            return _gpu_without_driver(ctx, evidence)
        if d.pci_status != Status.OK:
            # a container without /sys, say: "no GPU" would be a guess
            why = d.pci_reason or "the PCI bus could not be read"
            return Unknown(
                f"no NVIDIA driver answers, and whether this machine has an NVIDIA GPU cannot be told: {why}", evidence
            )
        return Fail(
            "no NVIDIA driver and no NVIDIA GPU on this machine: fine-tuning here runs on the CPU only, which is "
            "enough for tests, tiny models and config preflights but far too slow for a real LLM; CUDA, bf16 GPU "
            "kernels, flash-attn, NCCL and bitsandbytes' GPU 4-bit (QLoRA) are unavailable",
            evidence,
            fixes=(
                Fix(
                    "What runs here: a tiny model trained end to end on the CPU, and a config's preflight "
                    "against a GPU machine's saved facts before it is launched there",
                    ("ftdoctor demo", "ftdoctor train train.yml --dry-run --facts gpu-box.json"),
                ),
                Fix(
                    "To judge a GPU machine from here, save its facts there and check them on this one",
                    ("ftdoctor check --save-facts gpu-box.json   # on the GPU machine",
                     "ftdoctor check --facts gpu-box.json"),
                ),
            ),
            severity=Severity.WARNING,
        )


def _pci_evidence(d) -> str:
    if d.pci_status != Status.OK:
        return d.pci_reason or "the PCI bus could not be read"
    if not d.pci_devices:
        return "/sys/bus/pci/devices read: no NVIDIA display or 3D controller (vendor 0x10de, class 0x03xx)"
    return ", ".join(f"{p.bus_id} (bound to: {p.driver or 'nothing'})" for p in d.pci_devices)


def _gpu_without_driver(ctx: Context, evidence: dict) -> Fail:
    d = ctx.facts.driver
    bound = sorted({p.driver or "no driver" for p in d.pci_devices})
    where = ", ".join(f"{p.bus_id} (bound to: {p.driver or 'nothing'})" for p in d.pci_devices) or "no PCI listing"
    evidence = {**evidence, "pci_devices": where, "dev_nodes": list(d.dev_nodes)}
    fixes = [Fix(
        "Load the driver and read why it failed if it does not load (an unsigned module under Secure Boot is refused)",
        ("sudo modprobe nvidia", "sudo dmesg | grep -i -E 'nvidia|nvrm' | tail -20", "mokutil --sb-state"),
        DRIVER_DOCS,
    )]
    if "nouveau" in bound:
        fixes.insert(0, Fix(
            "nouveau (the open-source driver) holds the GPU: install NVIDIA's driver, which blacklists nouveau, and reboot",
            ("sudo ubuntu-drivers install   # Ubuntu; other distributions: the NVIDIA driver package", "sudo reboot"),
        ))
    if "vfio-pci" in bound:
        fixes.insert(0, Fix("vfio-pci holds the GPU (reserved for passthrough to a VM): release it on the host"))
    return Fail(
        f"an NVIDIA GPU is present but no NVIDIA driver is loaded: {where}; "
        f"{len(d.dev_nodes)} /dev/nvidia* node(s). CUDA cannot use it until the nvidia kernel module is loaded",
        evidence,
        fixes=tuple(fixes),
    )


def _wsl_without_driver(evidence: dict) -> Fail:
    return Fail(
        "WSL without a GPU driver: on WSL the NVIDIA driver is the Windows one, exposed through /usr/lib/wsl/lib; "
        "no libnvidia-ml/libcuda answered there",
        evidence,
        fixes=(Fix(
            "Install or update the NVIDIA driver on Windows (not inside WSL: a Linux driver there breaks the WSL one), "
            "then restart WSL",
            ("wsl.exe --shutdown   # from Windows, after installing the driver", "ls -l /usr/lib/wsl/lib/"),
            WSL_DOCS,
        ),),
    )


class DriverUserspace(Rule):
    """The driver's userspace libraries (libnvidia-ml, libcuda) answer, not only its kernel module.

    A container started without the NVIDIA runtime sees /dev/nvidia* and the host's module version but has no
    libcuda.so.1: every CUDA program then fails with "Found no NVIDIA driver on your system".
    """

    code = "DRV101"
    family = "driver"
    severity = Severity.ERROR
    requires = frozenset({"DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        d = ctx.facts.driver
        if not d.driver_version.value:
            return NotApplicable("no NVIDIA driver")
        if d.nvml.status == Status.OK or d.cuda_driver_api.status == Status.OK:
            answered = "NVML" if d.nvml.status == Status.OK else f"the CUDA driver API ({d.cuda_driver_api.library})"
            return Pass(f"{answered} answered for driver {d.driver_version.value}")
        if d.nvml.error == "LibRmVersionMismatch":
            return NotApplicable("the libraries answer but do not match the kernel module (DRV102)")
        evidence = {"nvml": d.nvml.error or d.nvml.reason, "cuda_driver_api": d.cuda_driver_api.reason,
                    "kernel_module": d.kernel_module.version, "dev_nodes": list(d.dev_nodes)}
        if d.nvml.status == Status.UNKNOWN and d.cuda_driver_api.status == Status.UNKNOWN:
            return Unknown(f"the driver libraries could not be asked: {d.nvml.reason}", evidence)
        if d.nvml.error in (None, "LibraryNotFound") and d.cuda_driver_api.status in (Status.ABSENT, Status.UNKNOWN):
            return _missing_userspace(ctx, evidence)
        return Fail(
            f"the NVIDIA driver libraries fail: NVML says {d.nvml.error or d.nvml.reason}; "
            f"the CUDA driver API says {d.cuda_driver_api.error or d.cuda_driver_api.reason}",
            evidence,
            fixes=_library_error_fixes(d.nvml.error),
        )


def _missing_userspace(ctx: Context, evidence: dict) -> Fail:
    d = ctx.facts.driver
    version = d.kernel_module.version or d.driver_version.value
    branch = version.split(".")[0] if version else "<branch>"
    if ctx.facts.system.container:
        fixes = (Fix(
            "Start the container with the NVIDIA runtime, which mounts the host's driver libraries into it",
            ("docker run --gpus all ...   # needs the NVIDIA Container Toolkit on the host",
             "kubernetes: request nvidia.com/gpu in the pod's resources (NVIDIA device plugin)"),
            CONTAINER_DOCS,
        ),)
    else:
        fixes = (Fix(
            f"Install the driver's userspace libraries of the same version as the loaded module ({version})",
            (f"sudo apt install libnvidia-compute-{branch}   # Ubuntu/Debian; match the module's branch",),
            DRIVER_DOCS,
        ),)
    where = f"inside a container ({', '.join(ctx.facts.system.container)})" if ctx.facts.system.container else "on this host"
    return Fail(
        f"the nvidia kernel module {version} is loaded but its userspace libraries are missing {where}: "
        "no libnvidia-ml.so.1 and no libcuda.so.1, so torch reports 'Found no NVIDIA driver on your system'",
        evidence,
        fixes=fixes,
    )


def _library_error_fixes(error: str | None) -> tuple[Fix, ...]:
    if error == "NoPermission":
        return (Fix("This user cannot open /dev/nvidia*: check the device nodes' group and add the user to it",
                    ("ls -l /dev/nvidia*", "sudo usermod -aG video $USER   # then log in again")),)
    return (Fix("Run nvidia-smi to see the driver's own error; reinstalling the driver fixes a broken install",
                ("nvidia-smi",), DRIVER_DOCS),)


class DriverVersionMatch(Rule):
    """The driver's userspace libraries are the same version as the loaded kernel module.

    After a driver upgrade without a reboot, the old kernel module stays loaded while the libraries are new:
    NVML fails with "Driver/library version mismatch" and CUDA cannot initialise.
    """

    code = "DRV102"
    family = "driver"
    severity = Severity.ERROR
    requires = frozenset({"DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable | Unknown:
        d = ctx.facts.driver
        module = d.kernel_module.version
        library = _library_version(ctx)
        evidence = {"kernel_module": module, "userspace": library, "nvml_error": d.nvml.error}
        mismatch = d.nvml.error == "LibRmVersionMismatch" or d.cuda_driver_api.error == "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"
        if mismatch or (module and library and module != library):
            return Fail(
                f"driver/library version mismatch: the loaded kernel module is {module or '?'} but the userspace "
                f"libraries are {library or 'another version'}; CUDA cannot initialise until they match",
                evidence,
                fixes=(Fix(
                    "The driver was upgraded under a running kernel module: reboot (or, with no GPU process running, "
                    "reload the modules)",
                    ("sudo reboot", "sudo rmmod nvidia_uvm nvidia_drm nvidia_modeset nvidia && sudo modprobe nvidia"),
                    DRIVER_DOCS,
                ),),
            )
        if not module:
            return NotApplicable(f"no kernel module version to compare with ({d.kernel_module.reason or 'not read'})")
        if library:
            return Pass(f"kernel module and userspace libraries are both {module}")
        if d.nvml.status == Status.UNKNOWN:
            return Unknown(f"the userspace libraries could not be asked: {d.nvml.reason}", evidence)
        return NotApplicable("no userspace library answered to compare with (DRV101)")


def _library_version(ctx: Context) -> str | None:
    nvml = ctx.facts.driver.nvml
    if nvml.status != Status.OK:
        return None
    if nvml.nvml_version and nvml.nvml_version.count(".") >= 2:
        return nvml.nvml_version.split(".", 1)[1]  # "12.550.54.15": the CUDA major, then the library's version
    return nvml.driver_version


class DriverRunsTorchCuda(Rule):
    """The driver can run the CUDA runtime inside the installed torch build.

    Minor-version compatibility lets a driver run any build of its CUDA major (a 12.2 driver runs torch cu128),
    never one of a newer major (CUDA 13 needs r580+). Within a major, a driver older than the build's CUDA runs
    its compiled kernels but cannot JIT-compile PTX from the newer toolkit.
    """

    code = "DRV103"
    family = "driver"
    severity = Severity.ERROR
    requires = frozenset({"DRV101", "TOR300"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable | Unknown:
        build = torch_build(ctx.facts, ctx.matrix)
        if why := not_a_cuda_build(build):
            return NotApplicable(why)
        needs = machine_needs(ctx.facts, ctx.matrix)
        floor = driver_floor(ctx.matrix, build.cuda, needs.windows)
        d = ctx.facts.driver
        evidence = {"torch_cuda": build.cuda, "driver": d.driver_version.value, "driver_cuda": d.cuda_driver_version.value,
                    "driver_floor_for_major": floor}
        runs = driver_runs(ctx.matrix, needs, build.cuda)
        if runs is None:
            return Unknown("neither the driver's version nor its CUDA version is known", evidence)
        if not runs:
            return _too_old(ctx, build, needs, floor, evidence)
        have = _driver_text(ctx)
        if driver_full(ctx.matrix, needs, build.cuda) is False:
            return Info(
                f"{build.label} runs on driver {have} through minor-version compatibility: compiled kernels run; "
                "PTX-only kernels and features newer than the driver's CUDA do not",
                evidence,
            )
        return Pass(f"driver {have} runs {build.label}", evidence)


def _driver_text(ctx: Context) -> str:
    d = ctx.facts.driver
    cuda = f" (supports CUDA ≤ {d.cuda_driver_version.value})" if d.cuda_driver_version.value else ""
    return f"{d.driver_version.value or '?'}{cuda}"


def _too_old(ctx: Context, build, needs, floor, evidence: dict) -> Fail:
    major = build.cuda.split(".")[0]
    fixes = []
    fix = torch_install_fix(ctx, "Install a torch build this driver runs")
    if fix is not None:
        fixes.append(fix)
    if floor is not None:
        fixes.append(Fix(f"Or upgrade the NVIDIA driver to {floor} or newer (the CUDA {major}.x floor)", (), DRIVER_DOCS))
    return Fail(
        f"{build.label} needs an NVIDIA driver ≥ {floor or '?'} (CUDA {major}.x), but this driver is "
        f"{_driver_text(ctx)}; minor-version compatibility never "
        "crosses a CUDA major, so torch.cuda.is_available() is False ('The NVIDIA driver on your system is too old')",
        evidence,
        fixes=tuple(fixes),
    )


class VisibleDevices(Rule):
    """Every CUDA_VISIBLE_DEVICES entry names a GPU.

    NVML and nvidia-smi ignore CUDA_VISIBLE_DEVICES; CUDA honours it and stops at the first entry that names no
    GPU, silently hiding that entry and every one after it. An empty value hides every GPU.
    """

    code = "DRV104"
    family = "driver"
    severity = Severity.WARNING
    requires = frozenset({"DRV100"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        d = ctx.facts.driver
        gpus = physical_gpus(ctx.facts, ctx.matrix)
        if not gpus:
            return NotApplicable("no GPU listed by the driver")
        value = d.cuda_visible_devices
        if value is None:
            return Pass(f"CUDA_VISIBLE_DEVICES is not set: all {len(gpus)} GPU(s) visible")
        visible = visible_gpus(ctx.facts, ctx.matrix)
        bad = [vd for vd in d.visible_devices if vd.physical_index is None and not vd.token.startswith("MIG-")]
        if value.strip() and not bad:
            return Pass(f"CUDA_VISIBLE_DEVICES={value}: " + ", ".join(g.label for g in visible))
        evidence = {"CUDA_VISIBLE_DEVICES": value, "gpus": [g.label for g in gpus]}
        what = "is empty" if not value.strip() else "; ".join(f"entry {vd.token!r}: {vd.reason}" for vd in bad)
        keep = ",".join(str(g.index) for g in (visible or gpus))
        return Fail(
            f"CUDA_VISIBLE_DEVICES={value!r} {what}: a CUDA process sees {len(visible)} of {len(gpus)} GPU(s)",
            evidence,
            fixes=(Fix("Name only GPUs that exist (or unset the variable to use them all)",
                       (f"export CUDA_VISIBLE_DEVICES={keep}", "unset CUDA_VISIBLE_DEVICES")),),
            severity=Severity.ERROR if not visible else Severity.WARNING,
        )


class ComputeMode(Rule):
    """No visible GPU is in a compute mode that refuses this process.

    "Prohibited" refuses every CUDA context; "exclusive process" admits one process per GPU, so a second one
    (a vLLM server next to the trainer, a smoke test) fails with "all CUDA-capable devices are busy or unavailable".
    """

    code = "DRV105"
    family = "driver"
    severity = Severity.WARNING
    requires = frozenset({"DRV101"})

    def check(self, ctx: Context) -> Pass | Fail | NotApplicable:
        gpus = visible_gpus(ctx.facts, ctx.matrix)
        known = [g for g in gpus if g.compute_mode]
        if not gpus or not known:
            return NotApplicable("no GPU reported a compute mode" if gpus else "no visible GPU")
        odd = [g for g in known if g.compute_mode != "default"]
        if not odd:
            return Pass(f"{len(known)} GPU(s) in the default compute mode")
        prohibited = any(g.compute_mode == "prohibited" for g in odd)
        return Fail(
            "; ".join(f"{g.label} is in compute mode {g.compute_mode}" for g in odd)
            + (": no CUDA context can be created on it" if prohibited else ": only one process at a time may use it"),
            {"compute_modes": {g.label: g.compute_mode for g in known}},
            fixes=(Fix("Set the default compute mode (needs root; persists until reboot)",
                       tuple(f"sudo nvidia-smi -i {g.index} -c DEFAULT" for g in odd)),),
            severity=Severity.ERROR if prohibited else Severity.WARNING,
        )


class MigMode(Rule):
    """GPUs in MIG mode are used through an explicitly chosen MIG instance.

    With MIG enabled, CUDA sees MIG instances (a slice of the memory and SMs), not the GPU; without a
    MIG UUID in CUDA_VISIBLE_DEVICES a process gets one instance, and NCCL cannot span instances.
    """

    code = "DRV106"
    family = "driver"
    severity = Severity.WARNING
    requires = frozenset({"DRV101"})

    def check(self, ctx: Context) -> Pass | Fail | Info | NotApplicable:
        gpus = physical_gpus(ctx.facts, ctx.matrix)
        mig = [g for g in gpus if g.mig]
        if not gpus:
            return NotApplicable("no GPU listed by the driver")
        if not mig:
            return Pass("MIG is not enabled on any GPU")
        chosen = [vd.token for vd in ctx.facts.driver.visible_devices if vd.token.startswith("MIG-")]
        evidence = {"mig_enabled": [g.label for g in mig], "CUDA_VISIBLE_DEVICES": ctx.facts.driver.cuda_visible_devices}
        if chosen:
            return Info(f"MIG instance(s) chosen through CUDA_VISIBLE_DEVICES: {', '.join(chosen)}", evidence)
        return Fail(
            f"MIG is enabled on {', '.join(g.label for g in mig)}: CUDA sees MIG instances, not whole GPUs, and a "
            "process uses one instance only; multi-GPU (NCCL) training across instances is not supported",
            evidence,
            fixes=(
                Fix("Choose the instance explicitly", ("nvidia-smi -L", "export CUDA_VISIBLE_DEVICES=MIG-<uuid from nvidia-smi -L>")),
                Fix("Or disable MIG for whole-GPU training (needs root and an idle GPU)",
                    tuple(f"sudo nvidia-smi -i {g.index} -mig 0" for g in mig)),
            ),
        )


RULES = (DriverPresent, DriverUserspace, DriverVersionMatch, DriverRunsTorchCuda, VisibleDevices, ComputeMode, MigMode)
