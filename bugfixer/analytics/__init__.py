"""Product events: what visitors and customers did, for the operator's dashboard.

Append-only rows (time, kind, browser, account, a few JSON properties; never an IP
address or a line of code), written by the unit of work whose action they record, so an
event exists exactly when its action committed. Page views are the exception: a view
changes nothing, so views are batched off the request path (``views.py``).
"""
