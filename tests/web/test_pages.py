"""Pages without JavaScript: the form, the paywall, history."""

from __future__ import annotations

from sqlalchemy import func, select

from bugfixer.metering.models import Visitor
from tests.conftest import csrf_token

BROKEN = "def f()\n    return 1\n"


def test_home_page_shows_the_form_and_free_fixes_left(client):
    r = client.get("/")
    assert r.status_code == 200
    assert 'name="code"' in r.text and 'name="error"' in r.text
    assert "3</strong> of 3 free fixes left" in r.text
    # A first look gives the browser its visitor id, and writes nothing for it yet.
    assert "bf_visitor=" in r.headers["set-cookie"]
    with client.app.state.ctx.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Visitor)) == 0


def test_form_post_renders_the_result_on_the_page(client):
    r = client.post(
        "/",
        data={
            "csrf_token": csrf_token(client),
            "code": BROKEN,
            "error": "SyntaxError: expected ':'",
        },
    )
    assert r.status_code == 200
    assert 'id="fixed-code"' in r.text and "2</strong> of 3 free fixes left" in r.text


def test_form_post_with_empty_code_keeps_the_input_and_says_why(client):
    r = client.post("/", data={"csrf_token": csrf_token(client), "code": "  ", "error": "my error"})
    assert r.status_code == 422
    assert "code is empty" in r.text and "my error" in r.text


def test_form_post_with_oversize_code_names_the_limit(client):
    r = client.post("/", data={"csrf_token": csrf_token(client), "code": "x" * 20_001})
    assert r.status_code == 413 and "20,000" in r.text


def test_fourth_form_post_is_a_402_pricing_page_with_three_plans(client):
    for _ in range(3):
        assert (
            client.post("/", data={"csrf_token": csrf_token(client), "code": BROKEN}).status_code
            == 200
        )
    r = client.post("/", data={"csrf_token": csrf_token(client), "code": BROKEN})
    assert r.status_code == 402
    assert 'id="paywall"' in r.text and "used all 3 free fixes" in r.text
    for price in ("$5.00", "$12.00", "$50.00"):
        assert price in r.text


def test_unknown_page_is_a_friendly_404(client):
    r = client.get("/nope", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "Back to the fixer" in r.text
