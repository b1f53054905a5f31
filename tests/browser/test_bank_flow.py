"""In a real browser: import a CAMT.053 file (preview, then commit), open the credit line, see the
explained suggestion, confirm it, and see the invoice paid and the line matched, then reconciled.
Importing the same file again adds nothing. Screenshots at 1366x900 and 390x844."""

from datetime import timedelta

import pytest
from django.utils import timezone

from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from payments.models_bank import BankLine
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, camt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def camt_statement_org(transactional_db, tmp_path):
    org, owner = make_org(name="Browser Bank", slug="browser-bank")
    today = timezone.localdate()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Maple Joinery", code="MAPLE")
        invoice = issued(org, customer, [("Cabinets", "1", "240.00", None)], issue_date=today - timedelta(days=20),
                         due_date=today + timedelta(days=10))
        account = bank_account(org)
    path = tmp_path / "statement.xml"
    path.write_bytes(camt([("240.00", "Maple Joinery Ltd", f"Payment for {invoice.number}", "BK-1",
                            "DE44500105175407324931"), ("-9.90", "Bank", "Account fee", "BK-2")], opening="500.00"))
    return org, owner, invoice, account, path


def test_import_camt_confirm_suggestion_invoice_paid_line_reconciled(camt_statement_org, live_server, page, capture):
    org, owner, invoice, account, path = camt_statement_org
    base = f"/o/{org.slug}/payments/bank/{account.pk}"
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, owner.email)

    page.goto(f"{base}/import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview')")
    page.wait_for_url("**/bank/imports/*/")
    assert page.inner_text("[data-testid=new-lines]") == "2"
    assert page.inner_text("[data-testid=duplicates]") == "0"
    capture(page, "bank-import-preview")
    page.click("button:has-text('Import 2 lines')")
    page.wait_for_url(f"**{base}/")
    assert "Imported 2 new line(s)" in page.content()
    capture(page, "bank-account-lines")

    page.click("[data-testid=bank-lines] tr:has-text('Maple Joinery Ltd') a >> nth=0")
    page.wait_for_url("**/bank/lines/*/")
    suggestion = page.locator("[data-testid=suggestions] .suggestion").first
    assert f"invoice {invoice.number} is named in the remittance text" in suggestion.inner_text()
    assert suggestion.locator(".suggestion-score").inner_text() == "95"
    capture(page, "bank-line-suggestions")
    page.set_viewport_size({"width": 390, "height": 844})
    capture(page, "bank-line-suggestions-phone")
    page.set_viewport_size({"width": 1366, "height": 900})
    suggestion.locator("button:has-text('Confirm')").click()
    page.wait_for_selector("[data-testid=match]")
    assert page.inner_text("[data-testid=line-status]") == "Matched"
    capture(page, "bank-line-matched")

    page.goto(f"/o/{org.slug}/invoices/{invoice.pk}/")
    assert page.locator("[data-status=paid]").count() >= 1

    page.goto(f"{base}/reconciliation/")
    assert page.inner_text("[data-testid=statement-balance]") == "730.10 EUR"
    assert page.inner_text("[data-testid=book-balance]") == "240.00 EUR"
    page.click("button:has-text('Mark reconciled')")
    page.wait_for_url(f"**{base}/reconciliation/")
    assert "1 line(s) marked reconciled" in page.content()
    capture(page, "bank-reconciliation")
    page.set_viewport_size({"width": 390, "height": 844})
    capture(page, "bank-reconciliation-phone")

    # The same file again: the preview says both lines are known, committing adds nothing.
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("button:has-text('Preview')")
    page.wait_for_url("**/bank/imports/*/")
    assert page.inner_text("[data-testid=duplicates]") == "2"
    assert page.inner_text("[data-testid=new-lines]") == "0"

    with tenant_context(org, owner):
        assert Invoice.objects.get(pk=invoice.pk).amount_due == 0
        assert Payment.objects.filter(organization=org).count() == 1
        line = BankLine.objects.get(amount=240)
        assert (line.status, line.matched_by_id, line.reconciled_by_id) == ("reconciled", owner.pk, owner.pk)
        assert BankLine.objects.count() == 2


def test_a_bad_file_shows_its_message_and_imports_nothing(camt_statement_org, live_server, page, tmp_path):
    org, owner, invoice, account, path = camt_statement_org
    bomb = tmp_path / "bomb.xml"
    bomb.write_bytes(b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Document>&b;'
                     b"</Document>")
    sign_in(page, owner.email)
    page.goto(f"/o/{org.slug}/payments/bank/{account.pk}/import/")
    page.set_input_files("input[name=file]", str(bomb))
    page.click("button:has-text('Preview')")
    assert "declares a DTD or entities" in page.inner_text("[data-testid=import-error]")
    with tenant_context(org, owner):
        assert BankLine.objects.count() == 0
