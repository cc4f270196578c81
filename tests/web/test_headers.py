def test_pages_carry_security_headers(client):
    r = client.get("/")
    csp = r.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"]
    assert r.headers["x-request-id"]


def test_explanations_show_backticked_names_as_code_and_escape_the_rest():
    from bugfixer.fixing.render import explanation_html

    html = str(explanation_html("Line 1: `print x` <script>alert(1)</script>"))
    assert "<code>print x</code>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def form_action(response) -> list[str]:  # type: ignore[no-untyped-def]
    csp = response.headers["content-security-policy"]
    directive = next(d.strip() for d in csp.split(";") if d.strip().startswith("form-action"))
    return directive.split()[1:]


def test_with_the_emulator_forms_may_only_post_to_this_site(client):
    assert form_action(client.get("/pricing")) == ["'self'"]


def test_with_real_stripe_keys_forms_may_lead_to_stripe_checkout_and_portal(tmp_path):
    from fastapi.testclient import TestClient

    from bugfixer.main import create_app
    from tests.conftest import make_settings

    settings = make_settings(
        tmp_path,
        stripe_secret_key="sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc",
        stripe_webhook_secret="whsec_x",
    )
    with TestClient(create_app(settings)) as client:
        for path in ("/pricing", "/account", "/docs"):
            assert form_action(client.get(path, follow_redirects=False)) == [
                "'self'",
                "https://checkout.stripe.com",
                "https://billing.stripe.com",
            ], path


def test_server_timing_is_sent_only_when_switched_on(tmp_path):
    from fastapi.testclient import TestClient

    from bugfixer.main import create_app
    from tests.conftest import make_settings

    with TestClient(create_app(make_settings(tmp_path / "off"))) as client:
        assert "server-timing" not in client.post("/api/v1/fixes", json={"code": "x = (1"}).headers
    with TestClient(create_app(make_settings(tmp_path / "on", server_timing=True))) as client:
        r = client.post("/api/v1/fixes", json={"code": "x = (1"})
        assert "total;dur=" in r.headers["server-timing"]
