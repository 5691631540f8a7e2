"""The engine and the strategies stay free of the web stack."""
from __future__ import annotations

import subprocess
import sys

WEB = ("flask", "flask_socketio", "socketio", "eventlet", "engineio")


def test_engine_and_strategies_import_no_web_modules():
    code = ("import sys, webapp.engine, webapp.strategies, webapp.engine.cli; "
            f"print([m for m in {WEB!r} if m in sys.modules])")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert res.stdout.strip() == "[]"
