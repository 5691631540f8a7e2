"""Which lines of a strategy's source make which events: to light up the code in a lesson.

A lesson shows a strategy module beside a run and lights up the branch the selected request is
taking as its events arrive -- in promise.py, "become the leader" (``fetch_start`` with role
``leader``) or "wait on the promise" (``promise_wait``). The map is read from the module's own
source with ``ast``, never written by hand a second time, so it cannot drift from the code.

A strategy makes events only through its host, so each of these calls is one *place*:

    host.note(KIND, ...)                  -> KIND, a constant of webapp.engine.events (both
                                             kinds of ``A if cond else B``)
    host.fetch(t, req, attempt, server,   -> "fetch_start:ROLE" and "fetch_start"
               ROLE, on_done)
    host.settle(t, req, attempt, ok,      -> "respond:SOURCE" and "respond" (the answer's
                SOURCE, ...)                 source; only "respond" when it is not a literal)
    host.put(t, key, ROLE, delta)         -> "cache_set:ROLE" and "cache_set"

(``host`` or ``self.host``). Two hooks make no host call but decide an event the lifecycle then
makes, so their ``return`` statements are places too:

    def retry_delay(...): return ...      -> "retry" (the client retries after that delay)
    def may_retry(...): return False      -> "retry_denied";  return True -> "retry"

An event with a role (``fetch_start``, ``cache_set``) or a source
(``respond``) is looked up as ``kind:detail`` first, then ``kind``. An error that settle passes
on may become a ``retry`` or a ``respond`` with status error: the same place.

Each place is ``{"line", "end_line", "branch": [first, last], "condition", "function"}``: the
call's lines; the block it sits in -- the body of an ``if``/``elif`` (from its condition's
line), an ``else`` (from the ``else:`` line, or what follows an ``if`` whose body returns), a
loop or ``with``, or else the whole function; the line of the condition that chose that block
(None for a function body); and the enclosing ``Class.method``. Events a strategy does not make (``arrive``, ``cache_hit``, ``db_*``, ...)
have no place in any strategy, and a module that makes none (ttl_jitter.py) maps to ``{}``.
Some events come from a parent's code: notify.py's waits are noted in lock.py (its base class),
and distributed.py's promise waits in promise.py, so a page showing one may look in both.
"""
import ast
import importlib
import inspect
import pkgutil
from functools import lru_cache
from types import ModuleType
from typing import Any

import webapp.strategies as package
from webapp.engine.events import FIELDS

# host call -> (the event kind, the index and the name of the argument naming its detail)
CALLS: dict[str, tuple[str, int, str]] = {
    "fetch": ("fetch_start", 4, "role"),
    "settle": ("respond", 4, "source"),
    "put": ("cache_set", 2, "role"),
}
# hook -> what its return decides: the returned constant (None: any value) -> the event kind
HOOKS: dict[str, dict[Any, str]] = {
    "retry_delay": {None: "retry"},
    "may_retry": {False: "retry_denied", True: "retry"},
}


def modules() -> list[str]:
    """The strategy modules' short names (every module of webapp.strategies but this one)."""
    return sorted(info.name for info in pkgutil.iter_modules(package.__path__)
                  if info.name != __name__.rpartition(".")[2])


def event_lines(module: str | ModuleType) -> dict[str, list[dict[str, Any]]]:
    """Event key -> the places in ``module`` (``"promise"``, ``"webapp.strategies.promise"`` or
    the module) that make it, in source order. JSON-able; a fresh copy each call."""
    name = module.__name__ if isinstance(module, ModuleType) else module
    if "." not in name:
        name = f"{package.__name__}.{name}"
    return {key: [dict(place, branch=list(place["branch"])) for place in places]
            for key, places in _lines(name)}


def every_module() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``event_lines`` of every strategy module, by short name."""
    return {name: event_lines(name) for name in modules()}


@lru_cache(maxsize=None)
def _lines(name: str) -> tuple[tuple[str, tuple[dict[str, Any], ...]], ...]:
    if not name.startswith(package.__name__ + ".") or name == __name__:
        raise ValueError(f"{name!r} is not a strategy module")
    mod = importlib.import_module(name)
    source = inspect.getsource(mod)
    found: dict[str, list[dict[str, Any]]] = {}
    for call, block, function in _host_calls(ast.parse(source), source.splitlines()):
        place = {"line": call.lineno, "end_line": call.end_lineno, "branch": block[:2],
                 "condition": block[2], "function": function}
        for key in _keys(call, mod, function):
            found.setdefault(key, []).append(place)
    return tuple((key, tuple(places)) for key, places in found.items())


def _keys(call: ast.Call | ast.Return, mod: ModuleType, function: str = "") -> list[str]:
    """The event keys one host call (or a hook's ``return``) makes."""
    if isinstance(call, ast.Return):
        decides = HOOKS[function.rpartition(".")[2]]
        value = call.value.value if isinstance(call.value, ast.Constant) else None
        kind = decides.get(value, decides.get(None))
        return [kind] if kind else []
    method = call.func.attr                                    # type: ignore[attr-defined]
    if method == "note":
        return [kind for kind in _constants(call.args[0], mod) if kind in FIELDS]
    kind, index, keyword = CALLS[method]
    detail = next((k.value for k in call.keywords if k.arg == keyword),
                  call.args[index] if len(call.args) > index else None)
    if isinstance(detail, ast.Constant) and isinstance(detail.value, str):
        return [f"{kind}:{detail.value}", kind]
    return [kind]


def _constants(node: ast.expr, mod: ModuleType) -> list[str]:
    """The string values an argument can take: a literal, a module constant, or either arm of
    a conditional expression."""
    if isinstance(node, ast.IfExp):
        return _constants(node.body, mod) + _constants(node.orelse, mod)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and isinstance(getattr(mod, node.id, None), str):
        return [getattr(mod, node.id)]
    return []


def _is_host_call(node: ast.AST) -> bool:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("note", *CALLS)):
        return False
    target = node.func.value
    return (isinstance(target, ast.Name) and target.id == "host"
            or isinstance(target, ast.Attribute) and target.attr == "host")


def _host_calls(tree: ast.Module, lines: list[str]) -> list[tuple[Any, tuple, str]]:
    """Every host call (and hook ``return``) with its block ``(first, last, condition line)``
    and function, in source order."""
    out: list[tuple[ast.Call, tuple, str]] = []

    def visit(stmts: list[ast.stmt], block: tuple, function: str, prefix: str) -> None:
        for i, stmt in enumerate(stmts):
            if isinstance(stmt, ast.ClassDef):
                visit(stmt.body, block, function, f"{prefix}{stmt.name}.")
                continue
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + stmt.name
                visit(stmt.body, (stmt.lineno, stmt.end_lineno, None), name, name + ".")
                continue
            for node in _own_nodes(stmt):
                if _is_host_call(node):
                    out.append((node, block, function))
            if isinstance(stmt, ast.Return) and function.rpartition(".")[2] in HOOKS:
                out.append((stmt, block, function))
            for body, inner in _blocks(stmt, lines):
                visit(body, inner, function, prefix)
            if _leaves(stmt) and i + 1 < len(stmts):
                # What follows "if cond: ...; return" is that condition's else branch.
                block = (stmts[i + 1].lineno, block[1], stmt.lineno)

    visit(tree.body, (1, len(lines), None), "", "")
    out.sort(key=lambda found: (found[0].lineno, found[0].col_offset))
    return out


def _own_nodes(stmt: ast.stmt) -> list[ast.AST]:
    """The nodes of ``stmt`` outside the statement blocks nested in it (lambdas included)."""
    nested = {id(s) for field in ("body", "orelse", "finalbody", "handlers")
              for s in getattr(stmt, field, []) or []}
    out: list[ast.AST] = []
    todo: list[ast.AST] = [stmt]
    while todo:
        node = todo.pop()
        out.append(node)
        todo.extend(child for child in ast.iter_child_nodes(node) if id(child) not in nested)
    return out


def _blocks(stmt: ast.stmt, lines: list[str]) -> list[tuple[list[ast.stmt], tuple]]:
    """The statement blocks nested in ``stmt``, each with ``(first, last, condition line)``."""
    out: list[tuple[list[ast.stmt], tuple]] = []
    body = getattr(stmt, "body", None)
    if isinstance(body, list) and body:
        condition = stmt.lineno if isinstance(stmt, (ast.If, ast.While)) else None
        out.append((body, (stmt.lineno, body[-1].end_lineno, condition)))
    orelse = getattr(stmt, "orelse", None) or []
    if orelse and not (len(orelse) == 1 and isinstance(orelse[0], ast.If)
                       and _is_elif(orelse[0], lines)):
        first = _else_line(orelse[0].lineno, lines)
        out.append((orelse, (first, orelse[-1].end_lineno, stmt.lineno)))
    elif orelse:
        out.append((orelse, (orelse[0].lineno, orelse[0].end_lineno, None)))
    for handler in getattr(stmt, "handlers", []) or []:
        out.append((handler.body, (handler.lineno, handler.body[-1].end_lineno, handler.lineno)))
    finalbody = getattr(stmt, "finalbody", None) or []
    if finalbody:
        first = _else_line(finalbody[0].lineno, lines, "finally:")
        out.append((finalbody, (first, finalbody[-1].end_lineno, None)))
    return out


def _leaves(stmt: ast.stmt) -> bool:
    """An ``if`` with no ``else`` whose body always leaves the block (return, raise, ...)."""
    return (isinstance(stmt, ast.If) and not stmt.orelse
            and isinstance(stmt.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)))


def _is_elif(node: ast.If, lines: list[str]) -> bool:
    return lines[node.lineno - 1].lstrip().startswith("elif")


def _else_line(first_stmt: int, lines: list[str], word: str = "else:") -> int:
    """The ``else:`` (or ``finally:``) line above a block's first statement."""
    for number in range(first_stmt - 1, 0, -1):
        if lines[number - 1].strip().startswith(word):
            return number
    return first_stmt
