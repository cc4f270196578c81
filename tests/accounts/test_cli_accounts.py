"""The CLI side of accounts: fixing through a server with an API key, and create-admin."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from bugfixer.accounts import service as accounts
from bugfixer.accounts.models import User
from bugfixer.cli import main
from bugfixer.main import create_app
from tests.conftest import make_settings
from tests.support.providers import ScriptedProvider
from tests.support.server import serve


def test_fix_through_a_server_with_an_api_key_uses_the_account(tmp_path, monkeypatch):
    monkeypatch.delenv("BUGFIXER_API_KEY", raising=False)
    app = create_app(make_settings(tmp_path), provider=ScriptedProvider())
    with app.state.ctx.db.transaction() as s:
        account = accounts.prepare_account(email="cli@example.com", password="long enough pw")
        trial_id = accounts_trial(s)
        user = accounts.create_user(session=s, account=account, trial_id=trial_id)
        key = accounts.create_api_key(session=s, user_id=user.id, name="ci").secret
    code = tmp_path / "broken.py"
    code.write_text("def f()\n    return 1\n")
    with serve(app) as base:
        runner = CliRunner()
        ok = runner.invoke(main, ["fix", str(code), "--server", base, "--api-key", key, "--json"])
        assert ok.exit_code == 0, ok.output
        body = json.loads(ok.output)
        assert body["status"] == "fixed" and body["usage"]["remaining"] == 2
        monkeypatch.setenv("BUGFIXER_API_KEY", key)
        by_env = runner.invoke(main, ["fix", str(code), "--server", base])
        assert by_env.exit_code == 0 and "Fixed code" in by_env.output
        wrong = runner.invoke(
            main, ["fix", str(code), "--server", base, "--api-key", "bfk_" + "x" * 40]
        )
        assert wrong.exit_code == 3  # refused: the documented exit code for 401 and 402
        assert "not valid or has been revoked." in wrong.output
        assert f"Create a key at {base}/account" in wrong.output
    gone = CliRunner().invoke(main, ["fix", str(code), "--server", base])
    assert gone.exit_code == 4 and "could not reach" in gone.output
    alone = CliRunner().invoke(main, ["fix", str(code), "--api-key", key])
    assert alone.exit_code == 2 and "--api-key needs --server" in alone.output


def accounts_trial(session) -> int:  # type: ignore[no-untyped-def]
    from bugfixer.metering.identity import Identity
    from bugfixer.metering.service import trial_for_new_account

    return trial_for_new_account(session=session, identity=Identity())


def test_create_admin_creates_or_promotes(tmp_path, monkeypatch):
    for name in list(__import__("os").environ):
        if name.startswith("BUGFIXER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    made = runner.invoke(
        main, ["create-admin", "Root@Example.com"], input="root password!\nroot password!\n"
    )
    assert made.exit_code == 0 and "created administrator root@example.com" in made.output
    promoted = runner.invoke(main, ["create-admin", "root@example.com"])
    assert promoted.exit_code == 0 and "is now an administrator" in promoted.output
    weak = runner.invoke(main, ["create-admin", "x@example.com", "--password", "short"])
    assert weak.exit_code == 1 and "at least 10 characters" in weak.output
    app = create_app(make_settings(tmp_path, instance_dir=tmp_path / "instance", secret_key=""))
    with app.state.ctx.db.session() as s:
        admins = s.scalars(select(User.email).where(User.is_admin)).all()
    assert admins == ["root@example.com"]


def test_cookies_are_secure_over_https(tmp_path):
    from fastapi.testclient import TestClient

    from tests.accounts.conftest import Auth

    app = create_app(make_settings(tmp_path), provider=ScriptedProvider())
    with TestClient(app, base_url="https://testserver") as client:
        page = client.get("/")
        cookies = page.headers.get_list("set-cookie")
        assert {c.split("=")[0] for c in cookies} >= {"bf_csrf", "bf_visitor"}
        assert all("secure" in c.lower() for c in cookies)  # CSRF and visitor cookies
        api = TestClient(app, base_url="https://testserver")  # no cookies: an API client
        fix = api.post("/api/v1/fixes", json={"code": "x = (1"})
        assert "secure" in fix.headers["set-cookie"].lower()  # the visitor cookie
        assert "strict-transport-security" in fix.headers
        r = Auth(client).signup()
        assert "secure" in r.headers["set-cookie"].lower()  # the session cookie
