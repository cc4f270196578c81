"""The hosted Checkout and Customer Portal pages: plain HTML forms, no JavaScript."""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from . import billing
from .cards import CardForm, CardProblem, check
from .checkout import complete_session
from .clock import describe_interval, format_date
from .emulator import Emulator, base_url
from .store import Tx

_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof"}
_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}

# Served as /_stripe/assets/page.css, so the pages need no inline style.
STYLESHEET = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f8fa;
color:#1a1f36}
.testmode{background:#ffb020;color:#3d2800;text-align:center;font-weight:700;padding:.4rem;
letter-spacing:.08em}
main{max-width:30rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;
box-shadow:0 1px 4px rgba(0,0,0,.12)}
@media (max-width:32rem){main{margin:0;border-radius:0;padding:1.2rem 1rem}}
a{color:#4b44d6}
h1{font-size:1.3rem;margin:.2rem 0}.amount{font-size:2rem;font-weight:700;margin:.2rem 0}
.muted{color:#5b6275}label{display:block;font-weight:600;margin-top:1rem}
input{box-sizing:border-box;width:100%;padding:.55rem;font:inherit;border:1px solid #c3c8d4;
border-radius:6px}.row{display:flex;gap:1rem}.row>div{flex:1}
button{margin-top:1.2rem;width:100%;padding:.7rem;font:inherit;font-weight:700;color:#fff;
background:#5851ea;border:0;border-radius:6px;cursor:pointer}
button.secondary{background:#fff;color:#4b44d6;border:1px solid #5851ea}
.back{display:block;text-align:center;margin-top:1rem}
.error{background:#fdecea;color:#8a1c12;border-radius:6px;padding:.6rem .8rem;margin-top:1rem}
.plan{border:1px solid #e3e8ee;border-radius:8px;padding:1rem;margin-top:1rem}
table{width:100%;border-collapse:collapse;margin-top:.5rem}td,th{text-align:left;padding:.3rem 0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
"""


def money(amount: int, currency: str) -> str:
    value = amount if currency in _ZERO_DECIMAL else amount / 100
    text = f"{value:,.0f}" if currency in _ZERO_DECIMAL else f"{value:,.2f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{text}" if symbol else f"{text} {currency.upper()}"


def _period(price: dict[str, Any]) -> str:
    recurring = price["recurring"] or {}
    return "every " + describe_interval(recurring["interval"], recurring["interval_count"])


def page(base_url: str, title: str, body: str, status: int = 200) -> HTMLResponse:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · TEST MODE</title>
<link rel="stylesheet" href="{escape(base_url)}/assets/page.css"></head>
<body><aside class="testmode" aria-label="Test mode">TEST MODE — devstripe, no real money moves
</aside><main>{body}</main></body></html>"""
    return HTMLResponse(html, status_code=status)


def _not_found(base_url: str, what: str) -> HTMLResponse:
    return page(base_url, "Not found", f"<h1>{escape(what)} not found</h1>", 404)


def _form(request_body: bytes) -> dict[str, str]:
    return dict(parse_qsl(request_body.decode("utf-8", errors="replace"), keep_blank_values=True))


# Checkout.


def _item_line(item: dict[str, Any]) -> str:
    quantity = f" \u00d7 {item['quantity']}" if item["quantity"] > 1 else ""
    price = f"{money(item['amount_total'], item['currency'])} {_period(item['price'])}"
    return (
        f"<p><strong>{escape(item['description'])}</strong>{quantity}<br>"
        f'<span class="muted">{price}</span></p>'
    )


def _checkout_page(
    tx: Tx,
    session: dict[str, Any],
    *,
    form: CardForm | None = None,
    problem: CardProblem | None = None,
) -> HTMLResponse:
    if session["status"] == "complete":
        link = _success_url(session)
        return page(
            tx.base_url,
            "Already paid",
            f'<h1>This checkout is complete.</h1><p><a href="{escape(link)}">Continue</a></p>',
        )
    if session["status"] != "open":
        back = session["cancel_url"] or ""
        return page(
            tx.base_url,
            "Expired",
            "<h1>This checkout session has expired.</h1>"
            + (f'<p><a href="{escape(back)}">Go back</a></p>' if back else ""),
            410,
        )
    items = tx.internal(session["id"]).get("line_items", [])
    lines = "".join(_item_line(item) for item in items)
    locked = _customer_email(tx, session)
    email = locked or (form.email if form else "") or session["customer_email"] or ""
    error = f'<p class="error" role="alert">{escape(problem.message)}</p>' if problem else ""
    cancel = (
        f'<p><a href="{escape(session["cancel_url"])}">← Cancel and go back</a></p>'
        if session["cancel_url"]
        else ""
    )
    action = f"{tx.base_url}/checkout/{session['id']}"
    value = {"number": form.number, "expiry": form.expiry} if form else {"number": "", "expiry": ""}
    body = f"""{cancel}
<h1>Subscribe</h1>{lines}
<p class="amount">{money(session["amount_total"], session["currency"])}</p>
<p class="muted">{_period(items[0]["price"]) if items else ""} · Test cards only, e.g.
4242 4242 4242 4242.</p>{error}
<form method="post" action="{escape(action)}" novalidate>
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="email" value="{escape(email)}"
 {"readonly " if locked else ""}required>
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="cc-number"
 placeholder="1234 1234 1234 1234" value="{escape(value["number"])}" required>
<div class="row"><div><label for="expiry">Expiry</label>
<input id="expiry" name="expiry" autocomplete="cc-exp" placeholder="MM / YY"
 value="{escape(value["expiry"])}" required></div>
<div><label for="cvc">CVC</label>
<input id="cvc" name="cvc" inputmode="numeric" autocomplete="cc-csc" placeholder="CVC"
 required></div></div>
<button type="submit">Subscribe</button></form>"""
    status = problem.status if problem else 200
    return page(tx.base_url, "Checkout", body, status)


def _customer_email(tx: Tx, session: dict[str, Any]) -> str | None:
    """An existing customer's email, which the page shows but does not let you change."""
    customer = tx.get(session["customer"]) if session["customer"] else None
    return customer["email"] if customer else None


def _success_url(session: dict[str, Any]) -> str:
    return (session["success_url"] or "").replace("{CHECKOUT_SESSION_ID}", session["id"])


def _show_checkout(emulator: Emulator, request: Request, session_id: str) -> Response:
    with emulator.transaction(request) as tx:
        session = tx.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return _not_found(tx.base_url, "Checkout session")
        return _checkout_page(tx, session)


def _pay(emulator: Emulator, request: Request, session_id: str, body: bytes) -> Response:
    form = CardForm.from_form(_form(body))
    with emulator.transaction(request) as tx:
        session = tx.get(session_id)
        if session is None or session["object"] != "checkout.session":
            return _not_found(tx.base_url, "Checkout session")
        if session["status"] != "open":
            return _checkout_page(tx, session)
        if locked := _customer_email(tx, session):
            form = replace(form, email=locked)
        try:
            card = check(form, tx.now)
        except CardProblem as problem:
            return _checkout_page(tx, session, form=form, problem=problem)
        complete_session(tx, session, email=form.email, card=card)
    return RedirectResponse(_success_url(session), status_code=303)


# Customer portal.


def _subscription_card(tx: Tx, portal_url: str, sub: dict[str, Any]) -> str:
    items = sub["items"]["data"]
    names = ", ".join(
        escape((tx.get(item["price"]["product"]) or {}).get("name") or item["price"]["id"])
        for item in items
    )
    amount = sum(item["price"]["unit_amount"] * item["quantity"] for item in items)
    end = billing.period_end(sub)
    if sub["status"] == "canceled":
        when, action = f"Ended on {format_date(sub['ended_at'])}", ""
    elif sub["cancel_at"] is not None:
        when, action = f"Ends on {format_date(sub['cancel_at'])}", "resume"
    else:
        when, action = f"Renews on {format_date(end)}", "cancel"
    button = ""
    if action:
        label = "Cancel plan" if action == "cancel" else "Resume plan"
        style = ' class="secondary"' if action == "cancel" else ""
        button = (
            f'<form method="post" action="{escape(portal_url)}/{action}">'
            f'<input type="hidden" name="subscription" value="{escape(sub["id"])}">'
            f'<button{style} type="submit">{label}</button></form>'
        )
    return (
        f'<div class="plan"><h2>{names}</h2>'
        f"<p>{money(amount, sub['currency'])} {_period(items[0]['price'])}<br>"
        f"Status: <strong>{escape(sub['status'])}</strong><br>{escape(when)}</p>{button}</div>"
    )


def _show_portal(emulator: Emulator, request: Request, portal_id: str) -> Response:
    with emulator.transaction(request) as tx:
        portal = tx.get(portal_id)
        if portal is None or portal["object"] != "billing_portal.session":
            return _not_found(tx.base_url, "Portal session")
        customer = tx.get(portal["customer"]) or {}
        subs = tx.find("subscription", customer=portal["customer"])
        portal_url = f"{tx.base_url}/portal/{portal['id']}"
        cards = "".join(_subscription_card(tx, portal_url, sub) for sub in subs)
        invoices = tx.find("invoice", customer=portal["customer"])
        rows = "".join(
            f"<tr><td>{format_date(inv['created'])}</td>"
            f"<td>{money(inv['total'], inv['currency'])}</td><td>{escape(inv['status'])}</td></tr>"
            for inv in invoices
        )
        base = tx.base_url
    back = portal["return_url"]
    body = (
        (f'<p><a href="{escape(back)}">← Return to the app</a></p>' if back else "")
        + f"<h1>Manage your subscription</h1>"
        f'<p class="muted">{escape(customer.get("email") or portal["customer"])}</p>'
        + (cards or "<p>No subscriptions.</p>")
        + (
            '<h2>Billing history</h2><table><caption class="sr-only">Invoices</caption>'
            '<thead><tr><th scope="col">Date</th><th scope="col">Amount</th>'
            f'<th scope="col">Status</th></tr></thead><tbody>{rows}</tbody></table>'
            if rows
            else ""
        )
    )
    return page(base, "Customer portal", body)


def _change_plan(
    emulator: Emulator, request: Request, portal_id: str, action: str, body: bytes
) -> Response:
    """Resume at once; cancel only once confirmed, as Stripe's portal asks."""
    form = _form(body)
    if action not in ("cancel", "resume"):
        return _not_found(base_url(request), "Page")
    with emulator.transaction(request) as tx:
        portal = tx.get(portal_id)
        if portal is None or portal["object"] != "billing_portal.session":
            return _not_found(tx.base_url, "Portal session")
        sub = tx.get(form.get("subscription", ""))
        if sub is None or sub["object"] != "subscription" or sub["customer"] != portal["customer"]:
            return _not_found(tx.base_url, "Subscription")
        portal_url = f"{tx.base_url}/portal/{portal_id}"
        if action == "cancel" and form.get("confirm") != "yes" and sub["status"] != "canceled":
            return _confirm_cancel(tx, portal_url, sub)
        if sub["status"] != "canceled":
            cancel = "true" if action == "cancel" else "false"
            billing.update_subscription(tx, sub["id"], {"cancel_at_period_end": cancel})
    return RedirectResponse(portal_url, status_code=303)


def _confirm_cancel(tx: Tx, portal_url: str, sub: dict[str, Any]) -> HTMLResponse:
    names = ", ".join(
        escape((tx.get(item["price"]["product"]) or {}).get("name") or item["price"]["id"])
        for item in sub["items"]["data"]
    )
    end = format_date(billing.period_end(sub))
    body = (
        f"<h1>Cancel your {names} plan?</h1>"
        f"<p>Your plan stays active until <strong>{end}</strong>. After that it will not renew "
        "and you will not be charged again. You can resume it any time before then.</p>"
        f'<form method="post" action="{escape(portal_url)}/cancel">'
        f'<input type="hidden" name="subscription" value="{escape(sub["id"])}">'
        '<input type="hidden" name="confirm" value="yes">'
        '<button type="submit">Confirm cancellation</button></form>'
        f'<a class="back" href="{escape(portal_url)}">Go back, keep my plan</a>'
    )
    return page(tx.base_url, "Cancel plan", body)


def page_routes(emulator: Emulator) -> list[BaseRoute]:
    async def checkout(request: Request) -> Response:
        session_id = request.path_params["session_id"]
        if request.method == "GET":
            return await emulator.run(_show_checkout, emulator, request, session_id)
        body = await request.body()
        return await emulator.run(_pay, emulator, request, session_id, body)

    async def portal(request: Request) -> Response:
        return await emulator.run(_show_portal, emulator, request, request.path_params["portal_id"])

    async def portal_action(request: Request) -> Response:
        body = await request.body()
        params = request.path_params
        return await emulator.run(
            _change_plan, emulator, request, params["portal_id"], params["action"], body
        )

    async def stylesheet(request: Request) -> Response:
        return Response(
            STYLESHEET,
            media_type="text/css",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    return [
        Route("/assets/page.css", stylesheet, methods=["GET"]),
        Route("/checkout/{session_id}", checkout, methods=["GET", "POST"]),
        Route("/portal/{portal_id}", portal, methods=["GET"]),
        Route("/portal/{portal_id}/{action:str}", portal_action, methods=["POST"]),
    ]
