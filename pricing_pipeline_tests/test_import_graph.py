"""The package's import graph, read with the standard library's ``ast``: no cycles anywhere in
``pricing_pipeline/`` (imports inside functions count too), and ``defs/sync`` (the core: the
sync assets, checks and their resources) never imports the concerns built on it
(``defs/guard``, ``defs/metrics``, ``defs/feeds``, ``defs/bills``, ``defs/watch``); ``definitions.py`` wires them together."""

from __future__ import annotations

import ast
from pathlib import Path

from pricing_pipeline_tests.recordings import REPO_ROOT

PACKAGE = REPO_ROOT / "pricing_pipeline"
CORE = "pricing_pipeline.defs.sync"
BUILT_ON_CORE = ("pricing_pipeline.defs.guard", "pricing_pipeline.defs.metrics", "pricing_pipeline.defs.feeds",
                 "pricing_pipeline.defs.bills", "pricing_pipeline.defs.watch")


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    targets.add(submodule if submodule in known else node.module)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_the_package_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_sync_core_never_imports_what_is_built_on_it():
    offending = {
        module: sorted(t for t in targets if t.startswith(BUILT_ON_CORE))
        for module, targets in import_graph().items()
        if module.startswith(CORE)
    }
    assert {m: t for m, t in offending.items() if t} == {}


def test_the_concerns_built_on_the_core_never_import_each_other():
    """guard/, metrics/ and feeds/ build on defs/sync and the shared modules below defs/
    (runs, outcomes, instigators); definitions.py is the only place that sees them all."""
    offending = {}
    for module, targets in import_graph().items():
        concern = next((c for c in BUILT_ON_CORE if module.startswith(c)), None)
        if concern:
            sideways = sorted(t for t in targets if t.startswith(BUILT_ON_CORE) and not t.startswith(concern))
            if sideways:
                offending[module] = sideways
    assert offending == {}


def test_the_checker_sees_a_cycle_and_a_sideways_import():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    real = import_graph()
    assert "pricing_pipeline.defs.metrics.hooks" in real["pricing_pipeline.definitions"]  # imports are seen
