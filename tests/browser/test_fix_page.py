"""The fix page in Chromium: with JavaScript it streams, without it the form still works."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

BROKEN = "def greet(name)\n    print('Hello ' + name)\n\ngreet('Ada')\n"
ERROR = (
    "File \"app.py\", line 1\n    def greet(name)\n                   ^\nSyntaxError: expected ':'"
)


def fill_and_submit(page) -> None:
    page.get_by_label("Code", exact=True).fill(BROKEN)
    page.get_by_label("Error message or traceback").fill(ERROR)
    page.get_by_role("button", name="Fix my code").click()


def test_paste_submit_and_see_explanation_fixed_code_and_diff(page, live_server):
    page.goto(live_server + "/")
    assert "3 of 3 free fixes left" in page.locator("#quota").inner_text()
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")
    assert "def greet(name):" in page.locator("#fixed-code").inner_text()
    assert "colon" in page.locator("#explanation").inner_text().lower()
    assert page.url == live_server + "/"  # no reload: the stream filled the page
    assert "2 of 3 free fixes left" in page.locator("#quota").inner_text()
    assert page.locator(".checks li.failed").count() == 0
    assert page.locator("#verification").inner_text() == "Ran your code: passes"
    assert "builtin" not in page.locator("#result").inner_text()  # no internal names

    split = page.locator(".diff-split")
    assert split.is_visible() and not page.locator(".diff-inline").is_visible()
    removed, added = split.locator("td.line.removed"), split.locator("td.line.added")
    assert removed.locator("code").inner_text() == "def greet(name)"
    assert added.locator("code").inner_text() == "def greet(name):"
    assert split.locator("td.num.removed").inner_text() == "1"
    assert split.locator("td.line.same").count() == 6  # the three unchanged lines, both sides
    screenshot(page, "fix-page-result")

    page.set_viewport_size({"width": 390, "height": 900})
    inline = page.locator(".diff-inline")
    assert inline.is_visible() and not split.is_visible()
    rows = inline.locator("tr.removed, tr.added")
    assert rows.locator(".mark").all_inner_texts() == ["-", "+"]
    assert rows.locator("code").all_inner_texts() == ["def greet(name)", "def greet(name):"]
    assert rows.locator("td.num").all_inner_texts() == ["1", "", "", "1"]


def test_copy_button_copies_the_fixed_code(page, live_server):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(live_server + "/")
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")
    page.get_by_role("button", name="Copy", exact=True).click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("def greet(name):")


def test_form_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server + "/")
    fill_and_submit(page)
    page.wait_for_selector("#fixed-code")
    assert "def greet(name):" in page.locator("#fixed-code").inner_text()
    assert "2 of 3 free fixes left" in page.locator("#quota").inner_text()
    assert page.locator(".diff-split td.line.added code").inner_text() == "def greet(name):"
    assert page.locator("button.copy").count() == 2  # in the page, but useless without JS:
    assert not page.locator("button.copy").first.is_visible()  # so hidden
    context.close()


def test_fourth_fix_shows_the_pricing_page_with_three_plans(page, live_server):
    page.goto(live_server + "/")
    for _ in range(3):
        fill_and_submit(page)
        page.wait_for_selector("#fixed-code")
    fill_and_submit(page)
    page.wait_for_url("**/pricing**")
    plans = page.locator(".plan")
    assert plans.count() == 3
    text = page.locator(".plans").inner_text()
    assert "$5" in text and "$12" in text and "$50" in text
    screenshot(page, "pricing-after-quota")


def test_bad_input_shows_a_clear_message(page, live_server):
    page.goto(live_server + "/")
    page.get_by_label("Code", exact=True).fill("   ")
    page.locator("#code").evaluate("el => el.removeAttribute('required')")
    page.get_by_role("button", name="Fix my code").click()
    page.wait_for_selector("#form-error:not([hidden])")
    assert "code is empty" in page.locator("#form-error").inner_text()


def test_a_users_test_is_run_with_the_fix(page, live_server):
    code = "def mid(xs):\n    return sorted(xs)[len(xs) // 2]\n\nprint(mid([3, 1, 2])\n"
    page.goto(live_server + "/")
    page.get_by_label("Code", exact=True).fill(code)
    assert not page.locator("#test").is_visible()  # folded until asked for
    page.get_by_text("Test (optional)").click()
    page.locator("#test").fill("assert mid([3, 1, 2]) == 2")
    assert page.locator("#test-count").inner_text() == "26 / 10,000"
    page.get_by_role("button", name="Fix my code").click()
    page.wait_for_selector("#fixed-code")
    assert "print(mid([3, 1, 2]))" in page.locator("#fixed-code").inner_text()
    checks = page.locator(".checks").inner_text()
    assert "with your test" in checks
    screenshot(page, "fix-page-with-test")
