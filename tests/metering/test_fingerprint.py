"""Clearing cookies does not reset the trial; different devices never share a counter."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bugfixer.main import create_app
from bugfixer.metering.identity import fingerprint, network_prefix
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider

BROKEN = {"code": "def f()\n    return 1\n"}


def app_with(tmp_path, **settings):  # type: ignore[no-untyped-def]
    return create_app(make_settings(tmp_path, **settings), provider=ScriptedProvider())


def use_up(client: TestClient, headers: dict[str, str] | None = None) -> None:
    for _ in range(3):
        assert client.post("/api/v1/fixes", json=BROKEN, headers=headers).status_code == 200


def test_clearing_cookies_with_the_same_browser_and_network_keeps_the_count(tmp_path):
    with TestClient(app_with(tmp_path)) as client:
        use_up(client)
        client.cookies.clear()
        r = client.post("/api/v1/fixes", json=BROKEN)
        assert r.status_code == 402
        assert "0</strong> of 3 free fixes left" in client.get("/").text


def test_a_different_user_agent_is_a_different_visitor(tmp_path):
    with TestClient(app_with(tmp_path)) as client:
        use_up(client)
        client.cookies.clear()
        r = client.post("/api/v1/fixes", json=BROKEN, headers={"User-Agent": "Firefox/1"})
        assert r.status_code == 200 and r.json()["usage"]["remaining"] == 2


def test_cookie_policy_gives_each_new_cookie_its_own_trial(tmp_path):
    with TestClient(app_with(tmp_path, trial_policy="cookie")) as client:
        use_up(client)
        client.cookies.clear()
        assert client.post("/api/v1/fixes", json=BROKEN).status_code == 200


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(tmp_path):
    with TestClient(app_with(tmp_path)) as client:
        use_up(client)
        client.cookies.clear()
        spoofed = {"X-Forwarded-For": "198.51.100.7"}
        assert client.post("/api/v1/fixes", json=BROKEN, headers=spoofed).status_code == 402


def test_behind_a_trusted_proxy_the_forwarded_address_decides(tmp_path):
    app = app_with(tmp_path, trusted_proxies="127.0.0.1, testclient")
    with TestClient(app) as client:
        alice = {"X-Forwarded-For": "198.51.100.7"}
        use_up(client, alice)
        client.cookies.clear()
        assert client.post("/api/v1/fixes", json=BROKEN, headers=alice).status_code == 402
        neighbour = {"X-Forwarded-For": "198.51.100.200"}  # same /24: shares, by design
        client.cookies.clear()
        assert client.post("/api/v1/fixes", json=BROKEN, headers=neighbour).status_code == 402
        elsewhere = {"X-Forwarded-For": "203.0.113.9"}
        client.cookies.clear()
        assert client.post("/api/v1/fixes", json=BROKEN, headers=elsewhere).status_code == 200


def test_network_prefix_is_slash_24_for_ipv4_and_slash_64_for_ipv6():
    assert network_prefix("198.51.100.7") == "198.51.100.0/24"
    assert network_prefix("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert network_prefix("::ffff:198.51.100.7") == "198.51.100.0/24"
    assert network_prefix("garbage") == "unknown"


def test_fingerprint_is_keyed_and_hides_the_address():
    a = fingerprint("secret-one", client_address="198.51.100.7", user_agent="UA")
    b = fingerprint("secret-two", client_address="198.51.100.7", user_agent="UA")
    assert a != b and "198" not in a and len(a) == 64
    assert a == fingerprint("secret-one", client_address="198.51.100.99", user_agent="UA")
