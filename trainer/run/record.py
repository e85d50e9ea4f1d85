"""The run's record in `output_dir/run/`: written at launch (config, facts, lockfile, gate, data hashes) and
completed when the processes end (status, metrics, what actually ran, the crash's explanation). Every file
is written atomically; a resumed run appends an attempt and keeps the earlier ones."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ftdoctor import atomic
from ftdoctor.facts.model import Facts

RECORD = "record.json"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_json(path: Path, data: Any) -> Path:
    return atomic.write_text(path, json.dumps(data, indent=2, default=str) + "\n", overwrite=True)


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def lockfile(facts: Facts) -> str:
    """The training interpreter's installed distributions, pinned one per line (pip freeze style)."""
    lines = [f"# installed in {facts.python.executable} (Python {facts.python.version}) at {facts.collected_at}",
             "# pinned by ftdoctor train; reinstall with: pip install -r requirements.lock"]
    for dist in sorted(facts.python.distributions, key=lambda d: d.name):
        note = "  # installed from a local path or URL" if dist.direct_url else ""
        lines.append(f"{dist.name}=={dist.version}{note}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class RunRecord:
    run_dir: Path

    @property
    def path(self) -> Path:
        return self.run_dir / RECORD

    def load(self) -> dict[str, Any]:
        found = read_json(self.path)
        return found if isinstance(found, dict) else {}

    def start(self, *, config_path: Path, facts: Facts, gate: dict[str, Any], data: dict[str, dict[str, Any]],
              command: list[str], config_sha256: str, resumed_from: str | None) -> dict[str, Any]:
        from ftdoctor import __version__
        from ftdoctor.facts import serialize

        self.run_dir.mkdir(parents=True, exist_ok=True)
        record = self.load()
        first = not record
        if first:
            shutil.copyfile(config_path, self.run_dir / "config.yml")
        write_json(self.run_dir / "gate.json", gate)
        atomic.write_text(self.run_dir / "facts.json", serialize.dumps(facts), overwrite=True)
        atomic.write_text(self.run_dir / "requirements.lock", lockfile(facts), overwrite=True)
        attempt = {"started_at": now(), "ftdoctor_version": __version__, "command": command,
                   "resumed_from": resumed_from, "config_sha256": config_sha256,
                   "gate": {k: gate[k] for k in ("launch", "forced", "warning", "errors", "checks_run")},
                   "status": "running"}
        for earlier in record.get("attempts", []):
            if earlier.get("status") == "running":  # its launcher died with it (killed, power lost)
                earlier["status"] = "died"
        record.setdefault("config", str(config_path.resolve()))
        record.setdefault("config_sha256", config_sha256)
        record.setdefault("data", data)
        record["status"] = "running"
        record.setdefault("attempts", []).append(attempt)
        write_json(self.path, record)
        return record

    def finish(self, *, status: str, result: dict[str, Any] | None, runtime: dict[str, Any] | None,
               returncode: int | None, explanation: dict[str, Any] | None = None,
               findings: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        record = self.load()
        attempt = record["attempts"][-1]
        attempt.update(finished_at=now(), status=status, returncode=returncode, runtime=runtime,
                       explanation=explanation, findings=findings or [])
        if result:
            attempt["result"] = result
            record["metrics"] = result.get("metrics")
        record["status"] = status
        write_json(self.path, record)
        return record
