"""Gather one facts snapshot, cheapest layers first. The torch subprocess starts first and is collected
last, so its import overlaps every other probe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from ftdoctor import __version__
from ftdoctor.facts.model import Facts
from ftdoctor.probes import abi, driver, env_vars, python_env, system, toolkit, torch_probe
from ftdoctor.probes.host import Host


@dataclass(frozen=True)
class GatherOptions:
    torch: bool = True  # import torch in a subprocess (seconds); off: metadata only
    label: str = ""


def gather(host: Host, options: GatherOptions = GatherOptions()) -> Facts:
    pyenv = python_env.probe(host)
    torch_dist = next((d for d in pyenv.distributions if d.name == "torch"), None)
    running = torch_probe.start(host) if options.torch and torch_dist is not None else None
    facts = dict(
        ftdoctor_version=__version__,
        collected_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        label=options.label,
        driver=driver.probe(host),
        toolkit=toolkit.probe(host),
        system=system.probe(host),
        python=pyenv,
        env=env_vars.probe(host),
        abi=abi.probe(host, pyenv),  # reads ELF files only; overlaps the torch subprocess
    )
    if running is not None:
        torch_facts = torch_probe.finish(running, torch_dist)
    else:
        why = "torch was not imported (--no-torch): facts from its metadata only"
        torch_facts = torch_probe.from_metadata(torch_dist, why)
    return Facts(**facts, torch=torch_facts)
