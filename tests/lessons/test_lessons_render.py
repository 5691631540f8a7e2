"""Rendering is safe: hostile lesson Markdown cannot put script into a page."""
from __future__ import annotations

from pathlib import Path

import pytest

from webapp.lessons.render import (STRATEGIES_DIR, code_stylesheet, inline, markdown,
                                   strategy_code, strategy_file)

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<a href=\"javascript:alert(1)\">x</a>",
    "![x](javascript:alert(1))",
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    "<div style=\"position:fixed\" onclick=\"alert(1)\">x</div>",
    "```html\n<script>alert(1)</script>\n```",
    "<details open ontoggle=alert(1)>",
    "[x](https://ok.example \"a\\\" onmouseover=\\\"alert(1)\")",
    "<!-- <script>alert(1)</script> -->",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_carries_no_script(text, tags):
    for html in (markdown(text), inline(text)):
        for tag, attrs in tags(html):
            assert tag not in {"script", "style", "img", "svg", "iframe", "details"}, html
            assert not [name for name in attrs if name.startswith("on") or name == "style"], html
            href = (attrs.get("href") or "").strip().lower()
            assert not href or href.startswith(("https:", "http:", "mailto:", "/", "#")), html


def test_ordinary_markdown_survives():
    html = markdown("Some **bold**, a [link](https://example.org/x) and `code`.\n\n"
                    "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nx = 1\n```")
    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.org/x" rel="noopener noreferrer">link</a>' in html
    assert "<table>" in html and '<pre class="code">' in html and '<span class="n">x</span>' in html


def test_strategy_code_is_the_module_on_disk():
    path, html = strategy_code("promise")
    assert path == "webapp/strategies/promise.py"
    first_def = next(line for line in (STRATEGIES_DIR / "promise.py").read_text().splitlines()
                     if line.startswith(("def ", "class ")))
    name = first_def.split()[1].split("(")[0].split(":")[0]
    assert name in html and 'class="code"' in html


@pytest.mark.parametrize("name", ["../__init__", "__init__", "os.path", "", "nope"])
def test_only_strategy_modules_can_be_shown(name):
    assert strategy_file(name) is None


def test_code_stylesheet_is_the_one_served():
    served = (Path(__file__).resolve().parents[2] / "static/css/code.css").read_text()
    assert code_stylesheet() in served
