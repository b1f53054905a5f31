"""Quotes: drafting, sending (the number and the signed link), the customer's decision, the PDF
and the conversion to an invoice. Quotes never post to the ledger: nothing here calls
accounts.ledger; the invoice a quote becomes is an ordinary draft, issued the usual way.

Numbers: "Q-" + the invoice settings' year and padding, from the same gapless series table as
invoices (kind "quote"), taken inside the sending transaction: no gaps, no duplicates.

The public link carries `<org id>.<quote id>.<nonce>` signed (django.core.signing, own salt),
like invoice links (invoicing.public): the signature is checked before any query, then the
organization's tenant context is entered and the quote looked up by id and nonce under RLS.

The decision and the conversion each run under the quote's row lock and are decided by its
state: a second click, a second tab or a retried request finds the first outcome and changes
nothing (`decide` and `convert_to_invoice` say whether they changed anything).
"""

import secrets
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.locale import format_day, in_language, plain
from accounts.money import format_money
from invoicing.models import InvoiceSettings
from invoicing.models_quotes import Quote, QuoteLine, QuoteStatus
from invoicing.numbering import NEXT_NUMBER
from invoicing.totals import sum_lines

SALT = "ledgerline.invoicing.quote-link"
PREFIX = "Q-"
MAX_LINES = 500
_TAKE = ("INSERT INTO invoicing_numberseries (organization_id, kind, year, last_number) "  # noqa: S608 - constants
         "VALUES (%s, 'quote', %s, 1)" + NEXT_NUMBER)


class QuoteError(LedgerError):
    """A refused quote action; nothing was changed."""


# --- drafting ----------------------------------------------------------------------------

@transaction.atomic
def save_quote(org, quote: Quote | None, fields: dict, lines: list[dict], actor=None) -> Quote:
    """Create a draft quote or replace a draft's fields and lines; totals by invoicing.totals."""
    customer = fields["customer"]
    if customer.organization_id != org.pk:
        raise QuoteError(_("That customer belongs to another organization."))
    if not lines or len(lines) > MAX_LINES:
        raise QuoteError(_("A quote has 1 to %(n)s lines.") % {"n": MAX_LINES})
    if fields["valid_until"] < fields["issue_date"]:
        raise QuoteError(_("“Valid until” is before the quote's date."))
    if any(li.get("item") is not None and li["item"].organization_id != org.pk for li in lines):
        raise QuoteError(_("That item belongs to another organization."))
    if quote is None:
        quote = Quote(organization=org, created_by=actor)
    else:
        quote = Quote.objects.select_for_update().get(pk=quote.pk, organization=org)
        if quote.status != QuoteStatus.DRAFT:
            raise QuoteError(_("Quote %(number)s is sent and can no longer be edited.") % {"number": quote.number})
    for name, value in fields.items():
        setattr(quote, name, value)
    quote.currency = customer.currency
    rows, amounts = [], []
    for n, li in enumerate(lines, start=1):
        row = QuoteLine.from_entry(org, n, li)
        a = row.amounts(quote.currency)
        row.tax_percent, row.gross_amount, row.tax_amount = row.rate_percent(), a.gross, a.tax
        amounts.append((row.tax_percent, a))
        rows.append(row)
    totals = sum_lines(amounts)
    quote.subtotal, quote.tax_total, quote.total = totals.subtotal, totals.tax, totals.total
    quote.save()
    quote.lines.all().delete()
    for row in rows:
        row.quote = quote
    QuoteLine.objects.bulk_create(rows)
    return quote


def _locked(quote_id: int) -> Quote:
    return Quote.objects.select_for_update(of=("self",)).select_related("customer", "organization").get(pk=quote_id)


def format_quote_number(inv_settings: InvoiceSettings, year: int, n: int) -> str:
    middle = f"{year}-" if inv_settings.number_includes_year else ""
    return f"{PREFIX}{middle}{n:0{inv_settings.number_padding}d}"


@transaction.atomic
def send_quote(quote: Quote, actor=None) -> Quote:
    """Number a draft and open its signed link (idempotent: a sent quote is returned as it is)."""
    quote = _locked(quote.pk)
    if quote.status != QuoteStatus.DRAFT:
        return quote
    if not quote.lines.exists():
        raise QuoteError(_("Add at least one line before sending."))
    inv_settings = InvoiceSettings.objects.get(organization_id=quote.organization_id)
    year = quote.issue_date.year if inv_settings.reset_yearly else 0
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [quote.organization_id, year])
        (n,) = cursor.fetchone()
    quote.number = format_quote_number(inv_settings, quote.issue_date.year, n)
    quote.status, quote.sent_at, quote.nonce = QuoteStatus.SENT, timezone.now(), secrets.token_urlsafe(24)
    quote.save(update_fields=["number", "status", "sent_at", "nonce"])
    return quote


# --- the signed link and the customer's decision -----------------------------------------

def make_token(quote: Quote) -> str:
    return signing.Signer(salt=SALT, algorithm="sha256").sign(f"{quote.organization_id}.{quote.pk}.{quote.nonce}")


def parse_token(token: str) -> tuple[int, int, str] | None:
    if not token or len(token) > 200:
        return None
    try:
        value = signing.Signer(salt=SALT, algorithm="sha256").unsign(token)
    except signing.BadSignature:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not parts[2]:
        return None
    return int(parts[0]), int(parts[1]), parts[2]


def link_path(quote: Quote) -> str:
    return reverse("public_quote", kwargs={"token": make_token(quote)})


def find(quote_id: int, nonce: str) -> Quote | None:
    """The sent quote a token names (call inside its organization's tenant context)."""
    return (Quote.objects.filter(pk=quote_id, nonce=nonce).exclude(status=QuoteStatus.DRAFT)
            .select_related("customer", "organization").first())


@transaction.atomic
def decide(quote: Quote, accept: bool, ip: str | None, today: date | None = None) -> tuple[Quote, bool]:
    """The customer accepts or declines a sent quote: recorded once with the time and IP. Returns
    (quote, changed); a second decision changes nothing. An expired quote cannot be accepted."""
    quote = _locked(quote.pk)
    if quote.status in (QuoteStatus.ACCEPTED, QuoteStatus.DECLINED):
        return quote, False
    if quote.status != QuoteStatus.SENT:
        raise QuoteError(_("This quote cannot be answered."))
    if accept and quote.is_expired_on(today or quote.organization.today()):
        raise QuoteError(_("This quote expired on %(date)s; ask for a new one.")
                         % {"date": format_day(quote.valid_until)})
    quote.status = QuoteStatus.ACCEPTED if accept else QuoteStatus.DECLINED
    quote.decided_at, quote.decided_ip = timezone.now(), ip
    quote.save(update_fields=["status", "decided_at", "decided_ip"])
    return quote, True


# --- conversion ------------------------------------------------------------------------------

@transaction.atomic
def convert_to_invoice(quote: Quote, actor=None) -> tuple:
    """An accepted quote becomes a draft invoice with its lines (and their items), once: the
    quote keeps the invoice, a second conversion returns it. Returns (invoice, created)."""
    from invoicing.services import record_event, save_draft

    quote = _locked(quote.pk)
    if quote.invoice_id is not None:
        return quote.invoice, False
    if quote.status != QuoteStatus.ACCEPTED:
        raise QuoteError(_("Only an accepted quote can become an invoice."))
    if quote.customer.is_archived:
        raise QuoteError(_("The customer is archived; restore it before invoicing."))
    today = quote.organization.today()
    fields = {"customer": quote.customer, "issue_date": today,
              "due_date": today + timezone.timedelta(days=quote.customer.payment_terms_days),
              "reference": (quote.reference or quote.number)[:100], "discount_percent": Decimal(0),
              "notes": quote.notes, "terms": InvoiceSettings.objects.get(organization_id=quote.organization_id)
              .default_terms}
    lines = [li.entry() for li in quote.lines.select_related("tax_rate", "item")]
    invoice = save_draft(quote.organization, None, fields, lines, actor=actor)
    record_event(invoice, "from_quote", _("From quote %(number)s, accepted %(date)s")
                 % {"number": quote.number, "date": format_day(quote.decided_at)},
                 actor)
    quote.invoice, quote.converted_at = invoice, timezone.now()
    quote.save(update_fields=["invoice", "converted_at"])
    return invoice, True


@transaction.atomic
def convert_to_schedule(quote: Quote, actor=None) -> tuple:
    """An accepted quote becomes a recurring schedule with its lines (and their items), once: the
    quote keeps the schedule (`Quote.schedule`, `schedule.source_quote` the other way), a second
    conversion returns it. Monthly from the organization's today, on today's day of the month,
    each run creating a draft for review (nothing is issued before someone looks); the schedule's
    editor changes any of it. Returns (schedule, created)."""
    from invoicing.models_recurring import Frequency, RunAction
    from invoicing.recurring import save_schedule

    quote = _locked(quote.pk)
    if quote.schedule_id is not None:
        return quote.schedule, False
    if quote.status != QuoteStatus.ACCEPTED:
        raise QuoteError(_("Only an accepted quote can become a recurring schedule."))
    if quote.customer.is_archived:
        raise QuoteError(_("The customer is archived; restore it before invoicing."))
    today = quote.organization.today()
    fields = {"customer": quote.customer, "name": (_("%(customer)s: quote %(number)s")
                                                   % {"customer": quote.customer.name, "number": quote.number})[:100],
              "frequency": Frequency.MONTHLY, "interval": 1, "day_of_month": today.day, "start_date": today,
              "end_date": None, "max_count": None, "action": RunAction.DRAFT,
              "payment_terms_days": quote.customer.payment_terms_days,
              "reference": (quote.reference or quote.number)[:100], "notes": quote.notes}
    lines = [li.entry() for li in quote.lines.select_related("tax_rate", "item")]
    schedule = save_schedule(quote.organization, None, fields, lines, actor=actor)
    quote.schedule = schedule
    quote.save(update_fields=["schedule"])
    return schedule, True


# --- the PDF ---------------------------------------------------------------------------------

def render_quote_html(quote: Quote) -> str:

    org, customer = quote.organization, quote.customer
    inv_settings = InvoiceSettings.objects.get(organization_id=quote.organization_id)
    cur = quote.currency
    lines = list(quote.lines.all())
    summary = sum_lines([(li.tax_percent, li.amounts(cur, tax_percent=li.tax_percent)) for li in lines]).tax_summary
    from invoicing.pdf import language_of

    with in_language(language_of(quote)):  # the customer's language (issue 17)
        return render_to_string("invoicing/pdf/quote.html", _quote_context(quote, org, customer, inv_settings,
                                                                           cur, lines, summary))


def _quote_context(quote, org, customer, inv_settings, cur, lines, summary) -> dict:
    from invoicing.pdf import _unit_price

    return {
        "quote": quote, "number": quote.number or "",
        "paper": "letter" if inv_settings.paper_size == "Letter" else "A4",
        "seller": {"name": org.name, "address": org.address, "tax_id": org.tax_id},
        "buyer": {"name": customer.name, "address": customer.billing_address, "tax_id": customer.tax_id,
                  "code": customer.code, "contact": customer.contact_person, "emails": ", ".join(customer.email_list)},
        "watermark": _("DRAFT") if quote.status == QuoteStatus.DRAFT else "",
        "lines": [{"n": n, "description": li.description, "quantity": plain(li.quantity), "unit": li.unit,
                   "unit_price": _unit_price(li.unit_price, cur), "tax": plain(li.tax_percent),
                   "discount": plain(li.discount_percent) if li.discount_percent else "",
                   "amount": format_money(li.gross_amount, cur)} for n, li in enumerate(lines, start=1)],
        "show_discount_column": any(li.discount_percent for li in lines),
        "tax_summary": [{"rate": plain(p), "base": format_money(b, cur), "tax": format_money(t, cur)}
                        for p, b, t in summary],
        "subtotal": format_money(quote.subtotal, cur), "tax_total": format_money(quote.tax_total, cur),
        "total": format_money(quote.total, cur),
        "link": settings.PUBLIC_BASE_URL + link_path(quote) if quote.nonce else "",
    }


def render_quote_pdf(quote: Quote) -> bytes:
    from invoicing.pdf import html_to_pdf, invoice_stylesheet

    return html_to_pdf(render_quote_html(quote), stylesheets=[invoice_stylesheet()])


# --- e-mail ----------------------------------------------------------------------------------

EMAIL_SUBJECT = "Quote {number} from {organization}"
EMAIL_BODY = ("Dear {customer},\n\nplease find our quote {number} for {total} attached, valid until {valid_until}."
              "\n\nYou can read it and accept or decline it here:\n{link}\n\nKind regards,\n{organization}")


def quote_values(quote: Quote, link: str | None = None) -> dict:
    values = {"customer": quote.customer.name, "number": quote.number or "",
              "total": format_money(quote.total, quote.currency),
              "valid_until": format_day(quote.valid_until, quote.organization.locale),
              "organization": quote.organization.name}
    if link is not None:
        values["link"] = link
    return values


def draft_quote_message(quote: Quote) -> dict:
    """The send form's initial values; {link} is filled in when the e-mail is queued."""
    from invoicing.mail import fill, one_line

    values = quote_values(quote)
    return {"recipients": ", ".join(quote.customer.email_list),
            "subject": one_line(fill(_(EMAIL_SUBJECT), values)), "body": fill(_(EMAIL_BODY), values)}


def stored_quote_pdf(quote: Quote):
    """The sent quote's PDF, rendered and stored once per state (number, link, amounts, layout):
    the e-mail attaches exactly what was stored, and the delivery log keeps its hash."""
    import hashlib
    import json

    from invoicing.models_documents import DocumentKind
    from invoicing.pdf import TEMPLATE_VERSION, _store_once

    inv_settings = InvoiceSettings.objects.get(organization_id=quote.organization_id)
    state = {"v": TEMPLATE_VERSION, "quote": quote.pk, "number": quote.number, "nonce": quote.nonce,
             "total": str(quote.total), "valid_until": str(quote.valid_until), "paper": inv_settings.paper_size,
             "logo": inv_settings.logo.name if inv_settings.logo else ""}
    key = hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    name = (quote.number or f"quote-{quote.pk}").replace("/", "-")
    return _store_once(quote.organization_id, DocumentKind.QUOTE, key, lambda: render_quote_pdf(quote),
                       customer=quote.customer, filename=f"quote-{name}.pdf")


@transaction.atomic
def queue_quote_email(quote: Quote, recipients: list[str], subject: str, body: str, actor=None,
                      base_url: str = ""):
    """E-mail a sent quote through the documents' delivery path (invoicing.mail): its PDF attached,
    its signed link in the text ({link}), logged in the delivery log and retried like an invoice's.
    Drafts have no number and no link: refused."""
    from invoicing.mail import BACKOFF, fill, one_line, queue_delivery
    from invoicing.models_documents import DeliveryKind, EmailDelivery

    quote = _locked(quote.pk)
    if quote.status == QuoteStatus.DRAFT or not quote.nonce:
        raise QuoteError(_("Number the quote and get its link before e-mailing it."))
    values = quote_values(quote, link=base_url.rstrip("/") + link_path(quote))
    document = stored_quote_pdf(quote)
    delivery = EmailDelivery.objects.create(
        organization_id=quote.organization_id, kind=DeliveryKind.QUOTE, quote=quote, customer_id=quote.customer_id,
        document=document, pdf_sha256=document.sha256, recipients=list(recipients),
        subject=one_line(fill(subject, values)), body=fill(body, values)[:10000],
        created_by=actor if getattr(actor, "pk", None) else None, max_attempts=len(BACKOFF) + 1)
    queue_delivery(delivery)
    return delivery

