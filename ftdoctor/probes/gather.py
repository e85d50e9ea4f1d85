"""Gather one facts snapshot, cheapest layers first, with the slow children overlapping everything else.

`Gathering(host, options)` starts the torch subprocess (seconds) and the driver-library child at once;
`finish()` runs the other probes and then collects the children. The command starts a gathering before
its own imports and settings, so even those overlap `import torch`; `cancel()` kills what is left when
the command stops early.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from ftdoctor import __version__
from ftdoctor.facts.model import Facts
from ftdoctor.probes import abi, driver, env_vars, python_env, system, toolkit, torch_probe
from ftdoctor.probes.host import Host

NO_TORCH = "torch was not imported (--no-torch): facts from its metadata only"


@dataclass(frozen=True)
class GatherOptions:
    torch: bool = True  # import torch in a subprocess (seconds); off: metadata only
    label: str = ""


class Gathering:
    def __init__(self, host: Host, options: GatherOptions = GatherOptions()) -> None:
        self.host = host
        self.options = options
        # Started before we know torch is installed: the metadata scan takes longer than spawning, and a
        # child that is not wanted is killed.
        self.torch_child = torch_probe.start(host) if options.torch else None
        self.driver_child = driver.start(host)

    def finish(self) -> Facts:
        host = self.host
        pyenv = python_env.probe(host)
        facts = dict(
            ftdoctor_version=__version__,
            collected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            label=self.options.label,
            toolkit=toolkit.probe(host),
            system=system.probe(host, loaded_libstdcxx=pyenv.libstdcxx_path),
            python=pyenv,
            env=env_vars.probe(host),
            driver=driver.finish(self.driver_child),
            abi=abi.probe(host, pyenv),  # reads ELF files only; overlaps the torch subprocess
        )
        torch_dist = next((d for d in pyenv.distributions if d.name == "torch"), None)
        if self.torch_child is not None and torch_dist is not None:
            torch_facts = torch_probe.finish(self.torch_child, torch_dist)
        else:
            self.cancel()
            torch_facts = torch_probe.from_metadata(torch_dist, NO_TORCH)
        return Facts(**facts, torch=torch_facts)

    def cancel(self) -> None:
        """Kill the children whose answers were not collected (no-op for those that were)."""
        if self.torch_child is not None:
            self.torch_child.cancel()
        self.driver_child.child.cancel()


def gather(host: Host, options: GatherOptions = GatherOptions()) -> Facts:
    return Gathering(host, options).finish()
