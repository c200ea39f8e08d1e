"""schemathesis over the board's OpenAPI document: valid and invalid inputs (NUL bytes and
extreme values included) never give a 500, on SQLite and PostgreSQL. Bounded: six
examples per operation and mode."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from deadline_watch.core.context import AppContext
from deadline_watch.web import create_app

from .conftest import board_settings

SCHEMA = schemathesis.openapi.from_dict(create_app(AppContext(board_settings())).openapi())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


def _plain(value):
    """Query values as httpx takes them: nested structures (negative mode) as JSON text."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, list) and all(isinstance(item, (str, int, float, bool)) for item in value):
        return value
    return json.dumps(value, ensure_ascii=False)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS])
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

    try:
        run()
    except Unsatisfiable:  # an operation without parameters or body has no invalid input
        pytest.skip("no invalid input exists for this operation")
