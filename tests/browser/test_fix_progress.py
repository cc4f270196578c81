"""What the fix page shows while it works: progress, a way to cancel, honest limits, focus."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bugfixer.main import create_app
from tests.browser.audit import audit
from tests.browser.test_fix_page import BROKEN, ERROR, fill_and_submit
from tests.conftest import make_settings
from tests.support.fake_llm import Delay, FakeLLM
from tests.support.server import serve

pytestmark = pytest.mark.browser

FIXED = BROKEN.replace("def greet(name)", "def greet(name):")
ANSWER = (
    "### Explanation\n"
    "The `def` header is missing its colon, so Python stops at the **first line**.\n\n"
    f"### Fixed code\n```python\n{FIXED}```\n"
)


@pytest.fixture
def fake():
    with FakeLLM(ANSWER) as server:
        yield server


@pytest.fixture
def slow_site(tmp_path, fake):
    """The app on the openai provider, talking to a scripted model on this machine."""
    settings = make_settings(
        tmp_path,
        llm_provider="openai",
        llm_base_url=fake.base_url,
        llm_api_key="sk-test",
        llm_model="test-model",
        llm_timeout_s=30,
        llm_max_retries=0,
    )
    with serve(create_app(settings)) as base:
        yield base


def elapsed_seconds(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.locator("#elapsed").inner_text().split()[0])


def test_a_slow_fix_shows_progress_then_moves_focus_to_the_result(page, slow_site, fake):
    fake.script([Delay(4, ANSWER)])
    page.goto(slow_site + "/")
    fill_and_submit(page)

    submit = page.locator("#submit")
    expect(page.locator("#elapsed")).not_to_have_text("0 s")  # the clock ticks
    assert submit.is_disabled() and submit.inner_text() == "Fixing…"
    assert page.locator("#result").get_attribute("aria-busy") == "true"
    assert page.locator(".spinner").is_visible()
    assert page.locator("#working-bar").is_visible()
    assert page.get_by_role("button", name="Cancel").is_visible()
    assert page.get_by_role("status").inner_text() == "Fixing your code…"
    assert elapsed_seconds(page) >= 1
    audit(page, "home-busy")

    page.locator("#result-heading").wait_for()
    assert page.locator("#result").get_attribute("aria-busy") == "false"
    assert page.evaluate("document.activeElement.id") == "result-heading"
    assert not submit.is_disabled() and submit.inner_text() == "Fix my code"
    assert not page.get_by_role("button", name="Cancel").is_visible()
    assert not page.locator("#working").is_visible()
    explanation = page.locator("#explanation")
    assert "###" not in explanation.inner_text() and "`" not in explanation.inner_text()
    assert explanation.locator("code").first.inner_text() == "def"
    assert "Python stops at the first line" in explanation.inner_text()


def test_explanation_text_streams_in_as_prose_not_markdown(page, tmp_path):
    with FakeLLM(ANSWER, chunk_delay_s=0.25) as fake:
        settings = make_settings(
            tmp_path,
            llm_provider="openai",
            llm_base_url=fake.base_url,
            llm_api_key="sk-test",
            llm_max_retries=0,
        )
        with serve(create_app(settings)) as base:
            page.goto(base + "/")
            fill_and_submit(page)
            draft = page.locator("#draft")
            draft.locator("code").first.wait_for()
            assert page.locator("#result").get_attribute("aria-busy") == "true"
            assert "###" not in draft.inner_text() and "`" not in draft.inner_text()
            assert draft.locator("code").first.inner_text() == "def"
            page.locator("#result-heading").wait_for()


def test_cancel_stops_the_fix_and_uses_no_free_fix(page, slow_site, fake):
    fake.script([Delay(20, ANSWER)])
    page.goto(slow_site + "/")
    fill_and_submit(page)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("Canceled. No free fix was used.").wait_for()
    assert page.locator("#result").get_attribute("aria-busy") == "false"
    assert not page.locator("#submit").is_disabled()
    for _ in range(50):  # the server gives the reservation back once it sees the hang-up
        page.reload()
        if "3 of 3 free fixes left" in page.locator("#quota").inner_text():
            break
        page.wait_for_timeout(100)
    assert "3 of 3 free fixes left" in page.locator("#quota").inner_text()


def test_an_over_long_paste_is_kept_whole_and_refused_before_sending(page, live_server):
    sent = []
    page.on("request", lambda r: sent.append(r.url) if "/fix/stream" in r.url else None)
    page.goto(live_server + "/")
    page.get_by_label("Code", exact=True).fill("x" * 24_000)
    assert page.locator("#code-count").inner_text() == "24,000 / 20,000"
    message = page.locator("#code-too-long")
    assert message.inner_text() == (
        "Your code is 24,000 characters; the limit is 20,000. "
        "Remove 4,000 characters before fixing."
    )
    assert page.locator("#code").input_value() == "x" * 24_000  # nothing cut silently
    page.get_by_role("button", name="Fix my code").click()
    assert page.evaluate("document.activeElement.id") == "code"
    assert sent == []

    page.get_by_label("Code", exact=True).fill("x" * 20_000)
    assert page.locator("#code-count").inner_text() == "20,000 / 20,000"
    assert not message.is_visible()


def test_ctrl_enter_submits_the_form(page, live_server):
    page.goto(live_server + "/")
    page.get_by_label("Code", exact=True).fill(BROKEN)
    page.get_by_label("Error message or traceback").fill(ERROR)
    page.get_by_label("Code", exact=True).press("Control+Enter")
    page.locator("#fixed-code").wait_for()
    assert "def greet(name):" in page.locator("#fixed-code").inner_text()
