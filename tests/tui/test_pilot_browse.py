"""Browsing with the keyboard: the tree, jumping between problems, filtering, search, help, copy."""

from __future__ import annotations

from synthetic_machine import facts, plain, runners
from textual.widgets import Static

from ftdoctor.findings import Finding
from ftdoctor.tui.app.app import make_app
from ftdoctor.tui.data.runners import Origin
from ftdoctor.tui.screens.help import HelpScreen

SIZE = (100, 30)


def snapshot_app():
    box = facts()
    return make_app(runners(), Origin.snapshot("box.json", box), box)


def codes_in_tree(app) -> list[str]:
    return [leaf.data.code for family in app.main.tree.root.children for leaf in family.children]


def current_code(app) -> str | None:
    current = app.main.tree.current
    return current.code if isinstance(current, Finding) else None


def detail_text(app) -> str:
    return plain(app.main.query_one("#detail-text", Static)) + plain(app.main.query_one("#detail-evidence", Static))


async def test_the_tree_groups_findings_by_family_with_marks_and_counts():
    app = snapshot_app()
    async with app.run_test(size=SIZE):
        labels = [str(node.label) for node in app.main.tree.root.children]
        assert labels == [
            "✓ NVIDIA driver · 2 ok",
            "! GPU architecture and precision · 1 warning",
            "✗ torch build · 1 error, 1 info",
            "- CUDA toolkit · 1 skipped",
            "! Python packages · 1 warning",
        ]
        assert str(app.main.tree.root.label) == "snapshot box.json (rtx5090-box)"
        # families with a problem start unfolded, clean ones folded
        assert [n.is_expanded for n in app.main.tree.root.children] == [False, True, True, False, True]


async def test_the_cursor_starts_on_the_first_problem():
    app = snapshot_app()
    async with app.run_test(size=SIZE):
        assert current_code(app) == "ARC200"
        assert "! warning · ARC200 · GPU architecture and precision" in detail_text(app)


async def test_n_and_p_walk_the_problems_in_tree_order_and_wrap():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(3):
            await pilot.press("n")
            seen.append(current_code(app))
        assert seen == ["TOR300", "PKG600", "ARC200"]
        await pilot.press("p", "p")
        assert current_code(app) == "TOR300"
        assert "✗ error · TOR300 · torch build" in detail_text(app)
        assert "no kernels for sm_120" in detail_text(app)


async def test_arrow_keys_move_through_the_tree_and_the_detail_follows():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home", "down")  # the root, then the first family
        assert "NVIDIA driver · 2 ok" in detail_text(app)
        await pilot.press("enter", "down")  # unfold it, then its first finding
        assert current_code(app) == "DRV100"
        assert "NVIDIA driver 570.133.07 (from nvml)" in detail_text(app)


async def test_number_keys_hide_and_show_severities():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4", "5", "3")  # hide ok, skipped, info
        assert codes_in_tree(app) == ["ARC200", "TOR300", "PKG600"]
        bar = plain(app.main.query_one("#severities", Static)).strip()
        assert bar == "[x] errors [x] warnings [ ] info [ ] ok [ ] skipped"
        labels = [str(node.label) for node in app.main.tree.root.children]
        assert "✓ NVIDIA driver · 2 hidden" in labels
        await pilot.press("2")
        assert codes_in_tree(app) == ["TOR300"]
        await pilot.press("2", "4")
        assert codes_in_tree(app) == ["DRV100", "DRV110", "ARC200", "TOR300", "PKG600"]


async def test_search_narrows_to_matching_findings_and_escape_clears_it():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash")
        await pilot.press(*"transformers")
        assert codes_in_tree(app) == ["PKG600"]  # matched in the message and the fix command
        assert [str(n.label).split(" ·")[0] for n in app.main.tree.root.children] == ["! Python packages"]
        await pilot.press("enter")  # back to the tree, the search stays
        assert app.main.tree.has_focus
        await pilot.press("n")
        assert current_code(app) == "PKG600"
        await pilot.press("escape")  # in the tree: clears the search
        assert len(codes_in_tree(app)) == 7


def folded(app) -> dict[str, bool]:
    return {node.data.family: not node.is_expanded for node in app.main.tree.root.children}


async def test_a_search_unfolds_families_with_a_match_and_clearing_it_brings_the_folds_back():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        assert folded(app)["toolkit"]  # only a skipped finding: folded at first
        app.main.tree.root.children[0].collapse()  # the user folds the driver family
        await pilot.pause()
        await pilot.press("slash", *"tlk400")
        assert folded(app) == {"toolkit": False}  # the match is on screen, not inside a folded family
        assert codes_in_tree(app) == ["TLK400"]
        await pilot.press("enter", "escape")  # back to the tree, then clear the search
        assert folded(app)["toolkit"] and folded(app)["driver"]  # the folds from before the search


async def test_search_for_a_code_finds_it_case_insensitively():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"tor3")
        assert codes_in_tree(app) == ["TOR300", "TOR310", "TLK400"]  # TLK400 names TOR300 in its message


async def test_help_lists_every_key_and_the_marks():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(plain(s) for s in app.screen.query(Static))
        for binding in app.main.BINDINGS:
            assert (binding.tooltip or binding.description) in text
        for words in ("✗", "error", "waiting for a probe or smoke test to answer"):
            assert words in text
        await pilot.press("escape")
        assert app.screen is app.main


async def test_c_copies_the_highlighted_fix_command():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # TOR300
        await pilot.press("c")
        assert "torch==2.7.1" in app.clipboard
        assert app.clipboard.startswith("/opt/venv/bin/python -m pip install --upgrade")


async def test_c_on_a_finding_without_fix_says_so_and_copies_nothing():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home", "down", "enter", "down")  # DRV100, no fix
        await pilot.press("c")
        assert app.clipboard == ""
        assert any("No command to copy" in str(n.message) for n in app._notifications)


async def test_tab_moves_to_the_fix_list_where_another_command_can_be_chosen():
    box = facts()
    app = make_app(runners(), Origin.snapshot("box.json", box), box)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab")  # on ARC200: one fix with one command
        assert app.focused.id == "fix-list"
        await pilot.press("c")
        assert app.clipboard == "tf32: true"


async def test_the_root_shows_the_machine():
    app = snapshot_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("home")  # the root
        text = detail_text(app)
    assert "NVIDIA GeForce RTX 5090 (sm_120, 31 GiB)" in text
    assert "570.133.07, supports CUDA ≤ 12.8 (from nvml)" in text


async def test_real_rules_on_a_recorded_machine():
    """The real judge on a recorded RTX 5090 with a cu126 torch: the app opens on the one error and its fix."""
    from pathlib import Path

    from ftdoctor.facts import serialize
    from ftdoctor.rules.settings import Settings
    from ftdoctor.tui.data import live

    path = Path(__file__).parent.parent / "machines" / "rtx5090-cu126.json"
    box = serialize.load(path)
    app = make_app(live.runners(Settings()), Origin.snapshot(path, box), box)
    async with app.run_test(size=SIZE) as pilot:
        assert current_code(app) == "ARC200"
        assert "no kernel for GPU 0 (NVIDIA GeForce RTX 5090, sm_120)" in detail_text(app)
        assert app.main.detail.highlighted[1].endswith("torch==2.7.1+cu128 --index-url https://download.pytorch.org/whl/cu128")
        await pilot.press("n")
        assert current_code(app) == "ARC200"  # the only problem: n wraps onto it
