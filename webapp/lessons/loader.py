"""Load and validate the course: every lesson file, the glossary and the references.

A lesson is a Markdown file with a YAML front matter block. Validation is strict because a lesson
makes promises to students (this control exists, this answer is right, this number is true): each
file is checked on its own and the first problem found is reported with the file and the dotted
field ("lessons/04-lock.md: checkpoints[1].answer: ..."). A broken lesson is left out and listed as
unavailable; the rest of the course is still served. The format is described in
``lessons/README.md``.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, TypeVar

import yaml

from webapp.engine.moments import WHATS
from webapp.lessons import experiments as lab
from webapp.lessons.claims import one_sided_problem, plain, share_problem
from webapp.lessons.eventstats import EVENT_KEYS
from webapp.lessons.expr import Comparison, ExprError, parse
from webapp.lessons.model import (SIDE_B, Check, Checkpoint, Choice, Course, Experiment, Goal,
                                  Lesson, Prediction, Problem, Reference, Step, Term, Unchecked,
                                  Window, page_texts)
from webapp.lessons.render import strategy_file

# libyaml's safe loader when PyYAML has it: the same documents, ten times faster (every app, and
# every test's app, loads the course).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

log = logging.getLogger(__name__)

LESSONS_DIR = Path(__file__).resolve().parents[2] / "lessons"
GLOSSARY_FILE = "glossary.md"
REFERENCES_FILE = "references.md"
NOT_LESSONS = {GLOSSARY_FILE, REFERENCES_FILE, "README.md"}  # README.md documents the format
MAX_FILE_BYTES = 200_000
MAX_NTH = 100            # a step's ``nth`` moment (the engine makes at most 100 of a kind)
CONFIDENCE = ("V", "V2", "S", "U")
_CITATION = re.compile(r"\]\(/references#([^)\s]*)\)")

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.DOTALL)
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_STEP_HEADING = re.compile(r"^## +(.+?)\s*#*\s*$")
_WINDOW_NAME = re.compile(r"^[a-z][a-z0-9_]*$")  # a NAME of the check grammar
MAX_WINDOWS = 4

T = TypeVar("T")


class Invalid(Exception):
    """One field of one file is wrong; ``field`` is the dotted path inside the front matter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Node:
    """A mapping from the front matter with its dotted path, so every error names its field."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, dict):
            raise Invalid(path, "must be a mapping of fields")
        self.data = data
        self.path = path

    def at(self, key: str | int) -> str:
        if isinstance(key, int):
            return f"{self.path}[{key}]"
        return f"{self.path}.{key}" if self.path else key

    def only(self, *allowed: str) -> None:
        """Reject unknown fields: a typo ("chioces") must not silently drop content."""
        for key in self.data:
            if key not in allowed:
                raise Invalid(self.at(str(key)), "is not a known field; known: " + ", ".join(allowed))

    def get(self, key: str, kind: type[T], default: Any = ..., what: str = "") -> T:
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise Invalid(self.at(key), "is missing")
            return default
        value = self.data[key]
        if kind is int and isinstance(value, bool) or not isinstance(value, kind):
            raise Invalid(self.at(key), f"must be {what or kind.__name__}, not {type(value).__name__}")
        return value

    def text(self, key: str, default: Any = ..., limit: int = 4000) -> str:
        value = self.get(key, str, default, "text")
        if self.data.get(key) is None:
            return value  # the default of an optional field
        if not value.strip():
            raise Invalid(self.at(key), "must not be empty")
        if len(value) > limit:
            raise Invalid(self.at(key), f"must be at most {limit} characters")
        return value

    def ident(self, key: str, default: Any = ...) -> str:
        value = self.get(key, str, default, "an id")
        if value is not None and not _ID.match(value):
            raise Invalid(self.at(key), f"must be lowercase words joined by '-', not {value!r}")
        return value

    def items(self, key: str, default: Any = ...) -> list[tuple[str, Any]]:
        """A list field as (path, item) pairs; empty lists count as missing when required."""
        value = self.get(key, list, default, "a list")
        if default is ... and not value:
            raise Invalid(self.at(key), "must not be empty")
        return [(f"{self.at(key)}[{i}]", item) for i, item in enumerate(value or [])]

    def index(self, key: str, size: int) -> int:
        value = self.get(key, int, what="a whole number (0 is the first choice)")
        if not 0 <= value < size:
            raise Invalid(self.at(key), f"must be from 0 to {size - 1} (an index into choices)")
        return value


def _unique(ids: list[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for path, value in ids:
        if value in seen:
            raise Invalid(path, f"repeats the id {value!r}")
        seen.add(value)


def _summary_key(path: str, key: Any, extra: frozenset[str] = frozenset()) -> str:
    """A key of the engine's summary, or one of ``extra``: what a check of this experiment may
    read besides (its windows' keys and ``moment.WHAT.FIELD``); a reveal or a goal has none."""
    if key in extra:
        return key
    if isinstance(key, str) and key.startswith("window."):
        raise Invalid(path, f"names {key!r}, which only a check of the experiment that declares "
                      "that window may read; a reveal or a goal shows the student's own run, "
                      "which has no windows")
    if isinstance(key, str) and key.startswith(("moment.", "events.", "scenario.", "bursts.")) \
            and not extra:
        raise Invalid(path, f"names {key!r}, which only a check may read; a reveal or a goal "
                      "shows the student's own run, whose summary has no moment or event "
                      "details")
    known = lab.summary_keys()
    if key not in known:
        windows = sorted(k for k in extra if k.startswith("window."))
        raise Invalid(path, f"names {key!r}, which is not a numeric summary key; known: "
                      + ", ".join(sorted(known)) + "; in checks also moment.WHAT.FIELD ("
                      + ", ".join(lab.MOMENT_STATS) + "), scenario.KEY, "
                      + ", ".join(sorted(lab.BURST_KEYS | EVENT_KEYS))
                      + (f"; this experiment's windows: {', '.join(windows)}" if windows else ""))
    return key


def _expression(path: str, text: Any, experiments: dict[str, frozenset[str]],
                own: str | None) -> Comparison:
    """Parse a check and verify every key it names exists in its experiment's summary.

    ``experiments`` maps each experiment id to the window keys its checks may read besides the
    engine's summary (empty where they cannot: a goal is checked on the student's own run).
    """
    if not isinstance(text, str):
        raise Invalid(path, "must be a check written as text, e.g. 'db_queries == chunks'")
    try:
        check = parse(text)
    except ExprError as exc:
        raise Invalid(path, f"is not a valid check ({exc}): {text!r}") from None
    for ref in check.refs():
        if ref.experiment is not None and ref.experiment not in experiments:
            raise Invalid(path, f"names the unknown experiment {ref.experiment!r}")
        name = ref.experiment or own
        _summary_key(path, ref.key, experiments.get(name, frozenset()) if name else frozenset())
    return check


def _split_front_matter(text: str) -> tuple[Any, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise Invalid("front matter", "the file must start with a '---' line, YAML, then '---'")
    try:
        data = yaml.load(match.group(1), Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark else ""
        raise Invalid("front matter", f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    return data, match.group(2)


def split_steps(body: str) -> tuple[str, list[tuple[str, str]]]:
    """Split the body at its ``## `` headings (outside code fences): the intro, then (title, text)."""
    intro: list[str] = []
    sections: list[tuple[str, list[str]]] = []
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _STEP_HEADING.match(line)
        if heading:
            sections.append((heading.group(1), []))
        else:
            (sections[-1][1] if sections else intro).append(line)
    return "\n".join(intro).strip(), [(title, "\n".join(lines).strip()) for title, lines in sections]


def _choices(node: _Node, key: str, need_why: bool) -> tuple[Choice, ...]:
    """Choices are text, or {text, why}; a checkpoint must explain every answer."""
    choices = []
    items = node.items(key)
    if len(items) < 2:
        raise Invalid(node.at(key), "must offer at least two choices")
    for path, item in items:
        if isinstance(item, str) and not need_why:
            item = {"text": item}
        choice = _Node(item, path)
        choice.only("text", "why")
        why = choice.text("why", default=None if not need_why else ...)
        choices.append(Choice(choice.text("text", limit=400), why or ""))
    return tuple(choices)


def _experiments(root: _Node) -> tuple[Experiment, ...]:
    found = []
    controls = lab.control_keys()
    for path, item in root.items("experiments"):
        node = _Node(item, path)
        node.only("id", "label", "preset", "overrides", "controls", "max_seeds", "max_seeds_why",
                  "windows", "compare")
        max_seeds = node.get("max_seeds", int, None, "a whole number of seeds")
        if max_seeds is not None and max_seeds < 1:
            raise Invalid(node.at("max_seeds"), "must be at least 1")
        why = node.text("max_seeds_why", default=None, limit=1000)
        if (max_seeds is None) != (why is None):
            raise Invalid(node.at("max_seeds_why"), "max_seeds and max_seeds_why go together: "
                          "say why fewer seeds still prove the lesson's claims")
        experiment = Experiment(
            id=node.ident("id"), label=node.text("label", limit=80), preset=node.text("preset"),
            overrides=node.get("overrides", dict, {}, "a mapping of scenario keys"),
            controls=tuple(node.get("controls", list, [], "a list of scenario keys")),
            max_seeds=max_seeds, max_seeds_why=why or "", windows=_windows(node),
            compare=_compare(node))
        for i, key in enumerate(experiment.controls):
            if key not in controls:
                raise Invalid(f"{node.at('controls')}[{i}]", f"{key!r} is not a scenario key")
        scenario = _scenario_of(node.at("overrides"), experiment)
        _scenario_of(node.at("compare"), experiment.side_b())
        for w in experiment.windows:
            _window_fits(node.at("windows") + "." + w.name, w, scenario.duration_s,
                         scenario.sample_interval_s)
        found.append(experiment)
    _unique([(f"{root.at('experiments')}[{i}].id", e.id) for i, e in enumerate(found)])
    return tuple(found)


def _scenario_of(path: str, experiment: Experiment | None) -> Any:
    """The engine's scenario for an experiment (or a pair's side B); its error names the key."""
    if experiment is None:
        return None
    try:
        return lab.scenario_for(experiment)
    except ValueError as exc:  # the engine's ScenarioError names the key and what is allowed
        bad = getattr(exc, "key", "")
        raise Invalid(path + (f".{bad}" if bad and bad != "preset" else ""), str(exc)) from None


def _compare(node: _Node) -> dict[str, Any] | None:
    """``compare: {strategy: {coalesce: promise}}``: side B's overrides on top of the experiment.

    Sent as is to the lab's compare mode, which runs both sides on one seed, so it may not set
    one of its own.
    """
    compare = node.get("compare", dict, None, "a mapping of scenario keys for side B")
    if compare is not None and "seed" in compare:
        raise Invalid(node.at("compare") + ".seed", "both sides of a pair run on the same seed")
    if compare is not None and not compare:
        raise Invalid(node.at("compare"), "must change at least one key for side B")
    return compare


def _windows(node: _Node) -> tuple[Window, ...]:
    """``windows: {late: [40, 60]}``: named stretches of the run, ``from_s < t <= to_s``."""
    found = []
    for name, span in node.get("windows", dict, {}, "a mapping of names to [from_s, to_s]").items():
        path = node.at("windows") + f".{name}"
        if not isinstance(name, str) or not _WINDOW_NAME.match(name):
            raise Invalid(path, "a window's name is lowercase letters, digits and '_'")
        if (not isinstance(span, list) or len(span) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in span)):
            raise Invalid(path, "must be [from_s, to_s], two numbers of seconds")
        found.append(Window(name, float(span[0]), float(span[1])))
    if len(found) > MAX_WINDOWS:
        raise Invalid(node.at("windows"), f"at most {MAX_WINDOWS} windows per experiment")
    return tuple(found)


def _window_fits(path: str, w: Window, duration_s: float, interval_s: float) -> None:
    """A window lies inside the arrivals and on the sample grid, so its rates count whole samples."""
    if not 0 <= w.from_s < w.to_s <= duration_s:
        raise Invalid(path, f"must satisfy 0 <= from_s < to_s <= duration_s ({duration_s:g})")
    for bound in (w.from_s, w.to_s):
        steps = bound / interval_s
        if abs(steps - round(steps)) > 1e-6:
            raise Invalid(path, f"{bound:g} s is not a multiple of sample_interval_s "
                          f"({interval_s:g}); a window's rates need whole samples")


def _steps(root: _Node, body: str, experiment_ids: set[str],
           pairs: set[str]) -> tuple[str, tuple[Step, ...]]:
    intro, sections = split_steps(body)
    items = root.items("steps")
    if len(sections) != len(items):
        raise Invalid("steps", f"lists {len(items)} steps but the body has {len(sections)} "
                      "'## ' headings; each step is one heading")
    steps = []
    for (path, item), (title, markdown) in zip(items, sections):
        node = _Node(item, path)
        node.only("id", "experiment", "code", "moment", "nth", "side")
        experiment = node.ident("experiment", default=None)
        if experiment is not None and experiment not in experiment_ids:
            raise Invalid(node.at("experiment"), f"names the unknown experiment {experiment!r}")
        code = node.get("code", str, None, "a strategy name")
        if code is not None and strategy_file(code) is None:
            raise Invalid(node.at("code"), f"there is no module webapp/strategies/{code}.py")
        moment = _moment(node, experiment)
        steps.append(Step(node.ident("id"), title, markdown, experiment, code, moment,
                          *_story(node, moment, experiment, pairs)))
    _unique([(f"steps[{i}].id", s.id) for i, s in enumerate(steps)])
    return intro, tuple(steps)


def _moment(node: _Node, experiment: str | None) -> str | None:
    """``moment: resolved``: one of the engine's moments, of the step's own experiment.

    The step must name its experiment itself (no step inherits an earlier one's): the page
    loads that run from this step and eases into the moment, and ``lessons check`` proves the
    run makes it (``Lesson.moment_checks``).
    """
    moment = node.get("moment", str, None, "a moment's name")
    if moment is None:
        return None
    if moment not in WHATS:
        raise Invalid(node.at("moment"), f"{moment!r} is not a moment; known: " + ", ".join(WHATS))
    if experiment is None:
        raise Invalid(node.at("moment"), "a step naming a moment names its experiment too: the "
                      "run that makes the moment")
    return moment


def _story(node: _Node, moment: str | None, experiment: str | None,
           pairs: set[str]) -> tuple[int, str]:
    """``nth: 2`` (the second such moment of the run: the one the step is about) and ``side: b``
    (a pair's side B is the one narrated, and the code beside the step follows it); defaults 1
    and a."""
    nth = node.get("nth", int, 1, "a whole number")
    if "nth" in node.data and moment is None:
        raise Invalid(node.at("nth"), "counts the step's moment: name it with moment:")
    if not 1 <= nth <= MAX_NTH:
        raise Invalid(node.at("nth"), f"must be 1 to {MAX_NTH}")
    side = node.get("side", str, "a", "a or b")
    if side not in ("a", "b"):
        raise Invalid(node.at("side"), f"must be a or b, not {side!r}")
    if side == "b" and experiment not in pairs:
        raise Invalid(node.at("side"), "names side B: the step's experiment must be a pair "
                      "(with compare:)")
    return nth, side


def _in(node: _Node, key: str, ids: set[str], what: str) -> str:
    value = node.ident(key)
    if value not in ids:
        raise Invalid(node.at(key), f"names the unknown {what} {value!r}")
    return value


def _citations(texts: list[str], references: dict[str, Reference]) -> tuple[str, ...]:
    """The references a lesson cites, in order of first citation: its ``](/references#id)`` links.

    The lesson's list of sources is derived from its text, so a source can be neither listed and
    unused nor used and unlisted; a link to an id that is not in references.md is an error.
    """
    cited: dict[str, None] = {}
    for text in texts:
        for ref in _CITATION.findall(text):
            if ref not in references:
                raise Invalid("body", f"cites /references#{ref}, which is not an id in "
                              f"lessons/{REFERENCES_FILE}")
            cited[ref] = None
    return tuple(cited)


def _one_sided(node: _Node, check: Comparison, says: str) -> str | None:
    """The optional ``one_sided`` words: they must be in ``says`` and point the check's way."""
    words = node.text("one_sided", default=None, limit=40)
    if words is not None and (problem := one_sided_problem(words, says, check.bounds)):
        raise Invalid(node.at("one_sided"), problem)
    return words


def _lesson(path: Path, references: dict[str, Reference]) -> Lesson:
    data, body = _split_front_matter(path.read_text(encoding="utf-8"))
    root = _Node(data, "")
    root.only("id", "title", "order", "summary", "experiments", "steps", "prediction",
              "checkpoints", "checks", "goal", "unchecked")
    experiments = _experiments(root)
    experiment_ids = {e.id for e in experiments}
    # what checks may read: each run's windows (a pair's side B has its experiment's), moments
    readable = {e.id: lab.window_keys(e) | lab.MOMENT_KEYS | lab.BURST_KEYS | EVENT_KEYS
                | lab.scenario_keys()
                for e in experiments for e in filter(None, (e, e.side_b()))}
    intro, steps = _steps(root, body, experiment_ids,
                          {e.id for e in experiments if e.compare is not None})
    step_ids = {s.id for s in steps}

    prediction = None
    if "prediction" in root.data:
        node = _Node(root.data["prediction"], "prediction")
        node.only("step", "experiment", "question", "choices", "answer", "reveal", "explain", "check",
                  "one_sided")
        choices = _choices(node, "choices", need_why=False)
        reveal = tuple(_summary_key(p, key) for p, key in node.items("reveal"))
        answer = node.index("answer", len(choices))
        experiment = _in(node, "experiment", experiment_ids, "experiment")
        check = _expression(node.at("check"), node.data.get("check"), readable, experiment)
        if check.share is not None:
            raise Invalid(node.at("check"), "a prediction's answer must hold on every seed: "
                          "a student who ran another seed must not see the right answer fail")
        prediction = Prediction(
            step=_in(node, "step", step_ids, "step"),
            experiment=experiment,
            question=node.text("question", limit=400), choices=choices,
            answer=answer, reveal=reveal, explain=node.text("explain"), check=check,
            one_sided=_one_sided(node, check, choices[answer].text))

    checkpoints = []
    for path_, item in root.items("checkpoints", default=[]):
        node = _Node(item, path_)
        node.only("id", "step", "question", "choices", "answer")
        choices = _choices(node, "choices", need_why=True)
        checkpoints.append(Checkpoint(node.ident("id"), _in(node, "step", step_ids, "step"),
                                      node.text("question", limit=400), choices,
                                      node.index("answer", len(choices))))
    _unique([(f"checkpoints[{i}].id", c.id) for i, c in enumerate(checkpoints)])

    goal = None
    if "goal" in root.data:
        node = _Node(root.data["goal"], "goal")
        node.only("experiment", "expect", "text")
        on_their_run: dict[str, frozenset[str]] = dict.fromkeys(experiment_ids, frozenset())
        expects = tuple(_expression(p, e, on_their_run, None) for p, e in node.items("expect"))
        if any(e.share for e in expects):
            raise Invalid(node.at("expect"), "a goal is checked on the student's one run; "
                          "a share of runs has no meaning there")
        goal = Goal(_in(node, "experiment", experiment_ids, "experiment"), expects,
                    node.text("text", limit=400))

    texts = page_texts(intro, steps, prediction, tuple(checkpoints), goal)
    words = plain(" \n ".join([root.text("summary", limit=400), *texts])).lower()
    checks = []
    for path_, item in root.items("checks"):
        node = _Node(item, path_)
        node.only("experiment", "expect", "says", "one_sided")
        experiment = node.get("experiment", str, what="an experiment, or a pair's side B (ID.b)")
        if experiment not in readable:
            raise Invalid(node.at("experiment"), f"names the unknown experiment {experiment!r}")
        check = _expression(node.at("expect"), node.data.get("expect"), readable, experiment)
        says = node.text("says", limit=400)
        if plain(says).lower() not in words:
            raise Invalid(node.at("says"), f"{says!r} is not in the lesson's text; quote the "
                          "words the check backs exactly as the lesson says them")
        if check.share and (problem := share_problem(check.share, says)):
            raise Invalid(node.at("says"), problem)
        checks.append(Check(experiment, check, says, _one_sided(node, check, says)))

    unchecked = []
    for path_, item in root.items("unchecked", default=[]):
        node = _Node(item, path_)
        node.only("says", "why")
        says = node.text("says", limit=400)
        if plain(says).lower() not in words:
            raise Invalid(node.at("says"), f"{says!r} is not in the lesson's text; quote the "
                          "words exactly as the lesson says them")
        unchecked.append(Unchecked(says, node.text("why", limit=400)))

    cited = _citations(texts, references)
    experiments = recording(experiments, [(c.experiment, c.expect) for c in checks]
                            + ([(prediction.experiment, prediction.check)] if prediction else []))

    lesson = Lesson(id=root.ident("id"), file=path.name, order=root.get("order", int),
                    title=root.text("title", limit=120), summary=root.text("summary", limit=400),
                    intro=intro, experiments=experiments, steps=steps, prediction=prediction,
                    checkpoints=tuple(checkpoints), checks=tuple(checks),
                    references=tuple(cited), goal=goal, unchecked=tuple(unchecked))
    return lesson


def recording(experiments: tuple[Experiment, ...],
              reads: list[tuple[str, Comparison]]) -> tuple[Experiment, ...]:
    """Mark the experiments that ``(experiment, check)`` pairs read ``events.*`` of: only they
    run with their per-request events. A pair records on both sides when either side's checks
    need it (side B is made from A)."""
    needs = {(ref.experiment or own).removesuffix(SIDE_B) for own, expect in reads
             for ref in expect.refs() if ref.key in EVENT_KEYS}
    return tuple(replace(e, record=True) if e.id in needs else e for e in experiments)


def _load_references(directory: Path) -> dict[str, Reference]:
    data, _ = _split_front_matter((directory / REFERENCES_FILE).read_text(encoding="utf-8"))
    root = _Node(data, "")
    root.only("title", "references")
    found: dict[str, Reference] = {}
    for path, item in root.items("references"):
        node = _Node(item, path)
        node.only("id", "title", "source", "url", "confidence", "note", "no_url")
        confidence = node.text("confidence")
        if confidence not in CONFIDENCE:
            raise Invalid(node.at("confidence"), "must be one of: " + ", ".join(CONFIDENCE))
        url = node.text("url", default="")
        if url and not url.startswith("https://"):
            raise Invalid(node.at("url"), "must start with https://")
        no_url = node.text("no_url", default="")
        if bool(url) == bool(no_url):
            raise Invalid(node.at("url"), "give a url, or say in no_url why there is none (not both)")
        ref = Reference(node.ident("id"), node.text("title"), node.text("source"), url,
                        confidence, node.text("note", default=""), no_url)
        if ref.id in found:
            raise Invalid(node.at("id"), f"repeats the id {ref.id!r}")
        found[ref.id] = ref
    return found


def _use(path: str, word: Any) -> str:
    if not isinstance(word, str) or not word.strip() or len(word) > 40:
        raise Invalid(path, "must be a word or phrase of at most 40 characters")
    return word.strip()


def _load_glossary(directory: Path) -> tuple[Term, ...]:
    data, _ = _split_front_matter((directory / GLOSSARY_FILE).read_text(encoding="utf-8"))
    root = _Node(data, "")
    root.only("title", "terms")
    terms = []
    for path, item in root.items("terms"):
        node = _Node(item, path)
        node.only("id", "term", "uses", "definition")
        uses = tuple(_use(p, u) for p, u in node.items("uses"))
        terms.append(Term(node.ident("id"), node.text("term", limit=80), node.text("definition"), uses))
    _unique([(f"terms[{i}].id", t.id) for i, t in enumerate(terms)])
    return tuple(sorted(terms, key=lambda t: t.term.lower()))


def _guard(file: str, problems: list[Problem], load: Callable[[], T], fallback: T) -> T:
    """Run one file's loader; a problem is recorded and logged, never raised, so others load."""
    try:
        return load()
    except Invalid as exc:
        problem = Problem(file, exc.field, exc.message)
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(file, "", f"cannot be read: {exc}")
    problems.append(problem)
    log.error("lesson not served: %s", problem)
    return fallback


def load_course(directory: Path = LESSONS_DIR) -> Course:
    """Load every lesson in ``directory``; broken files become ``Course.problems``."""
    problems: list[Problem] = []
    references = _guard(f"lessons/{REFERENCES_FILE}", problems,
                        lambda: _load_references(directory), {})
    glossary = _guard(f"lessons/{GLOSSARY_FILE}", problems, lambda: _load_glossary(directory), ())
    lessons: list[Lesson] = []
    for path in sorted(directory.glob("*.md")):
        if path.name in NOT_LESSONS:
            continue
        name = f"lessons/{path.name}"

        def load(path: Path = path) -> Lesson:
            if path.stat().st_size > MAX_FILE_BYTES:
                raise Invalid("", f"is larger than {MAX_FILE_BYTES} bytes")
            lesson = _lesson(path, references)
            for other in lessons:
                if other.id == lesson.id:
                    raise Invalid("id", f"{lesson.id!r} is already used by lessons/{other.file}")
                if other.order == lesson.order:
                    raise Invalid("order", f"{lesson.order} is already used by lessons/{other.file}")
            return lesson

        lesson = _guard(name, problems, load, None)
        if lesson is not None:
            lessons.append(lesson)
    lessons.sort(key=lambda lesson: lesson.order)
    return Course(tuple(lessons), tuple(problems), references, glossary)
