"""The draft editor: creating and editing drafts, totals, and every kind of bad input."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, TaxRate
from invoicing.services import MAX_LINES
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db


def rate(acme, percent="20"):
    with acme.ctx():
        return TaxRate.objects.get(organization=acme.org, percent=Decimal(percent))


def form_data(acme, lines, **header):
    """lines: (description, quantity, unit price, discount %, tax rate pk or "")."""
    data = {
        "action": "save", "customer": str(acme.customer.pk), "issue_date": timezone.localdate().isoformat(),
        "due_date": "", "reference": "", "discount_percent": "0", "notes": "", "terms": "",
        "lines-TOTAL_FORMS": str(len(lines)), "lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "500",
    }
    for i, (description, qty, price, disc, tax) in enumerate(lines):
        data.update({f"lines-{i}-description": description, f"lines-{i}-quantity": qty, f"lines-{i}-unit": "",
                     f"lines-{i}-unit_price": price, f"lines-{i}-discount_percent": disc,
                     f"lines-{i}-tax_rate": str(tax)})
    data.update(header)
    return data


def invoice_count(acme):
    with acme.ctx():
        return Invoice.objects.filter(organization=acme.org).count(), InvoiceLine.objects.count()


def test_new_invoice_page_lists_only_active_customers_of_this_org(acme):
    with acme.ctx():
        CustomerFactory(organization=acme.org, name="Archived Arches", archived_at=timezone.now())
    other, _ = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other):
        CustomerFactory(organization=other, name="Foreign Foods")
    page = acme.client(acme.finance).get(acme.url("invoice_create")).content.decode()
    assert "Bluebird Bakery" in page
    assert "Archived Arches" not in page and "Foreign Foods" not in page
    assert 'data-currency="EUR"' in page and 'data-terms="14"' in page  # for the live editor


def test_create_draft_computes_totals_and_defaults_due_date_from_terms(acme):
    r20 = rate(acme)
    data = form_data(acme, [("Design", "3", "33.333", "", r20.pk), ("Hosting", "1", "10", "0", "")],
                     reference="PO-77")
    response = acme.client(acme.finance).post(acme.url("invoice_create"), data)
    assert response.status_code == 302
    with acme.ctx():
        inv = Invoice.objects.get(organization=acme.org)
        assert inv.status == InvoiceStatus.DRAFT and inv.number is None and inv.currency == "EUR"
        assert inv.due_date == inv.issue_date + timedelta(days=14)
        assert (inv.subtotal, inv.tax_total, inv.total) == (Decimal("110.00"), Decimal("20.00"), Decimal("130.00"))
        assert [li.description for li in inv.lines.all()] == ["Design", "Hosting"]
        assert inv.reference == "PO-77" and inv.created_by == acme.finance
        assert inv.events.get().kind == "created"
    assert response.url == acme.url("invoice_detail", pk=inv.pk)


def test_blank_rows_are_dropped(acme):
    data = form_data(acme, [("Work", "1", "100", "", ""), ("", "", "", "", ""), ("", "", "", "0", "")])
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        assert InvoiceLine.objects.count() == 1


def test_recalculate_shows_totals_without_saving(acme):
    r20 = rate(acme)
    data = form_data(acme, [("Widget", "4", "25.00", "10", r20.pk)], action="recalculate", discount_percent="5")
    response = acme.client(acme.finance).post(acme.url("invoice_create"), data)
    assert response.status_code == 200
    page = response.content.decode()
    # gross 90.00, net 85.50, tax 17.10, total 102.60
    assert "90.00 EUR" in page and "102.60 EUR" in page and "17.10 EUR" in page
    assert invoice_count(acme) == (0, 0)


def test_add_line_without_javascript_keeps_what_was_typed(acme):
    data = form_data(acme, [("Typed line", "2", "7.5", "", "")], action="add_line")
    response = acme.client(acme.finance).post(acme.url("invoice_create"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="Typed line"' in page
    assert 'name="lines-TOTAL_FORMS" value="2"' in page
    assert invoice_count(acme) == (0, 0)


def test_edit_draft_replaces_lines(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer, [("Old", "1", "10", None), ("Older", "2", "5", None)])
    data = form_data(acme, [("New", "3", "4", "", "")], **{"lines-INITIAL_FORMS": "2"})
    page = acme.client(acme.finance).get(acme.url("invoice_edit", pk=inv.pk)).content.decode()
    assert 'value="Old"' in page and 'value="Older"' in page
    assert acme.client(acme.finance).post(acme.url("invoice_edit", pk=inv.pk), data).status_code == 302
    with acme.ctx():
        inv.refresh_from_db()
        assert [li.description for li in inv.lines.all()] == ["New"]
        assert inv.total == Decimal("12.00")


@pytest.mark.parametrize("lines, header, message", [
    ([], {}, "Add at least one line."),
    ([("", "", "", "", "")], {}, "Add at least one line."),
    ([("Work", "0", "10", "", "")], {}, "Enter a quantity greater than zero."),
    ([("Work", "-2", "10", "", "")], {}, "Enter a quantity greater than zero."),
    ([("Work", "1", "-5", "", "")], {}, "A price cannot be negative."),
    ([("Work", "1", "10", "101", "")], {}, "Enter a percentage from 0 to 100."),
    ([("Work", "1", "10", "-1", "")], {}, "Enter a percentage from 0 to 100."),
    ([("Work", "1.0001", "10", "", "")], {}, "no more than 3 decimal places"),
    ([("Work", "1", "10.00001", "", "")], {}, "no more than 4 decimal places"),
    ([("Work", "abc", "10", "", "")], {}, "Type numbers as 1,234.56"),
    ([("Work", "1,5", "10", "", "")], {}, "Type numbers as 1,234.56"),  # ambiguous: never read as 15
    ([("x" * 501, "1", "10", "", "")], {}, "at most 500 characters"),
    ([("Work", "1", "10", "", "")], {"discount_percent": "150"}, "Enter a percentage from 0 to 100."),
    ([("Work", "1", "10", "", "")], {"reference": "r" * 101}, "at most 100 characters"),
    ([("Work", "1", "10", "", "")], {"due_date": "2000-01-01"}, "The due date cannot be before the issue date."),
    ([("Work", "1", "10", "", "")], {"issue_date": "31/12/2025"}, "Enter a valid date."),
    ([("Work", "1", "10", "", "")], {"issue_date": "1990-01-01"}, "within the last ten years"),
    ([("Work", "999999999", "99999999999999", "", "")], {}, "beyond the largest amount"),
    ([("Work", "1", "10", "", "999999")], {}, "Choose one of your tax rates."),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(acme, lines, header, message):
    response = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(acme, lines, **header))
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert "Nothing was saved." in page
    assert invoice_count(acme) == (0, 0)


def test_another_orgs_customer_or_tax_rate_is_refused(acme):
    other, _ = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other):
        foreign = CustomerFactory(organization=other)
        foreign_rate = TaxRate.objects.filter(organization=other).first()
    page = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(
        acme, [("Work", "1", "10", "", "")], customer=str(foreign.pk))).content.decode()
    assert "Choose one of your active customers." in page
    page = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(
        acme, [("Work", "1", "10", "", foreign_rate.pk)])).content.decode()
    assert "Choose one of your tax rates." in page
    assert invoice_count(acme) == (0, 0)


def test_archived_customer_is_refused(acme):
    with acme.ctx():
        acme.customer.archived_at = timezone.now()
        acme.customer.save()
    page = acme.client(acme.finance).post(acme.url("invoice_create"),
                                          form_data(acme, [("Work", "1", "10", "", "")])).content.decode()
    assert "Choose one of your active customers." in page
    assert invoice_count(acme) == (0, 0)


def test_500_lines_are_accepted_and_501_refused(acme):
    lines = [(f"Line {n}", "1", "1.00", "", "") for n in range(MAX_LINES)]
    response = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(acme, lines))
    assert response.status_code == 302
    with acme.ctx():
        inv = Invoice.objects.get(organization=acme.org)
        assert inv.lines.count() == MAX_LINES and inv.total == Decimal("500.00")
    lines.append(("One too many", "1", "1.00", "", ""))
    page = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(acme, lines)).content.decode()
    assert "An invoice can have at most 500 lines." in page
    assert invoice_count(acme)[0] == 1


def test_ten_thousand_lines_change_nothing(acme):
    """Beyond what the form can carry: refused before any view code runs (400), nothing saved."""
    lines = [(f"Line {n}", "1", "1", "", "") for n in range(10_000)]
    response = acme.client(acme.finance).post(acme.url("invoice_create"), form_data(acme, lines))
    assert response.status_code == 400
    assert "at most 500 lines" in response.content.decode() and "Nothing was saved." in response.content.decode()
    assert invoice_count(acme) == (0, 0)


def test_forged_total_forms_beyond_the_limit_is_refused(acme):
    data = form_data(acme, [("Work", "1", "10", "", "")], **{"lines-TOTAL_FORMS": "100000"})
    page = acme.client(acme.finance).post(acme.url("invoice_create"), data).content.decode()
    assert "An invoice can have at most 500 lines." in page
    assert invoice_count(acme) == (0, 0)


def test_html_in_descriptions_and_notes_is_escaped(acme):
    evil = '<script>alert(1)</script><img src="file:///etc/passwd">'
    data = form_data(acme, [(evil, "1", "10", "", "")], notes=evil)
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        inv = Invoice.objects.get(organization=acme.org)
        assert inv.lines.get().description == evil  # stored as typed...
    page = acme.client(acme.viewer).get(acme.url("invoice_detail", pk=inv.pk)).content.decode()
    assert "<script>alert(1)</script>" not in page and '<img src="file:///etc/passwd">' not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # ...and shown as text
    edit = acme.client(acme.finance).get(acme.url("invoice_edit", pk=inv.pk)).content.decode()
    assert "<script>alert(1)</script>" not in edit


def test_editing_an_issued_invoice_by_forged_post_changes_nothing(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
        before = (inv.total, list(inv.lines.values_list("description", "quantity")))
    data = form_data(acme, [("Forged", "100", "1000", "", "")], **{"lines-INITIAL_FORMS": "1"})
    response = acme.client(acme.finance).post(acme.url("invoice_edit", pk=inv.pk), data, follow=True)
    assert "can no longer be edited" in response.content.decode()
    with acme.ctx():
        inv.refresh_from_db()
        assert (inv.total, list(inv.lines.values_list("description", "quantity"))) == before
        assert inv.status == InvoiceStatus.ISSUED


def test_save_draft_service_refuses_an_issued_invoice(acme):
    from invoicing.services import InvoiceError, save_draft

    with acme.ctx():
        inv = issued(acme.org, acme.customer)
        with pytest.raises(InvoiceError, match="can no longer be edited"):
            save_draft(acme.org, inv, {"customer": acme.customer}, [])


def test_another_orgs_draft_is_not_found(acme):
    other, other_owner = make_org()
    from ledger_site.tenancy import tenant_context

    with tenant_context(other, other_owner):
        foreign = draft(other, CustomerFactory(organization=other))
    client = acme.client(acme.finance)
    assert client.get(acme.url("invoice_edit", pk=foreign.pk)).status_code == 404
    assert client.post(acme.url("invoice_edit", pk=foreign.pk),
                       form_data(acme, [("x", "1", "1", "", "")])).status_code == 404
    assert client.get(acme.url("invoice_detail", pk=foreign.pk)).status_code == 404


def test_viewer_cannot_open_the_editor_or_post_it(acme):
    client = acme.client(acme.viewer)
    assert client.get(acme.url("invoice_create")).status_code == 403
    assert client.post(acme.url("invoice_create"), form_data(acme, [("x", "1", "1", "", "")])).status_code == 403
    assert invoice_count(acme) == (0, 0)


def test_new_invoice_from_the_customer_page_preselects_customer_and_due_date(acme):
    page = acme.client(acme.finance).get(acme.url("invoice_create") + f"?customer={acme.customer.pk}")
    html = page.content.decode()
    due = (timezone.localdate() + timedelta(days=14)).isoformat()
    assert f'value="{due}"' in html
    option = re.search(rf'<option value="{acme.customer.pk}"[^>]*>', html).group(0)
    assert "selected" in option and 'data-terms="14"' in option


def test_currency_follows_the_customer_including_zero_decimal_currencies(acme):
    with acme.ctx():
        yen = CustomerFactory(organization=acme.org, currency="JPY", payment_terms_days=30)
    data = form_data(acme, [("Tea", "3", "333.5", "", rate(acme).pk)], customer=str(yen.pk))
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        inv = Invoice.objects.get(customer=yen)
        # 3 × 333.5 = 1000.5 → 1001 (half away from zero, no decimals); tax 20% = 200.2 → 200
        assert (inv.currency, inv.subtotal, inv.tax_total, inv.total) == ("JPY", 1001, 200, 1201)


def test_delete_draft_asks_first_and_then_deletes(acme):
    with acme.ctx():
        inv = draft(acme.org, acme.customer)
    client = acme.client(acme.finance)
    confirm = client.get(acme.url("invoice_delete", pk=inv.pk))
    assert confirm.status_code == 200 and "Delete this draft?" in confirm.content.decode()
    assert invoice_count(acme)[0] == 1  # GET changes nothing
    assert client.post(acme.url("invoice_delete", pk=inv.pk)).status_code == 302
    assert invoice_count(acme) == (0, 0)


def test_issued_invoice_cannot_be_deleted(acme):
    with acme.ctx():
        inv = issued(acme.org, acme.customer)
    response = acme.client(acme.owner).post(acme.url("invoice_delete", pk=inv.pk), follow=True)
    assert "Only a draft can be deleted" in response.content.decode()
    assert invoice_count(acme)[0] == 1


def test_a_draft_page_does_not_call_the_draft_issued(acme):
    data = form_data(acme, [("Work", "1", "10", "", "")])
    assert acme.client(acme.finance).post(acme.url("invoice_create"), data).status_code == 302
    with acme.ctx():
        inv = Invoice.objects.get(organization=acme.org)
    page = acme.client(acme.viewer).get(acme.url("invoice_detail", pk=inv.pk)).content.decode()
    day = f"{inv.issue_date.day} {inv.issue_date:%b %Y}"
    assert f"to be dated {day}" in page and f"issued {day}" not in page
