"""Property test against the OpenAPI document: no input makes any API route answer 500."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1", "2", "99999999999999999999", "9223372036854775808", "2147483648", "2026-02-30", "2026-11-01", "open",
                     "all", "省级", "' OR 1=1 --", "%", "_", "\x00", "GX-2026-001", "../etc/passwd"]),
)
JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(st.text(max_size=10), children, max_size=3)),
    max_leaves=6,
)


def operations(client):
    spec = client.get("/api/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            params = [p for p in operation.get("parameters", []) if p["in"] in ("query", "path")]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            yield path, method, params, body


def test_openapi_document_lists_the_api(admin_client):
    paths = {path for path, *_ in operations(admin_client)}
    assert {"/api/escalations", "/api/escalations/{escalation_id}", "/api/escalations/{escalation_id}/resolve",
            "/api/projects", "/api/projects/{code}", "/api/evaluation", "/healthz", "/metrics"} <= paths


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_api_input_gives_a_server_error(admin_client, data):
    for path, method, params, body_schema in operations(admin_client):
        values = {p["name"]: data.draw(TEXT, label=f"{path} {p['name']}") for p in params}
        url = path
        query = {}
        for p in params:
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", quote(values[p["name"]], safe="") or "x")
            elif data.draw(st.booleans()):
                query[p["name"]] = values[p["name"]]
        kwargs = {"params": query}
        if body_schema is not None:
            kwargs["json"] = data.draw(JSON_VALUE | st.fixed_dictionaries({
                "assignee": TEXT, "text": TEXT, "note": st.none() | TEXT,
                "resolution": st.sampled_from(["waived", "completed_late", "cancelled", ""]),
            }), label=f"{path} body")
        response = admin_client.request(method.upper(), url, **kwargs)
        assert response.status_code < 500, (method, url, kwargs, response.text[:300])
