"""Checks every page must pass on phones and desktops: no sideways scroll, no serious axe finding.

axe-core comes from npm into tests/browser/vendor (``make test`` installs it); it is
evaluated in the page through the DevTools protocol, so the site never serves it and
its Content-Security-Policy stays as strict as users get it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from tests.browser.conftest import screenshot

AXE = Path(__file__).parent / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
PHONE, DESKTOP = 390, 1280
# Phones from the smallest in common use to the largest.
PHONE_WIDTHS = (360, 390, 430)
# Moderate findings the review named; everything serious or critical fails too.
ALSO_FORBIDDEN = {"region", "empty-table-header", "landmark-one-main", "page-has-heading-one"}


@cache
def axe_source() -> str:
    if not AXE.exists():
        raise AssertionError(
            f"{AXE} is missing: run `npm ci --prefix tests/browser/vendor` (make test does)"
        )
    return AXE.read_text()


def overflow(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Elements that stick out past the right edge of the viewport (empty when none)."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth <= width) return [];
          const out = [];
          for (const el of document.querySelectorAll("body *")) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 0.5) {
              const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`;
              out.push(`${name} right=${Math.round(box.right)}`);
            }
          }
          return out.slice(0, 12);
        }"""
    )


def axe_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """Serious and critical axe-core findings (and the named moderate ones), readable."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("Runtime.evaluate", {"expression": axe_source()})
    finally:
        session.detach()
    results = page.evaluate(
        """async () => {
          const r = await axe.run(document, { resultTypes: ["violations"] });
          return r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(" ") + " :: " + n.failureSummary),
          }));
        }"""
    )
    return [
        json.dumps(v, indent=1)
        for v in results
        if v["impact"] in ("serious", "critical") or v["id"] in ALSO_FORBIDDEN
    ]


def audit(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """Phone widths and the desktop: nothing sideways, axe clean, a screenshot of each."""
    original = page.viewport_size
    try:
        for width in (*PHONE_WIDTHS, DESKTOP):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(50)  # one layout after the resize
            wide = overflow(page)
            assert wide == [], f"{name} at {width}px scrolls sideways: {wide}"
            if width in (PHONE, DESKTOP):
                violations = axe_violations(page)
                assert violations == [], f"{name} at {width}px:\n" + "\n".join(violations)
                screenshot(page, f"{name}-{width}")
    finally:
        if original:
            page.set_viewport_size(original)
