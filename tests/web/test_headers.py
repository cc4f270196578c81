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
