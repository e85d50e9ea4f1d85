"""Render the README's screenshot of `ftdoctor tui`: the real app, with ftdoctor's own probes and rules,
on this machine (or on a saved snapshot with --facts), as an SVG.

    .venv/bin/python docs/tui_screenshot.py                      # writes docs/tui.svg
    .venv/bin/python docs/tui_screenshot.py --facts box.json -o /tmp/box.svg --size 100x30

Convert it to PNG with any SVG renderer (the README's PNG was made with cairosvg)."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from ftdoctor.facts import serialize
from ftdoctor.probes.host import Host
from ftdoctor.rules.settings import load_settings
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data import live
from ftdoctor.tui.data.runners import Origin


def build(facts_path: str | None):
    settings = load_settings()
    if facts_path:
        facts = serialize.load(facts_path)
        return make_app(live.runners(settings), Origin.snapshot(facts_path, facts), facts)
    host = Host.from_environment()
    tasks = live.probe_tasks(host)
    return make_app(live.runners(settings, tasks, host, live.smoke_runner(host)), Origin.this_machine(), live.blank_facts())


async def shoot(app, size: tuple[int, int], output: Path, timeout: float = 120) -> None:
    async with app.run_test(size=size) as pilot:
        deadline = time.monotonic() + timeout
        while app.main.state.probing:
            if time.monotonic() > deadline:
                raise SystemExit("the probes did not finish")
            await pilot.pause(0.2)
        await pilot.pause(0.5)
        app.save_screenshot(filename=output.name, path=str(output.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--facts", help="a saved facts snapshot (default: probe this machine)")
    parser.add_argument("--size", default="100x30", help="columns x rows (default: 100x30)")
    parser.add_argument("-o", "--output", default=str(Path(__file__).with_name("tui.svg")))
    args = parser.parse_args()
    columns, rows = (int(n) for n in args.size.split("x"))
    asyncio.run(shoot(build(args.facts), (columns, rows), Path(args.output)))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
