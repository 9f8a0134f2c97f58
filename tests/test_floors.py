"""The floors of the house (see README "Layout"): core imports neither Streamlit, plotly nor the
floors above it; viz imports neither Streamlit nor the app; nothing imports pages/; and no
module of core imports another that imports it back (function-level imports included).
Read from the source with ast, so a lazy import inside a function counts too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"core": {"streamlit", "plotly", "viz", "ui", "pages"},
             "viz": {"streamlit", "ui", "pages"},
             "ui": {"pages"}}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Absolute names of every module `path` imports, anywhere in the file."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}   # `from . import x`
    return found


def sources(top: str) -> list[Path]:
    return sorted(p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)


@pytest.mark.parametrize("top", sorted(FORBIDDEN))
def test_no_floor_imports_a_floor_above_it(top):
    bad = {}
    for path in sources(top):
        roots = {name.split(".")[0] for name in imports(path)}
        if roots & FORBIDDEN[top]:
            bad[str(path.relative_to(ROOT))] = sorted(roots & FORBIDDEN[top])
    assert not bad, bad


def test_no_module_of_core_imports_one_that_imports_it_back():
    modules = {module_name(p): p for p in sources("core")}
    graph = {m: {i for i in imports(p) if i in modules and i != m} for m, p in modules.items()}
    cycles, state = [], {}

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                visit(n, stack + [n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    # A package importing its own submodules (core.tasks -> core.tasks.sort) is how a package
    # is built, not a cycle between floors: only cycles through another module count.
    real = [c for c in cycles if not all(x == c[0] or x.startswith(c[0] + ".") or
                                         c[0].startswith(x + ".") for x in c)]
    assert not real, real


def test_the_training_engine_and_its_command_line_do_not_import_each_other():
    assert "core.train_cli" not in imports(ROOT / "core" / "train.py")
    assert "core.train" not in imports(ROOT / "core" / "train_cli.py")
