"""Site-wide details: hashed static files, the icon, legal pages, dates, money, languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from bugfixer.config import SettingsError
from bugfixer.main import create_app
from bugfixer.web.formats import format_date, format_datetime
from tests.conftest import csrf_token, make_settings
from tests.support.providers import ScriptedProvider

BROKEN = "def f()\n    return 1\n"


def test_static_files_have_hashed_names_cached_for_a_year(client):
    page = client.get("/").text
    urls = re.findall(r'(?:href|src)="(/static/app/[^"]+)"', page)
    assert {re.sub(r"\.[0-9a-f]{12}\.", ".", u) for u in urls} >= {
        "/static/app/app.css",
        "/static/app/app.js",
        "/static/app/pygments.css",
        "/static/app/favicon.svg",
    }
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    plain = client.get("/static/app/app.css")
    assert plain.headers["cache-control"] == "public, max-age=0, must-revalidate"
    again = client.get("/static/app/app.css", headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/app/nope.css").status_code == 404


def test_a_changed_file_gets_a_new_name(tmp_path):
    from bugfixer.web.assets import Assets

    (tmp_path / "a.css").write_text("body{}")
    first = Assets(tmp_path, prefix="/s").url("a.css")
    (tmp_path / "a.css").write_text("body{color:red}")
    assert Assets(tmp_path, prefix="/s").url("a.css") != first


def test_favicon_is_linked_and_answers_at_the_usual_path(client):
    assert 'rel="icon"' in client.get("/").text
    r = client.get("/favicon.ico", follow_redirects=False)
    assert r.status_code == 301
    icon = client.get(r.headers["location"])
    assert icon.headers["content-type"].startswith("image/svg+xml") and b"<svg" in icon.content


def test_pages_need_no_inline_script_or_style(client):
    html = client.get("/").text + client.get("/pricing").text
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert "'unsafe-inline'" not in client.get("/pricing").headers["content-security-policy"]


@pytest.mark.parametrize(
    ("path", "title"),
    [("/terms", "Terms of service"), ("/privacy", "Privacy policy"), ("/refunds", "Refund policy")],
)
def test_legal_pages_exist_and_name_the_contact_address(tmp_path, path, title):
    app = create_app(make_settings(tmp_path, contact_email="help@fixer.example"))
    with TestClient(app) as client:
        r = client.get(path)
        assert r.status_code == 200 and f"<h1>{title}</h1>" in r.text
        assert "help@fixer.example" in r.text
        footer = client.get("/").text.split('<footer class="footer">')[1]
        assert 'href="mailto:help@fixer.example"' in footer
        assert f'href="{path}"' in footer


def test_the_operator_can_replace_a_legal_page_with_a_file(tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("# Our terms\nRun by {operator_name}. Write to {contact_email}.\n\n- one\n")
    settings = make_settings(
        tmp_path, terms_file=terms, operator_name="Fixer Ltd", contact_email="a@b.example"
    )
    with TestClient(create_app(settings)) as client:
        r = client.get("/terms")
    assert '<p class="lead">Our terms</p>' in r.text
    assert "Run by Fixer Ltd. Write to a@b.example." in r.text and "<li>one</li>" in r.text


def test_an_unreadable_legal_file_stops_start_up_naming_the_setting(tmp_path):
    with pytest.raises(SettingsError, match="BUGFIXER_REFUND_FILE"):
        create_app(make_settings(tmp_path, refund_file=tmp_path / "missing.txt"))


def test_dates_read_the_same_everywhere():
    moment = datetime(2025, 3, 5, 14, 3, tzinfo=UTC)
    assert format_date(moment) == "March 5, 2025"
    assert format_datetime(moment) == "March 5, 2025, 14:03 UTC"
    assert format_date(moment.replace(tzinfo=None)) == "March 5, 2025"  # stored UTC, naive

    from bugfixer.devstripe.clock import format_date as emulator_date

    assert emulator_date(int(moment.timestamp())) == "March 5, 2025"


def test_pricing_shows_per_month_prices_and_marks_only_the_cheapest(client):
    page = client.get("/pricing").text
    card = re.compile(r'<article class="tier plan[^"]*" data-plan="(\w+)"(.*?)</article>', re.S)
    cards = dict(card.findall(page))
    assert "$4.00/mo" in cards["quarterly"] and "save 20%" in cards["quarterly"]
    assert "$4.17/mo" in cards["annual"] and "save 16%" in cards["annual"]
    assert "$5.00/mo" in cards["monthly"] and "save" not in cards["monthly"]
    assert [c for c, body in cards.items() if "Best value" in body] == ["quarterly"]
    assert "What a plan adds" in page and "$0.00" in page


def test_the_paywall_explains_what_happened_and_what_to_do(client):
    for _ in range(3):
        client.post("/", data={"csrf_token": csrf_token(client), "code": BROKEN})
    r = client.post("/", data={"csrf_token": csrf_token(client), "code": BROKEN})
    assert r.status_code == 402
    assert "You have used all 3 free fixes, so your last request was not fixed." in r.text
    assert "Nothing was charged" in r.text
    assert "What you can do" in r.text and 'href="/login?next=/"' in r.text


def test_the_last_free_fix_is_announced_before_it_is_used(client):
    for _ in range(2):
        client.post("/", data={"csrf_token": csrf_token(client), "code": BROKEN})
    assert "This is your last free fix." in client.get("/").text


def test_with_the_builtin_engine_the_form_offers_python_and_says_what_it_fixes(client):
    page = client.get("/").text
    assert '<select id="language"' not in page
    assert 'name="language" value="python"' in page and "Language: <strong>Python" in page
    assert "fixes common Python mistakes" in page
    assert "BUGFIXER_" not in page.split("<footer")[0]  # settings are not for visitors


def test_with_an_llm_provider_the_form_offers_every_language(tmp_path):
    settings = make_settings(tmp_path)
    with TestClient(create_app(settings, provider=ScriptedProvider())) as client:
        page = client.get("/").text
    assert '<select id="language"' in page
    assert '<option value="javascript"' in page and '<option value="rust"' in page
    assert "fixes common Python mistakes" not in page


def test_reset_request_in_development_points_to_the_outbox(client):
    r = client.post("/reset", data={"csrf_token": csrf_token(client, "/reset"), "email": "x@y.z"})
    assert 'href="/dev/outbox"' in r.text


def test_signup_page_names_the_plan_being_bought_when_given_one(app):
    """The template is ready for the route to pass the chosen plan (`plan`, a catalog Plan)."""
    from starlette.requests import Request

    from bugfixer.billing.plans import find_plan
    from bugfixer.metering.identity import Identity

    request = Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/signup",
            "query_string": b"",
            "headers": [],
            "state": {"csrf_token": "t", "identity": Identity()},
            "server": ("test", 80),
            "scheme": "http",
        }
    )
    template = app.state.ctx.templates.get_template("signup.html")
    plan = find_plan(app.state.ctx.plans, "quarterly")
    html = template.render(request=request, plan=plan, next="/billing/checkout", form={})
    assert (
        "Creating your account for the <strong>Quarterly</strong> plan ($12.00 every 3 months)"
        in html
    )
    assert "Creating your account for" not in template.render(request=request, next="", form={})
