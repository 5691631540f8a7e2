"""``python -m webapp``: the server command line."""
from __future__ import annotations

import subprocess
import sys

from webapp.__main__ import build_parser


def test_serve_is_the_default_command_and_takes_host_port_debug():
    from webapp.__main__ import main  # noqa: F401  (import check)

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "5001", "--debug"])
    assert (args.host, args.port, args.debug) == ("0.0.0.0", 5001, True)


def test_bad_async_mode_exits_2_with_a_clear_message():
    res = subprocess.run(
        [sys.executable, "-m", "webapp", "--port", "1"],
        env={"HERDLAB_ASYNC_MODE": "tornado", "PATH": ""},
        capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 2
    assert "HERDLAB_ASYNC_MODE must be one of eventlet, gevent, threading" in res.stderr
    assert "Traceback" not in res.stderr
