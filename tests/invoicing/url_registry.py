"""How the URL × role matrix (tests/urlmatrix.py) builds and posts the invoicing pages."""

import uuid
from decimal import Decimal

from django.utils import timezone

from invoicing.models import TaxRate
from invoicing.services import set_dispute
from tests.invoicing_helpers import draft, issued
from tests.urlmatrix import register_object, register_url


@register_object("draft_invoice")
def _draft(world):
    return draft(world.org, world.get("customer"), actor=world.owner)


@register_object("issued_invoice")
def _issued(world):
    return issued(world.org, world.get("customer"), actor=world.owner)


@register_object("disputed_invoice")
def _disputed(world):
    return set_dispute(issued(world.org, world.get("customer"), actor=world.owner), "hours", actor=world.owner)


@register_object("credit_note")
def _credit_note(world):
    from invoicing.credit_notes import credit_amount

    return credit_amount(world.get("customer"), Decimal("5.00"), "goodwill", actor=world.owner)


@register_object("tax_rate")
def _tax_rate(world):
    return TaxRate.objects.create(organization=world.org, name="Matrix rate", percent=Decimal("7"))


def invoice_form(world, description="Posted work"):
    return {
        "action": "save", "customer": world.get("customer").pk, "issue_date": timezone.localdate().isoformat(),
        "due_date": "", "reference": "PO-1", "discount_percent": "0", "notes": "", "terms": "",
        "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500", "lines-0-description": description, "lines-0-quantity": "2",
        "lines-0-unit": "h", "lines-0-unit_price": "50", "lines-0-discount_percent": "0", "lines-0-tax_rate": "",
    }


def _key():
    return uuid.uuid4().hex


register_url("invoice_create", post=invoice_form)
register_url("invoice_detail", pk="draft_invoice")
register_url("invoice_edit", pk="draft_invoice", post=lambda w: invoice_form(w, "Edited work"))
register_url("invoice_delete", pk="draft_invoice", post=lambda w: {})
register_url("invoice_issue", pk="draft_invoice", post=lambda w: {})
register_url("invoice_void", pk="issued_invoice", post=lambda w: {"reason": "wrong customer"})
register_url("invoice_write_off", pk="issued_invoice",
             post=lambda w: {"amount": "10.00", "reason": "small balance", "idempotency_key": _key()})
register_url("invoice_dispute", pk="issued_invoice", post=lambda w: {"reason": "hours too high", "until": ""})
register_url("invoice_resolve_dispute", pk="disputed_invoice", post=lambda w: {})
register_url("invoice_duplicate", pk="issued_invoice", post=lambda w: {})
register_url("invoice_credit", pk="issued_invoice",
             post=lambda w: {"mode": "amount", "amount-amount": "10.00", "amount-tax_percent": "0",
                             "amount-reason": "goodwill", "amount-idempotency_key": _key(),
                             "confirm": "1", "reviewed_total": "10.00"})
register_url("credit_note_detail", pk="credit_note")
register_url("credit_note_create", customer_pk="customer",
             post=lambda w: {"amount": "5.00", "tax_percent": "0", "reason": "goodwill",
                             "idempotency_key": _key()})
register_url("tax_rate_list", post=lambda w: {"name": "Reduced", "percent": "9"})
register_url("tax_rate_archive", pk="tax_rate", post=lambda w: {"archive": "1"})
register_url("invoice_settings", post=lambda w: {
    "invoice_prefix": "F-", "credit_note_prefix": "CN-", "number_includes_year": "on", "number_padding": "4",
    "reset_yearly": "on", "paper_size": "Letter", "payment_methods": "Bank transfer", "bank_details": "IBAN X",
    "default_terms": "", "default_notes": "", "email_subject": "Invoice {number}",
    "email_body": "Dear {customer}, {link}",
})


@register_object("item")
def _item(world):
    from invoicing.items import save_item

    return save_item(world.org, None, {"code": "MATRIX", "name": "Matrix item", "description": "", "unit": "",
                                       "tax_rate": None}, {})


register_url("item_list")
register_url("item_create", post=lambda w: {"code": "NEW-1", "name": "New item", "description": "", "unit": "",
                                            "tax_rate": "", "price_EUR": "10"})
register_url("item_edit", pk="item", post=lambda w: {"code": "MATRIX", "name": "Renamed", "description": "",
                                                     "unit": "", "tax_rate": "", "price_EUR": "10"})
register_url("item_archive", pk="item", post=lambda w: {"archive": "1"})
register_url("item_lookup")


@register_object("schedule")
def _schedule(world):
    from datetime import date

    from invoicing.recurring import save_schedule

    return save_schedule(world.org, None, {
        "customer": world.get("customer"), "name": "Matrix schedule", "frequency": "monthly", "interval": 1,
        "day_of_month": 1, "start_date": date(2026, 1, 1), "end_date": None, "max_count": None, "action": "issue",
        "payment_terms_days": 14, "reference": "", "notes": ""},
        [{"description": "Support", "quantity": Decimal("1"), "unit_price": Decimal("10"), "tax_rate": None}])


def schedule_form(world, name="Matrix monthly"):
    return {"do": "save", "customer": world.get("customer").pk, "name": name, "frequency": "monthly",
            "interval": "1", "day_of_month": "1", "start_date": timezone.localdate().isoformat(), "end_date": "",
            "max_count": "", "action": "issue", "payment_terms_days": "14", "reference": "", "notes": "",
            "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "500", "lines-0-description": "Support", "lines-0-quantity": "1",
            "lines-0-unit": "", "lines-0-unit_price": "10", "lines-0-discount_percent": "0", "lines-0-tax_rate": ""}


register_url("schedule_list")
register_url("schedule_create", post=schedule_form)
register_url("schedule_detail", pk="schedule")
register_url("schedule_edit", pk="schedule", post=lambda w: schedule_form(w, "Renamed"))
register_url("schedule_pause", pk="schedule", post=lambda w: {"pause": "1"})
register_url("schedule_run", pk="schedule", post=lambda w: {})


def _quote(world, send=False, accept=False):
    from invoicing.quotes import decide, save_quote, send_quote

    today = timezone.localdate()
    quote = save_quote(world.org, None, {"customer": world.get("customer"), "issue_date": today,
                                         "valid_until": today, "reference": "", "notes": ""},
                       [{"description": "Work", "quantity": Decimal("1"), "unit_price": Decimal("10"),
                         "tax_rate": None}])
    if send:
        quote = send_quote(quote)
    if accept:
        quote = decide(quote, True, "192.0.2.1")[0]
    return quote


register_object("quote")(lambda w: _quote(w))
register_object("accepted_quote")(lambda w: _quote(w, send=True, accept=True))
register_object("sent_quote")(lambda w: _quote(w, send=True))


def quote_form(world, description="Quoted work"):
    today = timezone.localdate().isoformat()
    return {"do": "save", "customer": world.get("customer").pk, "issue_date": today, "valid_until": today,
            "reference": "", "notes": "", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "500", "lines-0-description": description,
            "lines-0-quantity": "1", "lines-0-unit": "", "lines-0-unit_price": "10", "lines-0-discount_percent": "0",
            "lines-0-tax_rate": ""}


register_url("quote_list")
register_url("quote_create", post=quote_form)
register_url("quote_detail", pk="quote")
register_url("quote_edit", pk="quote", post=lambda w: quote_form(w, "Edited"))
register_url("quote_send", pk="quote", post=lambda w: {})
register_url("quote_convert", pk="accepted_quote", post=lambda w: {})
register_url("quote_schedule", pk="accepted_quote", post=lambda w: {})
register_url("quote_email", pk="sent_quote",
             post=lambda w: {"recipients": "ap@example.com", "subject": "Quote {number}", "body": "{link}"})
register_url("quote_pdf", pk="quote")

register_url("einvoice_page", pk="issued_invoice")
register_url("einvoice_xml", pk="issued_invoice", get_status=409)
register_url("einvoice_pdf", pk="issued_invoice", get_status=409)
register_url("einvoice_ubl", pk="issued_invoice", get_status=409)
# The sweep's organization has no address or VAT id: every e-invoice file is refused with the list.
register_url("credit_note_einvoice_page", pk="credit_note")
register_url("credit_note_einvoice_xml", pk="credit_note", get_status=409)
register_url("credit_note_einvoice_pdf", pk="credit_note", get_status=409)
register_url("credit_note_einvoice_ubl", pk="credit_note", get_status=409)


@register_object("bulk_draft")
def _bulk_draft(world):
    return draft(world.org, world.get("customer"), actor=world.owner)


# A GET goes back to the list; the POST issues the ticked draft after the one confirmation.
register_url("invoice_bulk", get_status=302,
             post=lambda w: {"action": "issue", "confirm": "1", "ids": [w.get("bulk_draft").pk]})
# The matrix organization has no country: the POST says so and adds nothing.
register_url("tax_rate_propose", post=lambda w: {}, post_changes=False)


@register_object("bulk_job")
def _bulk_job(world):
    from invoicing.models import BulkJob

    return BulkJob.objects.create(organization=world.org, started_by=world.owner, action="delete",
                                  query="status=draft", token=uuid.uuid4().hex)


# A "select all matching" job's progress / summary page and its outcomes CSV (finance staff and owners).
register_url("invoice_bulk_job", pk="bulk_job", methods=["GET"])
register_url("invoice_bulk_job_csv", pk="bulk_job", methods=["GET"])
