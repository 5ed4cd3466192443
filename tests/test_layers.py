"""The package's layers stay true: no module imports from a layer above its own; no import cycle.

    domain, config, telemetry  <  store, media, bus, captions, deploy, jobs, delivery  <  actions
    <  room  <  api  <  cli  <  __main__

A layer may use any layer below it and itself; store, media, bus and captions are siblings that do
not use each other, and so are domain, config and telemetry (metrics and log context, used by
every layer above; the domain's rules stay free of it). Every import counts, inside functions and
under TYPE_CHECKING too: a cycle hidden from the interpreter is still one a reader has to hold in
their head.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import parley

pytestmark = pytest.mark.unit

PACKAGE_DIR = Path(parley.__file__).parent

# The layer of each part of the package (its first name under `parley`).
RANKS: dict[str, int] = {
    "__init__": 0,
    "config": 0,
    "domain": 0,
    "telemetry": 0,
    "store": 1,
    "media": 1,
    "bus": 1,
    "captions": 1,
    "deploy": 1,
    "jobs": 1,
    "delivery": 1,
    "actions": 2,
    "backup": 2,
    "room": 3,
    "api": 4,
    "cli": 5,
    "__main__": 6,
}

Graph = dict[str, set[str]]


def _module_name(path: Path, root: Path, package: str) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([package, *parts])


def import_graph(root: Path, package: str) -> Graph:
    """Module -> the package's modules it imports (a `from X import Y` counts as X.Y when that is
    a module of the package, else as X)."""
    files = {_module_name(path, root, package): path for path in sorted(root.rglob("*.py"))}
    graph: Graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = here[: len(here) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base
                    for alias in node.names
                ]
            targets.update(t for t in found if t == package or t.startswith(package + "."))
        targets.discard(name)
        graph[name] = {t for t in targets if t in files}
    return graph


def _area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def upward_imports(graph: Graph, ranks: dict[str, int]) -> list[str]:
    """Imports from a module to a higher layer, or to a sibling part of the same layer."""
    found = []
    for module, targets in graph.items():
        area = _area(module)
        for target in targets:
            other = _area(target)
            if other == area:
                continue
            if ranks[other] >= ranks[area]:
                found.append(
                    f"{module} (layer {ranks[area]}) imports {target} (layer {ranks[other]})"
                )
    return sorted(found)


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _area_graph(graph: Graph) -> Graph:
    areas: Graph = {}
    for module, targets in graph.items():
        area = _area(module)
        areas.setdefault(area, set()).update(_area(t) for t in targets if _area(t) != area)
    return areas


# --- the package -------------------------------------------------------------------------------
def test_every_part_of_the_package_has_a_layer() -> None:
    areas = {_area(module) for module in import_graph(PACKAGE_DIR, "parley")}
    assert areas <= RANKS.keys(), f"give {sorted(areas - RANKS.keys())} a layer in RANKS"


def test_no_module_imports_from_a_layer_above_its_own() -> None:
    assert upward_imports(import_graph(PACKAGE_DIR, "parley"), RANKS) == []


def test_media_store_and_domain_import_nothing_above_them() -> None:
    # The issue's own wording, kept explicit: these three are libraries for the rest.
    graph = import_graph(PACKAGE_DIR, "parley")
    for module, targets in graph.items():
        if _area(module) in ("media", "store", "domain"):
            above = sorted(t for t in targets if RANKS[_area(t)] > RANKS[_area(module)])
            assert above == [], f"{module} imports {above}"


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph(PACKAGE_DIR, "parley")
    assert cycles(graph) == []
    assert cycles(_area_graph(graph)) == []


# --- the checks themselves can fail -------------------------------------------------------------
def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "pkg" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "pkg"


def test_the_checks_find_an_upward_import_and_cycles(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            "__init__.py": "",
            "domain/__init__.py": "",
            "domain/rules.py": "from pkg.domain import other\n",
            "domain/other.py": "def f():\n    from pkg.domain import rules\n",
            "media/__init__.py": "",
            "media/engine.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.actions.base import Services\n"
            ),
            "actions/__init__.py": "",
            "actions/base.py": "from ..media import engine\nfrom pkg.domain.rules import x\n",
        },
    )
    graph = import_graph(root, "pkg")
    assert graph["pkg.actions.base"] == {"pkg.media.engine", "pkg.domain.rules"}
    assert upward_imports(graph, {"__init__": 0, "domain": 0, "media": 1, "actions": 2}) == [
        "pkg.media.engine (layer 1) imports pkg.actions.base (layer 2)"
    ]
    assert sorted(cycles(graph)) == [
        ["pkg.actions.base", "pkg.media.engine"],
        ["pkg.domain.other", "pkg.domain.rules"],
    ]
    assert cycles(_area_graph(graph)) == [["actions", "media"]]
