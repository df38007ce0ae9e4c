"""Loading experiments must stay light: no aiohttp, no HTTP server, only the toxic table."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("aiohttp", "harness.proxy.server", "harness.proxy.embedded", "harness.proxy.api")


def loaded_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            check=True, cwd=ROOT)
    return set(result.stdout.split())


@pytest.mark.parametrize("statement", [
    "import harness.experiment",
    "from harness.experiment import load_experiment; load_experiment('experiments/default.yaml')",
    "import harness.proxy",
])
def test_no_http_server_on_import(statement: str) -> None:
    modules = loaded_after(statement)
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_the_lazy_names_still_load() -> None:
    modules = loaded_after("from harness.proxy import ProxyServer, spawn, run_in_thread")
    assert {"aiohttp", "harness.proxy.server", "harness.proxy.embedded"} <= modules


def proxy_imports() -> dict[str, set[str]]:
    """module -> the harness.proxy modules it names in any import, TYPE_CHECKING ones too."""
    graph = {}
    for path in (ROOT / "harness" / "proxy").glob("*.py"):
        tree = ast.parse(path.read_text())
        names = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness.proxy."):
                names.add(node.module.removeprefix("harness.proxy."))
        graph[path.stem] = names
    return graph


def test_proxy_modules_import_no_cycle() -> None:
    graph = proxy_imports()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for name in sorted(graph.get(module, ())):
            visit(name, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
