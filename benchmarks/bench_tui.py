"""How quickly `ftdoctor tui` shows something, headless (Textual's test driver, no terminal needed).

    python benchmarks/bench_tui.py [--runs N]

Rows: the app on a recorded machine until its findings are on screen; one redraw (judge + tree + status),
which happens on every probe answer; the live app on this machine until every probe answered, without and
with `import torch` (the torch probe dominates); the smoke tests (key v, after the probes) until the first
verdict is on screen and until every one is (each shows as its own test ends). Median, fastest and slowest
wall-clock seconds of N runs.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from ftdoctor.facts import serialize
from ftdoctor.probes.host import Host
from ftdoctor.rules.settings import Settings
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data import live
from ftdoctor.tui.data.runners import Origin

RECORDED = Path(__file__).resolve().parent.parent / "tests" / "machines" / "rtx5090-cu126.json"


def snapshot_app():
    facts = serialize.load(RECORDED)
    return make_app(live.runners(Settings()), Origin.snapshot(RECORDED, facts), facts)


def live_app(import_torch: bool):
    host = Host.from_environment()
    tasks = live.probe_tasks(host, import_torch=import_torch)
    return make_app(live.runners(Settings(), tasks, host, live.smoke_runner(host)), Origin.this_machine(), live.blank_facts())


async def until_judged(app) -> float:
    started = time.perf_counter()
    async with app.run_test(size=(100, 30)) as pilot:
        while app.main.state.probing or not app.main.tree.root.children:
            await pilot.pause(0.01)
        return time.perf_counter() - started


async def until_smokes(app, first: bool) -> float:
    async with app.run_test(size=(100, 30)) as pilot:
        while app.main.state.probing or not app.main.tree.root.children:
            await pilot.pause(0.01)
        started = time.perf_counter()
        await pilot.press("v")
        while not (app.main.state.facts.verify.smokes if first else app.main.smokes is None):
            await pilot.pause(0.01)
        return time.perf_counter() - started


async def one_redraw(app) -> float:
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        started = time.perf_counter()
        app.main.state = app.main.state.judged(app.main.state.facts, app.main.runners.judge)
        app.main.redraw()
        return time.perf_counter() - started


def rows() -> dict:
    return {
        "recorded machine, findings on screen": lambda: until_judged(snapshot_app()),
        "one redraw (judge + tree + status)": lambda: one_redraw(snapshot_app()),
        "this machine, all probes (--no-torch)": lambda: until_judged(live_app(False)),
        "this machine, all probes (import torch)": lambda: until_judged(live_app(True)),
        "smoke tests (v): the first verdict": lambda: until_smokes(live_app(False), first=True),
        "smoke tests (v): every verdict": lambda: until_smokes(live_app(False), first=False),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {name: [] for name in rows()}
    for _ in range(runs):
        for name, measure in rows().items():
            times[name].append(asyncio.run(measure()))
    width = max(len(name) for name in times)
    print(f"{'measure':<{width}}  {'median s':>9}  {'min s':>7}  {'max s':>7}  runs")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 7}  {'-' * 7}  ----")
    for name, values in times.items():
        print(f"{name:<{width}}  {statistics.median(values):>9.3f}  {min(values):>7.3f}  {max(values):>7.3f}  {runs}")


if __name__ == "__main__":
    main()
