"""A throw-away copy of the course, so tests can break lessons without touching lessons/."""
from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from webapp.lessons.loader import LESSONS_DIR

GOOD = "01-celebrity-goes-live.md"


def split(text: str) -> tuple[dict[str, Any], str]:
    _, front, body = text.split("---\n", 2)
    return yaml.safe_load(front), body


def join(front: dict[str, Any], body: str) -> str:
    return "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n" + body


@pytest.fixture
def course_dir(tmp_path: Path) -> Path:
    """glossary, references and one good lesson, copied from the real course."""
    for name in ("glossary.md", "references.md", GOOD):
        shutil.copy(LESSONS_DIR / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def add_lesson(course_dir: Path) -> Callable[..., Path]:
    """Write a variant of the good lesson: ``edit(front)`` mutates its front matter in place."""

    def add(name: str, edit: Callable[[dict[str, Any]], Any] | None = None,
            body: Callable[[str], str] | None = None) -> Path:
        front, text = split((LESSONS_DIR / GOOD).read_text())
        front["id"], front["order"] = name, 50
        if edit:
            edit(front)
        path = course_dir / f"{name}.md"
        path.write_text(join(front, body(text) if body else text))
        return path

    return add


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser would see them (escaped text stays text)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.fixture
def tags() -> Callable[[str], list[tuple[str, dict[str, str | None]]]]:
    """``tags(html)``: the start tags of an HTML document or fragment."""
    return lambda html: _Tags(html).found
