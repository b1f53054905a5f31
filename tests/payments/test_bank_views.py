"""Bank pages through the test client: upload → preview → commit, the CSV mapping form listing the
file's columns on a mistake, a large file handed to the background job with a progress page,
confirm and undo from the line page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from ledger_site.tenancy import tenant_context
from payments import bank
from payments.models import Payment
from payments.models_bank import BankLine, StatementImport
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.payments.bank_helpers import bank_account, camt

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank_views_org():
    org, owner = make_org()
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="Maple Joinery")
        invoice = issued(org, customer, [("Work", "1", "80.00", None)])
        account = bank_account(org)
    client = Client()
    client.force_login(finance)

    def url(name, **kw):
        return reverse(name, kwargs={"org_slug": org.slug, **kw})

    return org, owner, account, invoice, client, url


def look(org, owner):
    return tenant_context(org, owner)


def test_upload_preview_commit_confirm_undo(bank_views_org):
    org, owner, account, invoice, client, url = bank_views_org
    data = camt([("80.00", "Maple Joinery", invoice.number, "B-1")])
    response = client.post(url("statement_upload", pk=account.pk), {"file": SimpleUploadedFile("s.xml", data)})
    with look(org, owner):
        imp = StatementImport.objects.get()
    assert response.status_code == 302 and response.url == url("statement_preview", pk=imp.pk)
    page = client.get(response.url).content.decode()
    assert 'data-testid="new-lines">1<' in page and "Import 1 line" in page
    response = client.post(url("statement_commit", pk=imp.pk), {"action": "commit"})
    assert response.url == url("bank_account_detail", pk=account.pk)
    with look(org, owner):
        line = BankLine.objects.get()
    detail = client.get(url("bank_account_detail", pk=account.pk)).content.decode()
    assert f"invoice {invoice.number} is named in the remittance text" in detail  # the best suggestion, inline
    client.post(url("bank_line_confirm", pk=line.pk), {"suggestion": f"inv:{invoice.pk}"})
    client.post(url("bank_line_confirm", pk=line.pk), {"suggestion": f"inv:{invoice.pk}"})  # double click
    with look(org, owner):
        assert Payment.objects.count() == 1 and BankLine.objects.get().status == "matched"
    page = client.get(url("bank_line_detail", pk=line.pk)).content.decode()
    assert "Confirmed by" in page and "already matched" in page  # the second click's message
    client.post(url("bank_line_unmatch", pk=line.pk), {"reason": "wrong customer"})
    with look(org, owner):
        assert BankLine.objects.get().status == "unmatched"
        assert Payment.objects.get().reversed_at is not None


def test_a_csv_that_cannot_be_read_lists_its_columns_and_keeps_nothing(bank_views_org):
    org, owner, account, invoice, client, url = bank_views_org
    data = b"Datum;Betrag;Text\n31.03.2026;10,00;x\n"
    response = client.post(url("statement_upload", pk=account.pk),
                           {"file": SimpleUploadedFile("s.csv", data), "format": "csv", "date_column": "Date",
                            "amount_column": "Amount", "date_format": "%d.%m.%Y"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "The file has no column &#x27;Date&#x27;" in page
    assert "<code>Datum</code>, <code>Betrag</code>, <code>Text</code>" in page
    with look(org, owner):
        assert StatementImport.objects.count() == 0


def test_a_large_file_goes_to_the_background_with_a_progress_page(bank_views_org, monkeypatch):
    org, owner, account, invoice, client, url = bank_views_org
    monkeypatch.setattr(bank, "BACKGROUND_LINES", 1)
    data = camt([("1.00", "A", "x", "B-1"), ("2.00", "B", "y", "B-2")])
    client.post(url("statement_upload", pk=account.pk), {"file": SimpleUploadedFile("s.xml", data)})
    with look(org, owner):
        imp = StatementImport.objects.get()
    with pytest.MonkeyPatch.context() as m:
        queued = []
        m.setattr("django_q.tasks.async_task", lambda *a, **k: queued.append(a))
        response = client.post(url("statement_commit", pk=imp.pk), {"action": "commit"})
    assert queued == [("payments.bank.run_import_job", org.pk, imp.pk, imp.created_by_id)]
    assert response.url == url("statement_preview", pk=imp.pk)
    page = client.get(response.url).content.decode()
    assert 'data-testid="import-progress"' in page and 'http-equiv="refresh"' in page
    assert "0 of 2 lines looked at" in page

    with look(org, owner):
        assert StatementImport.objects.get().status == "importing" and BankLine.objects.count() == 0
        bank.run_import_job(org.pk, imp.pk, owner.pk)
    page = client.get(url("statement_preview", pk=imp.pk)).content.decode()
    assert "2 line(s) added, 0 already known skipped." in page and "refresh" not in page


def test_a_file_over_the_limit_is_refused_before_it_is_read(bank_views_org):
    org, owner, account, invoice, client, url = bank_views_org
    big = SimpleUploadedFile("huge.xml", b"<" + b"x" * (bank.MAX_BYTES + 10))
    response = client.post(url("statement_upload", pk=account.pk), {"file": big})
    assert response.status_code == 400
    assert "at most 20 MB is accepted" in response.content.decode()
    with look(org, owner):
        assert StatementImport.objects.count() == 0


def test_a_statement_in_another_currency_is_refused_on_the_page(bank_views_org):
    org, owner, account, invoice, client, url = bank_views_org
    usd = camt([("10.00", "A", "x", "B-1")]).replace(b'Ccy="EUR"', b'Ccy="USD"').replace(b"<Ccy>EUR", b"<Ccy>USD")
    response = client.post(url("statement_upload", pk=account.pk), {"file": SimpleUploadedFile("usd.xml", usd)})
    assert response.status_code == 400
    assert "The statement is in USD; the bank account Main account is in EUR. Nothing was imported." in \
        response.content.decode()
    with look(org, owner):
        assert StatementImport.objects.count() == 0 and BankLine.objects.count() == 0
