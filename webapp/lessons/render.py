"""Turn lesson text into safe HTML, and engine modules into highlighted code.

Lesson Markdown is rendered by markdown-it with raw HTML off, then cleaned by nh3 with an explicit
allow-list, so neither a lesson file nor anything derived from it can carry a script, an event
handler or a ``javascript:`` link into the page. Code beside the picture is read from the module
that runs (``webapp/strategies/<name>.py``) at render time and highlighted with Pygments, so what a
student reads is never a stale copy.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import nh3
from markdown_it import MarkdownIt
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

STRATEGIES_DIR = Path(__file__).resolve().parents[1] / "strategies"
CODE_CLASS = "code"  # the CSS scope of static/css/code.css

_TAGS = {
    "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "code", "pre", "blockquote", "ul",
    "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "span", "div", "del", "sup",
    "sub", "abbr",
}
_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"},
               "ol": {"start"}}
_TOKEN_CLASSES = {name for name in STANDARD_TYPES.values() if name} | {CODE_CLASS}
_CLASSES = {tag: _TOKEN_CLASSES for tag in ("span", "div", "pre", "code")}
_SCHEMES = {"http", "https", "mailto"}


def _highlight_fence(code: str, language: str, _attrs: str) -> str:
    """markdown-it hook: highlight a fenced block with Pygments when its language is known."""
    try:
        lexer = get_lexer_by_name(language) if language else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it escapes and wraps it itself
    body = highlight(code, lexer, HtmlFormatter(nowrap=True))
    return f'<pre class="{CODE_CLASS}"><code>{body}</code></pre>\n'  # used as-is: starts with <pre


_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False,
                                      "highlight": _highlight_fence}).enable("table").enable("strikethrough")


def sanitize(html: str) -> str:
    """Keep only the allow-listed tags, attributes, classes and URL schemes."""
    return nh3.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, allowed_classes=_CLASSES,
                     url_schemes=_SCHEMES, link_rel="noopener noreferrer",
                     clean_content_tags={"script", "style"})


def markdown(text: str) -> str:
    """Lesson Markdown -> safe HTML. Step headings are rendered by the template, not here."""
    return sanitize(_MARKDOWN.render(text))


def inline(text: str) -> str:
    """One line of Markdown (a question, a choice) -> safe HTML without the wrapping paragraph."""
    return sanitize(_MARKDOWN.renderInline(text))


def strategy_file(name: str) -> Path | None:
    """The module that implements mitigation ``name``, if there is one (shown in lessons)."""
    if not name.isidentifier() or name.startswith("_"):
        return None
    path = STRATEGIES_DIR / f"{name}.py"
    return path if path.is_file() else None


def strategy_code(name: str) -> tuple[str, str]:
    """(relative path, highlighted HTML) of the strategy module that runs, read now from disk."""
    path = strategy_file(name)
    if path is None:
        raise FileNotFoundError(f"webapp/strategies/{name}.py")
    source = path.read_text(encoding="utf-8")
    html = highlight(source, PythonLexer(), HtmlFormatter(cssclass=CODE_CLASS, linenos="inline"))
    return f"webapp/strategies/{name}.py", html


@lru_cache(maxsize=1)
def code_stylesheet() -> str:
    """The Pygments CSS for ``.code`` blocks, scoped to them (static/css/code.css must match it)."""
    css = HtmlFormatter(style="default").get_style_defs(f".{CODE_CLASS}")
    return "\n".join(line for line in css.splitlines() if line.startswith(f".{CODE_CLASS}"))
