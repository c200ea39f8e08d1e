"""SMS templates that only print variables and test them for truth, as plain Python callables.

A scan renders every reminder of the day (10,000 at a time): Jinja2's per-render context
was most of the cost (issue 17). A template made only of text, `{{ name }}` and
`{% if name %}…{% elif other %}…{% else %}…{% endif %}` (every packaged one) is parsed once
by the same Jinja2 environment and turned into a list of pieces joined per message, which
gives the very string Jinja2 would (its output of a value is `str(value)` without
autoescape). Anything else (filters, expressions, loops, an override using them) returns
None and the caller renders with Jinja2 as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from operator import itemgetter
from typing import Union

import jinja2
from jinja2 import nodes

# a piece is literal text, a variable printed (`_Print`), or a chain of conditions (`_Choice`)


class _Print(str):
    """The name of a variable printed by `{{ name }}`."""


Piece = Union[str, _Print, "_Choice"]


class _Choice:
    """`{% if a %}…{% elif b %}…{% else %}…{% endif %}`: the first branch whose variable is true."""

    def __init__(self, branches: list[tuple[str, list[Piece]]], otherwise: list[Piece]) -> None:
        self.branches = branches
        self.otherwise = otherwise


def compile_simple(environment: jinja2.Environment, name: str) -> Callable[[Mapping[str, object]], str | None] | None:
    """`name` as a callable of its variables (None when it returns None: a variable is
    missing, let Jinja2 raise), or None when the template is not that simple."""
    source, _, _ = environment.loader.get_source(environment, name)  # type: ignore[union-attr]
    pieces = _pieces(environment.parse(source).body)
    if pieces is None:
        return None
    compiled = _compiled(pieces)

    def render(values: Mapping[str, object]) -> str | None:
        try:
            return compiled(values)
        except KeyError:
            return None

    return render


def _pieces(body: list[nodes.Node]) -> list[Piece] | None:
    pieces: list[Piece] = []
    for node in body:
        if isinstance(node, nodes.Output):
            for part in node.nodes:
                if type(part) is nodes.TemplateData:
                    pieces.append(part.data)
                elif type(part) is nodes.Name and part.ctx == "load":
                    pieces.append(_Print(part.name))
                else:
                    return None
        elif type(node) is nodes.If:
            choice = _choice(node)
            if choice is None:
                return None
            pieces.append(choice)
        else:
            return None
    return pieces


def _choice(node: nodes.If) -> _Choice | None:
    branches: list[tuple[str, list[Piece]]] = []
    for branch in [node, *node.elif_]:
        test, body = branch.test, _pieces(branch.body)
        if type(test) is not nodes.Name or body is None or branch.elif_ and branch is not node:
            return None
        branches.append((test.name, body))
    otherwise = _pieces(node.else_)
    return None if otherwise is None else _Choice(branches, otherwise)


Render = Callable[[Mapping[str, object]], str]  # raises KeyError for a missing variable


def _compiled(pieces: list[Piece]) -> Render:
    """Runs of text and printed variables become one `str.format` each (`{!s}` is
    `str(value)`); a choice picks its branch per message."""
    parts: list[Render] = []
    text: list[str] = []
    names: list[str] = []
    for piece in [*pieces, None]:
        if type(piece) is str:
            text.append(piece.replace("{", "{{").replace("}", "}}"))
        elif type(piece) is _Print:
            text.append("{!s}")
            names.append(piece)
        else:
            if text:
                parts.append(_run("".join(text), tuple(names)))
                text, names = [], []
            if isinstance(piece, _Choice):
                parts.append(_choose(piece))
    if not parts:
        return lambda values: ""
    if len(parts) == 1:
        return parts[0]
    return lambda values: "".join([part(values) for part in parts])


def _run(pattern: str, names: tuple[str, ...]) -> Render:
    if not names:
        constant = pattern.format()
        return lambda values: constant
    get = itemgetter(*names)
    if len(names) == 1:
        return lambda values: pattern.format(get(values))
    return lambda values: pattern.format(*get(values))


def _choose(choice: _Choice) -> Render:
    branches = [(test, _compiled(body)) for test, body in choice.branches]
    otherwise = _compiled(choice.otherwise)

    def choose(values: Mapping[str, object]) -> str:
        for test, render in branches:
            if values[test]:
                return render(values)
        return otherwise(values)

    return choose
