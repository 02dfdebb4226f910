"""The package's import graph: no cycle between ``liq`` modules, sources one way, and never streamlit."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "liq"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> list[str]:
    """Absolute names a ``from ... import ...`` statement may load (the module, and each name as a submodule)."""
    if node.level == 0:
        base = node.module or ""
    else:
        anchor = module.split(".") if is_package else module.split(".")[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, node.module] if node.module else anchor)
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def imports_of(module: str, path: Path) -> set[str]:
    """Every module name imported anywhere in the file (top level or inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, path.name == "__init__.py", node))
    return found


def graph() -> dict[str, set[str]]:
    """``liq`` module -> the ``liq`` modules it imports (the package ``liq`` itself excluded: it only re-exports)."""
    mods = _modules()
    return {
        name: {m for m in imports_of(name, path) if m in mods and m != name and m != "liq"}
        for name, path in mods.items()
    }


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None (iterative depth-first search)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in sorted(edges):
        if root in state:
            continue
        path = [root]
        stack = [iter(sorted(edges[root]))]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(edges.get(nxt, ()))))
    return None


def test_the_cycle_finder_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_relative_imports_resolve_to_modules() -> None:
    edges = graph()
    assert "liq._sources._common" in edges["liq._sources.chain"]
    assert "liq._sources.live" in edges["liq._sources.chain"]
    assert "liq._errors" in edges["liq._sources._common"]


def test_liq_has_no_import_cycle() -> None:
    assert find_cycle(graph()) is None


def test_sources_import_one_way() -> None:
    """Helpers (``_common``, ``_files``, ``_http``) import no source; a source imports helpers and ``validate``
    only; ``chain`` imports the sources."""
    edges = graph()
    package = {m for m in edges if m.startswith("liq._sources.")}
    helpers = {m for m in package if m.rsplit(".", 1)[1].startswith("_")}
    sources = package - helpers
    assert {"liq._sources._common", "liq._sources._files", "liq._sources._http"} <= helpers
    for mod in helpers:
        assert not edges[mod] & sources, mod
    for mod in sources - {"liq._sources.chain"}:
        assert not (edges[mod] & sources) - {"liq._sources.validate"}, mod
    assert {"liq._sources.live", "liq._sources.archive", "liq._sources.sample"} <= edges["liq._sources.chain"]


def test_liq_never_imports_streamlit() -> None:
    offenders = [
        name
        for name, path in _modules().items()
        if any(m == "streamlit" or m.startswith("streamlit.") for m in imports_of(name, path))
    ]
    assert offenders == []


def test_importing_every_module_loads_no_streamlit() -> None:
    """In a fresh interpreter, import every ``liq`` module; streamlit must not be loaded by any of them."""
    names = ", ".join(sorted(_modules()))
    code = f"import sys, {names}; assert 'streamlit' not in sys.modules, 'streamlit was imported'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
