"""schemathesis over the board's OpenAPI document: valid and invalid inputs (NUL bytes and
extreme values included) never give a 500, on SQLite and PostgreSQL. Bounded: six
examples per operation and mode."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.generation import GenerationMode

from deadline_watch.core.context import AppContext
from deadline_watch.web import create_app

from .conftest import board_settings

SPEC = create_app(AppContext(board_settings())).openapi()
SCHEMA = schemathesis.openapi.from_dict(SPEC)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _takes_input(operation) -> bool:
    """Whether invalid input exists: a body, or a parameter constrained beyond "any string"
    (a GET /api/projects/{code} accepts every string, so no case of it is invalid)."""
    described = SPEC["paths"][operation.path][operation.method.lower()]
    loose = {"type", "title", "default"}
    constrained = [p for p in described.get("parameters", [])
                   if p["schema"].get("type") != "string" or set(p["schema"]) - loose]
    return bool(described.get("requestBody") or constrained)


CASES = [
    pytest.param(operation, mode, id=f"{operation.method.upper()} {operation.path}-{label}")
    for operation in OPERATIONS
    for mode, label in ((GenerationMode.POSITIVE, "valid"), (GenerationMode.NEGATIVE, "invalid"))
    if mode is GenerationMode.POSITIVE or _takes_input(operation)
]


def _plain(value):
    """Query values as httpx takes them: nested structures (negative mode) as JSON text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(item, (str, int, float, bool)) for item in value):
        return value
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize(("operation", "mode"), CASES)
def test_no_input_makes_an_operation_answer_500(admin_client, operation, mode):
    @settings(max_examples=6, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), nul=st.booleans())
    def run(case, nul):
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        params = {key: _plain(value) for key, value in (kwargs.get("params") or {}).items()}
        if nul and params:  # a NUL byte in one of the parameters, as the attack run sent
            first = next(iter(params))
            params[first] = f"{params[first]}\x00"
        request = {"params": params}
        if "json" in kwargs:
            request["json"] = kwargs["json"]
        elif "data" in kwargs or "content" in kwargs:
            request["content"] = kwargs.get("content") or kwargs.get("data")
        response = admin_client.request(kwargs["method"], kwargs["url"], **request)
        assert response.status_code < 500, (kwargs["method"], kwargs["url"], request, response.text[:300])

    run()
