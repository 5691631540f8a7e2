"""The dependency rule of docs/architecture.md, enforced.

- The engine and the strategies stay free of the web stack.
- Every module of ``webapp.engine`` and ``webapp.strategies`` can be the first one imported in a
  fresh interpreter (an import cycle hides when a test imports ``webapp.engine`` first).
- A strategy imports only the port (``webapp.engine.ports``), the event vocabulary
  (``webapp.engine.events``), other strategy modules and the standard library, and importing it
  does not load the simulation.
"""
from __future__ import annotations

import ast
import importlib.util
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import webapp.engine
import webapp.strategies

WEB = ("flask", "flask_socketio", "socketio", "eventlet", "engineio")
ROOT = Path(__file__).resolve().parents[2]
STRATEGY_MAY_IMPORT = ("webapp.engine.ports", "webapp.engine.events", "webapp.strategies")
STDLIB = set(sys.stdlib_module_names)


def _modules(package) -> list[str]:
    return [package.__name__] + [f"{package.__name__}.{m.name}"
                                 for m in pkgutil.iter_modules(package.__path__)]


ALL = _modules(webapp.engine) + _modules(webapp.strategies)
STRATEGIES = _modules(webapp.strategies)


def _fresh(code: str) -> str:
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_engine_and_strategies_import_no_web_modules():
    code = ("import sys, webapp.engine, webapp.strategies, webapp.engine.cli; "
            f"print([m for m in {WEB!r} if m in sys.modules])")
    assert _fresh(code) == "[]"


@pytest.mark.parametrize("name", ALL)
def test_every_module_can_be_imported_first(name):
    _fresh(f"import {name}")


@pytest.mark.parametrize("name", STRATEGIES)
def test_a_strategy_imports_only_the_port_the_events_and_other_strategies(name):
    path = Path(importlib.util.find_spec(name).origin)
    imported = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module)
    assert imported
    for module in imported:
        top = module.split(".")[0]
        assert top in STDLIB or module.startswith(STRATEGY_MAY_IMPORT), (name, module)


def test_importing_the_strategies_first_does_not_load_the_simulation():
    code = ("import json, sys, webapp.strategies; "
            "print(json.dumps([m for m in sys.modules if m.startswith('webapp.engine.')]))")
    loaded = set(json.loads(_fresh(code)))
    assert loaded <= {"webapp.engine.ports", "webapp.engine.events", "webapp.engine.scenario",
                      "webapp.engine.presets", "webapp.engine.cost"}, loaded
