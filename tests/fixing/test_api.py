"""The JSON fix API: the happy path, every refusal, and what a failure costs (nothing)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bugfixer.fixing.models import Fix
from bugfixer.fixing.providers import ProviderReply
from bugfixer.main import create_app
from bugfixer.metering.models import UsageRecord
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider, failing

BROKEN = "def f()\n    return 1\n"
FIXED = "def f():\n    return 1\n"


def reply(code: str | None = FIXED, explanation: str = "Added the missing colon.") -> ProviderReply:
    return ProviderReply(explanation=explanation, fixed_code=code, model="scripted-1")


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def client(tmp_path, provider):
    app = create_app(make_settings(tmp_path), provider=provider)
    with TestClient(app) as c:
        yield c


def count(client: TestClient, model) -> int:  # type: ignore[no-untyped-def]
    with client.app.state.ctx.db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_fix_returns_explanation_fixed_code_diff_verification_and_usage(client):
    r = client.post("/api/v1/fixes", json={"code": BROKEN, "error": "SyntaxError: expected ':'"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "fixed"
    assert body["fixed_code"] == FIXED
    assert body["explanation"] == "Added the missing colon."
    assert "-def f()\n" in body["diff"] and "+def f():\n" in body["diff"]
    assert body["language"] == "python"
    assert body["verification"]["ok"] is True
    assert {c["name"] for c in body["verification"]["checks"]} >= {"parses", "compiles"}
    assert body["usage"] == {"used": 1, "limit": 3, "remaining": 2, "plan": "free"}
    assert body["url"] == f"/fixes/{body['id']}"
    assert "bf_visitor" in r.cookies


def test_visitor_cookie_is_signed_httponly_and_lax(client):
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "." in r.cookies["bf_visitor"]


def test_fourth_fix_is_refused_with_402_and_a_pricing_url(client):
    for remaining in (2, 1, 0):
        r = client.post("/api/v1/fixes", json={"code": BROKEN})
        assert r.json()["usage"]["remaining"] == remaining
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    assert r.status_code == 402
    assert r.json()["error"] == "quota_exhausted"
    assert r.json()["pricing_url"] == "/pricing"
    assert count(client, UsageRecord) == 3


def test_each_visitor_has_their_own_counter(client):
    for _ in range(3):
        client.post("/api/v1/fixes", json={"code": BROKEN})
    assert client.post("/api/v1/fixes", json={"code": BROKEN}).status_code == 402
    client.cookies.clear()
    other = {"User-Agent": "another-browser/1.0"}
    r = client.post("/api/v1/fixes", json={"code": BROKEN}, headers=other)
    assert r.status_code == 200
    assert r.json()["usage"]["remaining"] == 2


def test_forged_visitor_cookie_is_a_new_visitor(client):
    for _ in range(3):
        client.post("/api/v1/fixes", json={"code": BROKEN})
    victim = client.cookies["bf_visitor"]
    client.cookies.clear()
    client.cookies.set("bf_visitor", victim.split(".")[0] + ".forged")
    r = client.post("/api/v1/fixes", json={"code": BROKEN}, headers={"User-Agent": "other/2"})
    assert r.status_code == 200 and r.json()["usage"]["remaining"] == 2


@pytest.mark.parametrize(
    ("body", "status", "error", "words"),
    [
        ({"code": ""}, 422, "invalid_input", "code is empty"),
        ({"code": "   \n\t"}, 422, "invalid_input", "code is empty"),
        ({"code": "x = 1\x00"}, 422, "invalid_input", "NUL"),
        ({"code": "x = 1", "error": "bad\x00"}, 422, "invalid_input", "NUL"),
        ({"code": 5}, 422, "invalid_input", "code"),
        ({"code": ["a"]}, 422, "invalid_input", "code"),
        ({"code": "x", "error": 3}, 422, "invalid_input", "error"),
        ({"code": "x", "language": "klingon"}, 422, "invalid_input", "klingon"),
        ({"error": "only an error"}, 422, "invalid_input", "code"),
        ({"code": "x", "surprise": 1}, 422, "invalid_input", "surprise"),
        ({"code": "x" * 20_001}, 413, "input_too_large", "20,000"),
        ({"code": "x", "error": "e" * 10_001}, 413, "input_too_large", "10,000"),
    ],
)
def test_bad_input_is_refused_clearly_and_stores_nothing(client, body, status, error, words):
    r = client.post("/api/v1/fixes", json=body)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert words in r.json()["message"]
    assert count(client, Fix) == 0
    assert count(client, UsageRecord) == 0


@pytest.mark.parametrize(
    "raw", [b"not json", b'{"code": ', b"[1, 2]", b'"just a string"', b"\xff\xfe"]
)
def test_non_json_or_non_object_body_is_422(client, raw):
    r = client.post("/api/v1/fixes", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"] in {"invalid_json", "invalid_input"}
    assert count(client, Fix) == 0


def test_huge_body_is_refused_before_it_is_read(client):
    limit = client.app.state.ctx.settings.max_fix_body_bytes
    r = client.post(
        "/api/v1/fixes",
        content=b"{" + b" " * limit + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert f"limit of {limit:,} bytes" in r.json()["message"]
    message = r.json()["message"]
    assert "Code may be up to 20,000 characters, the error up to 10,000" in message


def test_huge_form_post_from_a_browser_gets_a_page_naming_the_limits(client):
    r = client.post(
        "/",
        content=b"code=" + b"x" * 600_000,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "20,000 characters" in r.text


def test_provider_failure_is_503_and_costs_nothing(client, provider):
    provider.steps = [failing()]
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    assert r.status_code == 503
    assert r.json()["error"] == "provider_unavailable"
    assert "Retry-After" in r.headers
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    assert r.json()["usage"]["remaining"] == 2


def test_failed_check_is_retried_once_with_the_checkers_message(client, provider):
    provider.steps = [reply("def f(:\n"), reply(FIXED)]
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    assert r.json()["status"] == "fixed"
    assert len(provider.prompts) == 2
    assert "SyntaxError" in provider.prompts[1].feedback
    assert provider.prompts[1].previous_fix == "def f(:\n"


def test_fix_failing_verification_twice_is_an_honest_no_fix_and_free(client, provider):
    provider.steps = [reply("def f(:\n"), reply("print(undefined_thing)\n")]
    r = client.post("/api/v1/fixes", json={"code": BROKEN})
    body = r.json()
    assert r.status_code == 200
    assert body["status"] == "no_fix"
    assert body["fixed_code"] is None
    assert body["verification"]["ok"] is False
    assert "undefined_thing" in body["explanation"]
    assert body["usage"]["remaining"] == 3
    assert count(client, UsageRecord) == 0


def test_no_confident_fix_does_not_use_a_free_fix(client, provider):
    provider.steps = [reply(None, "I could not find the bug.")]
    body = client.post("/api/v1/fixes", json={"code": "x = 1\n"}).json()
    assert body["status"] == "no_fix"
    assert body["usage"]["remaining"] == 3


def test_saved_fix_is_shown_to_its_owner_only(client):
    fix_id = client.post("/api/v1/fixes", json={"code": BROKEN}).json()["id"]
    page = client.get(f"/fixes/{fix_id}")
    assert page.status_code == 200
    assert "Added the missing colon." in page.text
    assert client.get("/fixes").text.count(f"/fixes/{fix_id}") >= 1
    client.cookies.clear()
    assert client.get(f"/fixes/{fix_id}").status_code == 404
    assert client.get("/fixes/does-not-exist").status_code == 404


def test_usage_record_keeps_provider_model_tokens_latency_and_cost(client, provider):
    provider.steps = [
        ProviderReply("ok", FIXED, "gpt-x", prompt_tokens=1000, completion_tokens=500)
    ]
    client.post("/api/v1/fixes", json={"code": BROKEN})
    with client.app.state.ctx.db.session() as s:
        record = s.scalars(select(UsageRecord)).one()
    assert (record.provider, record.model) == ("scripted", "gpt-x")
    assert (record.prompt_tokens, record.completion_tokens) == (1000, 500)
    assert record.latency_ms >= 0
    assert record.cost_microusd == 1000 * 0.15 + 500 * 0.60


def test_healthz_reports_the_provider(client):
    r = client.get("/healthz")
    assert r.json() == {"status": "ok", "provider": "scripted"}


def test_openapi_docs_are_served_without_a_cdn(client):
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text and "/static/swagger/swagger-ui-bundle.js" in docs.text
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/fixes" in spec["paths"]


def test_openapi_offers_an_api_key_for_the_authorize_button(client):
    spec = client.get("/openapi.json").json()
    scheme = spec["components"]["securitySchemes"]["ApiKey"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "bfk_" in scheme["bearerFormat"]
    # A key is optional: without one the visitor cookie's free fixes are used.
    assert spec["paths"]["/api/v1/fixes"]["post"]["security"] == [{"ApiKey": []}, {}]
    docs = client.get("/docs").text
    assert 'class="topbar"' in docs and "Authorize" in docs  # inside the site's layout


def test_openapi_states_the_input_rules_and_the_encoding_error(client):
    spec = client.get("/openapi.json").json()
    fields = spec["components"]["schemas"]["FixRequest"]["properties"]
    assert fields["code"]["minLength"] == 1
    assert fields["code"]["maxLength"] == client.app.state.ctx.settings.max_code_chars
    assert "python" in fields["language"]["enum"]
    responses = spec["paths"]["/api/v1/fixes"]["post"]["responses"]
    assert "invalid_encoding" in responses["400"]["description"]
