"""The package's layout is its architecture: each wing imports only the wings before it.

    core (iglib/*.py) < variants, methods < checks < experiments < widgets < apps

``iglib/__init__.py`` is the public face and may import from anywhere. Every import counts,
those inside functions too, so a cycle or a climb cannot hide in a lazy import.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "iglib"
ORDER = {"core": 0, "variants": 1, "methods": 1, "checks": 2, "experiments": 3, "widgets": 4, "apps": 5}
MAX_TOP_LEVEL, MAX_LINES = 16, 600


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def wing(module: str) -> str:
    """``core`` for a top-level module, else the sub-package it lives in."""
    parts = module.split(".")
    return "core" if len(parts) == 2 and not (PACKAGE / parts[1]).is_dir() else parts[1]


def imports(module: str, source: str | None = None) -> set[str]:
    """The iglib modules ``module`` imports (``from . import x`` counts as importing module x)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text() if source is None else source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base.split(".")[0] == "iglib":
                found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "iglib"}
    return found - {module}


GRAPH = {m: imports(m) for m in MODULES}


def climbs(module: str, targets: set[str]) -> list[str]:
    return sorted(t for t in targets if t != "iglib" and ORDER[wing(t)] > ORDER[wing(module)])


@pytest.mark.parametrize("module", sorted(m for m in MODULES if m != "iglib"))
def test_no_import_climbs_a_layer(module):
    climbs_ = climbs(module, GRAPH[module])
    assert not climbs_, f"{module} ({wing(module)}) imports a higher layer: {climbs_}"
    assert "iglib" not in GRAPH[module], f"{module} imports the package's public face"


def test_no_import_circle():
    """Depth-first search over every import (the public face left out)."""
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for t in sorted(GRAPH.get(m, ())):
            if t == "iglib":
                continue
            if state.get(t) == 1:
                cycle = trail[trail.index(t):] + [t] if t in trail else [m, t]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if t not in state:
                visit(t, trail + [t])
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state and m != "iglib":
            visit(m, [m])


def test_top_level_is_the_core_and_small():
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
    assert len(top) <= MAX_TOP_LEVEL, f"{len(top)} top-level modules (at most {MAX_TOP_LEVEL}): {top}"
    assert {"integrated_gradients", "quadrature", "forward", "arguments", "paths"} <= set(top)


def test_modules_stay_short():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_checks_catch_a_climb():
    """The climb test can fail: a core module that imports a widget in a function is caught."""
    source = MODULES["iglib.paths"].read_text() + "\n\ndef f():\n    from .widgets import slider_figure\n"
    assert climbs("iglib.paths", imports("iglib.paths", source)) == ["iglib.widgets"]
    assert climbs("iglib.checks.sanity", {"iglib.methods.lime"}) == []
    assert climbs("iglib.methods.lime", {"iglib.checks.evaluation"}) == ["iglib.checks.evaluation"]
