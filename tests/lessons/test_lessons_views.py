"""The course pages as the server renders them: index, lessons, glossary, references, the goal."""
from __future__ import annotations

import re

import pytest

from webapp.lessons.loader import load_course
from webapp.lessons.render import STRATEGIES_DIR
from webapp.lessons.views import COURSE_KEY

COURSE = load_course()


def test_home_keeps_the_hero_and_the_badge_and_lists_the_course(client):
    html = client.get("/").get_data(as_text=True)
    assert "See the thundering herd." in html and 'id="conn-state"' in html
    for lesson in COURSE.lessons:
        assert f'href="/lessons/{lesson.id}"' in html


def test_index_lists_every_lesson_in_order(client):
    html = client.get("/lessons").get_data(as_text=True)
    positions = [html.index(f'data-lesson="{lesson.id}"') for lesson in COURSE.lessons]
    assert positions == sorted(positions)
    assert "Unavailable" not in html


@pytest.mark.parametrize("lesson", COURSE.lessons, ids=[lesson.id for lesson in COURSE.lessons])
def test_lesson_page_has_every_step_its_prediction_and_checkpoints(client, lesson):
    html = client.get(f"/lessons/{lesson.id}").get_data(as_text=True)
    for step in lesson.steps:
        assert f'id="step-{step.id}"' in html
    assert 'data-role="prediction"' in html
    for cp in lesson.checkpoints:
        assert f'id="checkpoint-{cp.id}"' in html
        assert html.count(f'name="cp-{cp.id}"') == len(cp.choices)
    assert 'id="lesson-data"' in html and 'id="lab"' in html


def test_code_beside_the_picture_is_the_module_read_at_render_time(client, monkeypatch, tmp_path):
    html = client.get("/lessons/take-a-lock").get_data(as_text=True)
    assert "webapp/strategies/lock.py" in html
    assert "acquire_or_wait" in re.sub(r"<[^>]+>", "", html)
    # The file is read per request: a changed module shows up without a restart.
    fake = tmp_path / "lock.py"
    fake.write_text((STRATEGIES_DIR / "lock.py").read_text() + "\n# edited_just_now = True\n")
    monkeypatch.setattr("webapp.lessons.render.STRATEGIES_DIR", tmp_path)
    assert "edited_just_now" in re.sub(r"<[^>]+>", "", client.get("/lessons/take-a-lock").get_data(as_text=True))


def test_unknown_lesson_is_404(client):
    assert client.get("/lessons/no-such-lesson").status_code == 404


def test_broken_lesson_is_listed_as_unavailable_and_others_served(app, client, course_dir, add_lesson):
    add_lesson("broken-one", lambda front: front["prediction"].update(answer=9))
    app.extensions[COURSE_KEY] = load_course(course_dir)
    html = client.get("/lessons").get_data(as_text=True)
    assert "Unavailable" in html
    assert "lessons/broken-one.md" in html and "prediction.answer" in html
    assert client.get("/lessons/celebrity-goes-live").status_code == 200
    assert client.get("/lessons/broken-one").status_code == 404


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>[x](javascript:alert(1))'


def test_hostile_lesson_content_is_rendered_inert(app, client, course_dir, add_lesson, tags):
    def poison(front: dict) -> None:
        front["title"] = "T " + HOSTILE
        front["summary"] = HOSTILE
        front["prediction"]["question"] = HOSTILE + front["prediction"]["question"]  # keeps its quotes
        front["prediction"]["explain"] = HOSTILE + front["prediction"]["explain"]
        choice = front["checkpoints"][0]["choices"][0]
        choice["text"] = HOSTILE + choice["text"]  # keeps the words the checks quote
        choice["why"] = HOSTILE + choice["why"]
        front["experiments"][0]["label"] = "</script><script>alert(2)</script>"

    add_lesson("hostile", poison, body=lambda text: text.replace("## Watch the herd", "## Watch " + HOSTILE)
               + "\n" + HOSTILE + '\n\n<iframe src="https://evil.example"></iframe>\n')
    app.extensions[COURSE_KEY] = load_course(course_dir)
    html = client.get("/lessons/hostile").get_data(as_text=True)
    for tag, attrs in tags(html):
        assert tag not in {"img", "iframe"}, (tag, attrs)
        assert tag != "script" or attrs.get("type") in {"module", "importmap", "application/json"}
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:"), (tag, attrs)
    # The JSON for the page's script cannot close its <script> element.
    data = html.split('id="lesson-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data


def _deep(levels: int) -> str:
    return '{"summary": ' + '{"a": ' * levels + "1" + "}" * levels + "}"


@pytest.mark.parametrize("body, says", [
    ('{"summary": {"requests": ' + "9" * 401 + "}}", "'requests' is not a number a run can report"),
    ('{"summary": {"errors": 1e999}}', "'errors' is not a number a run can report"),
    ('{"summary": {"errors": NaN}}', "NaN is not a number a run reports"),
    ('{"summary": {"errors": -Infinity}}', "-Infinity is not a number a run reports"),
    (_deep(5000), "nested too deeply"),
    (_deep(10), "nested too deeply"),
    ("[" * 20_000 + "]" * 20_000, "nested too deeply"),
    ("null", 'send {"summary": {...}}'),
    ('{"summary": null}', 'send {"summary": {...}}'),
    ('{"summary": []}', 'send {"summary": {...}}'),
    ('{"summary": {"errors": [0]}}', "'errors' holds a list"),
    ('{"summary": {"errors": 0', "the body is not JSON"),
    (b'{"summary": "\xff"}', "the body is not JSON"),
    ("", "the body is not JSON"),
])
def test_the_goal_refuses_what_is_not_a_run_summary_with_400(client, body, says):
    """Issue 9: never a 500, whatever is posted; the reason is said."""
    res = client.post("/lessons/capstone/goal", data=body, content_type="application/json")
    assert res.status_code == 400 and says in res.json["error"], res.get_data(as_text=True)[:200]


def test_goal_checks_a_posted_summary(client):
    ok = {"requests": 1_000_000, "errors": 0, "db_down_s": 0.0}
    res = client.post("/lessons/capstone/goal", json={"summary": ok})
    assert res.status_code == 200 and res.json["ok"] is True
    bad = client.post("/lessons/capstone/goal", json={"summary": {**ok, "errors": 12}}).json
    assert bad["ok"] is False
    assert [r["ok"] for r in bad["results"]] == [True, False, True]
    assert client.post("/lessons/capstone/goal", json={"summary": "no"}).status_code == 400
    assert client.post("/lessons/capstone/goal", data="x" * 70_000,
                       content_type="application/json").status_code == 413
    assert client.post("/lessons/promises/goal", json={"summary": ok}).status_code == 404


def test_glossary_and_references_pages(client):
    glossary = client.get("/glossary").get_data(as_text=True)
    for term in COURSE.glossary:
        assert f'id="{term.id}"' in glossary
    refs = client.get("/references").get_data(as_text=True)
    assert 'id="drake-story"' in refs and "no primary source" in refs
    assert "Cited in:" in refs
