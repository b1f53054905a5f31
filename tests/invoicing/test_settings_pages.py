"""Owner settings: tax rates and invoice settings (numbering pattern, layout, e-mail templates)."""

from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.models import InvoiceSettings, TaxRate
from invoicing.services import issue_invoice
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db

SETTINGS = {
    "invoice_prefix": "INV-", "credit_note_prefix": "CN-", "number_includes_year": "on", "number_padding": "5",
    "reset_yearly": "on", "paper_size": "A4", "payment_methods": "Bank transfer, card", "bank_details": "",
    "default_terms": "", "default_notes": "", "email_subject": "Invoice {number} from {organization}",
    "email_body": "Dear {customer}, see {link}. {amount_due} due on {due_date}.",
}


def test_tax_rates_page_adds_and_archives(acme):
    client = acme.client(acme.owner)
    page = client.get(acme.url("tax_rate_list")).content.decode()
    assert "Standard" in page and "Zero-rated" in page
    assert client.post(acme.url("tax_rate_list"), {"name": "Reduced", "percent": "13.5"}).status_code == 302
    with acme.ctx():
        reduced = TaxRate.objects.get(organization=acme.org, name="Reduced")
        assert reduced.percent == Decimal("13.5")
    client.post(acme.url("tax_rate_archive", pk=reduced.pk), {"archive": "1"})
    with acme.ctx():
        reduced.refresh_from_db()
        assert reduced.archived
    editor = acme.client(acme.finance).get(acme.url("invoice_create")).content.decode()
    assert "Reduced" not in editor and "Standard" in editor


@pytest.mark.parametrize("data, message", [
    ({"name": "Too high", "percent": "100.01"}, "Enter a percentage from 0 to 100."),
    ({"name": "Negative", "percent": "-1"}, "Enter a percentage from 0 to 100."),
    ({"name": "Precise", "percent": "1.00001"}, "no more than 4 decimal places"),
    ({"name": "standard", "percent": "21"}, "A tax rate with this name exists already."),
    ({"name": "", "percent": "5"}, "This field is required."),
])
def test_tax_rate_bad_input(acme, data, message):
    page = acme.client(acme.owner).post(acme.url("tax_rate_list"), data).content.decode()
    assert message in page
    with acme.ctx():
        assert TaxRate.objects.filter(organization=acme.org).count() == 2


def test_settings_pages_are_for_owners_and_appear_as_tabs(acme):
    assert acme.client(acme.finance).get(acme.url("invoice_settings")).status_code == 403
    assert acme.client(acme.finance).get(acme.url("tax_rate_list")).status_code == 403
    page = acme.client(acme.owner).get(acme.url("org_settings")).content.decode()
    assert f'href="{acme.url("invoice_settings")}"' in page and f'href="{acme.url("tax_rate_list")}"' in page


def test_invoice_settings_save_and_the_next_number_example(acme):
    year = timezone.localdate().year
    client = acme.client(acme.owner)
    assert f"INV-{year}-00001" in client.get(acme.url("invoice_settings")).content.decode()
    data = dict(SETTINGS, invoice_prefix="F", number_padding="3", reset_yearly="", number_includes_year="",
                paper_size="Letter", bank_details="IBAN DE00 1234")
    assert client.post(acme.url("invoice_settings"), data).status_code == 302
    with acme.ctx():
        settings = InvoiceSettings.objects.get(organization=acme.org)
        assert (settings.invoice_prefix, settings.number_padding, settings.paper_size) == ("F", 3, "Letter")
    assert "F001" in client.get(acme.url("invoice_settings")).content.decode()
    with acme.ctx():
        inv = issue_invoice(draft(acme.org, acme.customer))
        assert inv.number == "F001"
    assert "F002" in client.get(acme.url("invoice_settings")).content.decode()
    editor = acme.client(acme.finance).get(acme.url("invoice_create")).content.decode()
    assert "IBAN DE00 1234" in editor  # payment instructions shown while editing


@pytest.mark.parametrize("changes, message", [
    ({"email_subject": "Invoice {number.__class__}"}, "Unknown placeholder(s): {number.__class__}"),
    ({"email_body": "Hello {name}"}, "Unknown placeholder(s): {name}"),
    ({"email_body": "Hello {customer"}, "Unbalanced braces"),
    ({"number_padding": "11"}, "less than or equal to 10"),
    ({"invoice_prefix": "IN V"}, "Use letters, digits"),
    ({"reset_yearly": "on", "number_includes_year": ""}, "only if they include the year"),
    ({"paper_size": "A3"}, "Select a valid choice."),
])
def test_invoice_settings_bad_input(acme, changes, message):
    page = acme.client(acme.owner).post(acme.url("invoice_settings"), dict(SETTINGS, **changes)).content.decode()
    assert message in page
    with acme.ctx():
        assert InvoiceSettings.objects.get(organization=acme.org).invoice_prefix == "INV-"


def test_a_pattern_change_that_would_repeat_used_numbers_is_refused(acme):
    year = timezone.localdate().year
    with acme.ctx():
        first = issued(acme.org, acme.customer)
        issued(acme.org, acme.customer)
    assert first.number == f"INV-{year}-00001"
    # switching to a continuous series (its own counter, at 0) would hand out INV-<year>-00001 again
    data = dict(SETTINGS, reset_yearly="")
    page = acme.client(acme.owner).post(acme.url("invoice_settings"), data).content.decode()
    assert "already used" in page
    with acme.ctx():
        assert InvoiceSettings.objects.get(organization=acme.org).reset_yearly is True
    # with a new prefix the continuous series is fine
    assert acme.client(acme.owner).post(acme.url("invoice_settings"),
                                        dict(data, invoice_prefix="B-")).status_code == 302
