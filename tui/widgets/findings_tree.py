"""The findings, grouped by family, as a tree. It keeps the cursor and the user's folds across updates and
posts `Highlighted` when the cursor lands on a node; the screen decides what to show."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from ftdoctor.findings import Finding, Severity
from ftdoctor.tui.data.view import FamilyView, finding_label

Node = FamilyView | Finding | None
SEVERITY_CLASS = {s: f"severity-{s.value}" for s in Severity}


class FindingsTree(Tree[Node]):
    COMPONENT_CLASSES = {f"findings-tree--{name}" for name in (*SEVERITY_CLASS.values(), "severity-waiting")}

    class Highlighted(Message):
        def __init__(self, finding: Finding | None, family: FamilyView | None) -> None:
            super().__init__()
            self.finding = finding
            self.family = family  # set when the cursor is on a family, None on a finding or the root

    def __init__(self, label: str = "findings", *, id: str | None = None) -> None:
        super().__init__(label, id=id)
        self.guide_depth = 2
        self._search = ""  # the search the current folds were made under
        self._folds_before_search: dict[str, bool] = {}

    @property
    def current(self) -> Node:
        node = self.cursor_node
        return node.data if node is not None else None

    def show(self, views: Sequence[FamilyView], root_label: str, search: str = "") -> None:
        """Replace the tree's content, keeping the cursor on the same finding or family when it is still shown.

        The user's folds are kept; a search unfolds every family with a match (a match inside a folded family
        would look like none), and clearing it brings back the folds from before it."""
        keep = _key(self.current)
        folds = self._folds(search)
        self.clear()
        self.root.set_label(root_label)
        for view in views:
            expand = folds.get(view.family, view.has_problems or bool(view.failures) or bool(search and view.findings))
            node = self.root.add(self._family_label(view), data=view, expand=expand, allow_expand=bool(view.findings))
            for finding in view.findings:
                node.add_leaf(self._finding_label(finding), data=finding)
        self.root.expand()
        self.go_to(self._find(keep) or self.root)

    def _folds(self, search: str) -> dict[str, bool]:
        """The folds to keep for this search: the current ones under the same search, none under a new one."""
        current = {n.data.family: n.is_expanded for n in self.root.children if n.children}
        previous, self._search = self._search, search
        if search == previous:
            return current
        if not previous:
            self._folds_before_search = current
        return {} if search else self._folds_before_search

    def go_to(self, node: TreeNode[Node]) -> None:
        """Move the cursor to a node, unfolding its family, and say so even when the line did not change."""
        if node.parent is not None and not node.parent.is_expanded:
            node.parent.expand()
        self.last_line  # noqa: B018 - lays the lines out, so the node knows its line
        self.move_cursor(node)
        self.post_message(self.Highlighted(*_split(node.data)))

    def go_to_finding(self, finding: Finding) -> bool:
        node = self._find(("finding", finding.code))
        if node is not None:
            self.go_to(node)
        return node is not None

    def _find(self, key: tuple[str, str] | None) -> TreeNode[Node] | None:
        if key is None:
            return None
        for family in self.root.children:
            if _key(family.data) == key:
                return family
            for leaf in family.children:
                if _key(leaf.data) == key:
                    return leaf
        return None

    def _family_label(self, view: FamilyView) -> Text:
        name = "severity-waiting" if view.waiting and not view.failures else SEVERITY_CLASS[view.verdict]
        if view.failures:
            name = SEVERITY_CLASS[Severity.ERROR]
        return Text(view.label(), style=self.get_component_rich_style(f"findings-tree--{name}", partial=True))

    def _finding_label(self, finding: Finding) -> Text:
        style = self.get_component_rich_style(f"findings-tree--{SEVERITY_CLASS[finding.severity]}", partial=True)
        return Text(finding_label(finding), style=style)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Node]) -> None:
        event.stop()
        self.post_message(self.Highlighted(*_split(event.node.data)))


def _key(data: Node) -> tuple[str, str] | None:
    if isinstance(data, Finding):
        return ("finding", data.code)
    if isinstance(data, FamilyView):
        return ("family", data.family)
    return None


def _split(data: Node) -> tuple[Finding | None, FamilyView | None]:
    return (data if isinstance(data, Finding) else None, data if isinstance(data, FamilyView) else None)
