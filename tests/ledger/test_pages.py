"""The ledger's read pages show the right numbers for a small hand-computed ledger
(tests/ledger/pages_fixtures.py): the customer's balance and history, the CSV export, the
journal and the trial balance; and they stay inside the organization."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger_queries import MANUAL_SOURCE, OVERDUE_AMOUNT, SOURCE_TYPES, register_source
from accounts.ledger_verify import VerifyResult
from accounts.models import LedgerHead
from accounts.views import ledger as ledger_views
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger.pages_fixtures import book_fixture, running_balances  # noqa: F401 - the `tally` fixture
from tests.ledger_helpers import flat_rates, sale

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


# --- The customer page ---------------------------------------------------------------------

def test_customer_page_shows_balance_in_credit_and_the_history_newest_first(tally):
    response = tally.client(tally.viewer).get(tally.url("customer_detail", pk=tally.customer.pk))
    assert response.status_code == 200
    page = html(response)
    assert "In credit" in page and "59.50 EUR" in page
    assert running_balances(page) == [Decimal(v) for v in ("-59.50", "140.50", "120.50", "150.50", "100.00")]
    # Debit and credit columns: the 200.00 receipt is a credit, the 100.00 sale a debit.
    assert "200.00</td>" in page and "100.00</td>" in page


def test_customer_page_says_owed_when_the_balance_is_positive(tally):
    with tally.ctx():
        sale(tally.org, tally.customer, "100.00")
    page = html(tally.client(tally.viewer).get(tally.url("customer_detail", pk=tally.customer.pk)))
    assert "Balance owed" in page and "40.50 EUR" in page


def test_balance_panel_offers_no_manual_adjustment_of_the_balance(tally):
    """What a customer owes changes only through documents: the panel links to the customer's
    journal entries, never to the general journal form, whatever the role."""
    for user in (tally.owner, tally.finance, tally.viewer):
        page = html(tally.client(user).get(tally.url("customer_detail", pk=tally.customer.pk)))
        assert 'data-panel="ledger-balance"' in page and f'{tally.url("journal")}?customer=BLUE' in page
        assert tally.url("journal_new") not in page and "Adjust the balance" not in page


def test_running_balance_is_right_across_pages(tally, monkeypatch):
    monkeypatch.setattr(ledger_views, "HISTORY_PAGE_SIZE", 2)
    client = tally.client(tally.viewer)
    url = tally.url("customer_detail", pk=tally.customer.pk)
    pages = [running_balances(html(client.get(url, {"h-page": n}))) for n in (1, 2, 3)]
    assert pages == [[Decimal("-59.50"), Decimal("140.50")], [Decimal("120.50"), Decimal("150.50")],
                     [Decimal("100.00")]]


def test_date_filter_starts_from_the_balance_before_the_range(tally, monkeypatch):
    start, end = tally.d0 + timedelta(days=10), tally.d0 + timedelta(days=30)
    client = tally.client(tally.viewer)
    url = tally.url("customer_detail", pk=tally.customer.pk)
    page = html(client.get(url, {"h-start": start.isoformat(), "h-end": end.isoformat()}))
    # Lines #4, #3, #2 then the opening balance (the 100.00 of #1, before the range).
    assert running_balances(page) == [Decimal("140.50"), Decimal("120.50"), Decimal("150.50"), Decimal("100.00")]
    assert "Opening balance" in page

    monkeypatch.setattr(ledger_views, "HISTORY_PAGE_SIZE", 2)
    params = {"h-start": start.isoformat(), "h-end": end.isoformat()}
    first = running_balances(html(client.get(url, {**params, "h-page": 1})))
    second = running_balances(html(client.get(url, {**params, "h-page": 2})))
    assert first == [Decimal("140.50"), Decimal("120.50")]
    assert second == [Decimal("150.50"), Decimal("100.00")]  # the last page ends with the opening row


def test_a_bad_date_range_is_explained_and_shows_everything(tally):
    url = tally.url("customer_detail", pk=tally.customer.pk)
    page = html(tally.client(tally.viewer).get(url, {"h-start": "2026-05-01", "h-end": "2026-01-01"}))
    assert "The start date is after the end date." in page
    assert len(running_balances(page)) == 5
    page = html(tally.client(tally.viewer).get(url, {"h-start": "yesterday"}))
    assert "Enter a valid date." in page and len(running_balances(page)) == 5


def test_history_page_reads_a_bounded_number_of_queries(tally, monkeypatch):
    client = tally.client(tally.viewer)
    url = tally.url("customer_detail", pk=tally.customer.pk)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    with tally.ctx():
        for _ in range(20):
            sale(tally.org, tally.customer, "1.00")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(many) == len(few)


def test_overdue_slot_appears_once_a_provider_is_registered(tally, monkeypatch):
    url = tally.url("customer_detail", pk=tally.customer.pk)
    page = html(tally.client(tally.viewer).get(url))
    assert 'data-panel="overdue"' not in page
    monkeypatch.setattr("accounts.ledger_queries.OVERDUE_AMOUNT", [lambda customer: Decimal("12.34")])
    assert OVERDUE_AMOUNT == []  # the module attribute was swapped, not the shared list
    page = html(tally.client(tally.viewer).get(url))
    assert 'data-panel="overdue"' in page and "12.34 EUR" in page


def test_a_registered_source_links_its_document(tally, monkeypatch):
    monkeypatch.setitem(SOURCE_TYPES, "tests.document", SOURCE_TYPES[MANUAL_SOURCE])
    register_source("tests.document", "Test document", lambda org, source_id: f"/docs/{source_id}/")
    with tally.ctx():
        acc = system_accounts(tally.org)
        ledger.post(tally.org, [ledger.Line(acc["ar"], Decimal("5.00"), tally.customer),
                               ledger.Line(acc["revenue"], Decimal("-5.00"))],
                    effective_date=date.today(), idempotency_key="doc:1", memo="Doc sale",
                    source=("tests.document", 42), source_label="DOC-42")
    page = html(tally.client(tally.viewer).get(tally.url("customer_detail", pk=tally.customer.pk)))
    assert '<a href="/docs/42/">DOC-42</a>' in page
    page = html(tally.client(tally.viewer).get(tally.url("journal")))
    assert '<a href="/docs/42/">DOC-42</a>' in page


# --- CSV -----------------------------------------------------------------------------------

def read_csv(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_is_chronological_with_running_balance(tally):
    rows = read_csv(tally.client(tally.viewer).get(tally.url("customer_ledger_csv", pk=tally.customer.pk)))
    assert rows[0] == ["Date", "Entry", "Document", "Description", "Debit", "Credit", "Balance", "Currency"]
    d0 = tally.d0
    seqs = [str(e.seq) for e in tally.entries]
    assert rows[1:] == [
        [d0.isoformat(), seqs[0], "", "test sale", "100.00", "", "100.00", "EUR"],
        [(d0 + timedelta(days=10)).isoformat(), seqs[1], "", "test sale", "50.50", "", "150.50", "EUR"],
        [(d0 + timedelta(days=20)).isoformat(), seqs[2], "", "test receipt", "", "30.00", "120.50", "EUR"],
        [(d0 + timedelta(days=30)).isoformat(), seqs[3], "", "test sale", "20.00", "", "140.50", "EUR"],
        [(d0 + timedelta(days=40)).isoformat(), seqs[4], "", "test receipt", "", "200.00", "-59.50", "EUR"],
    ]


def test_csv_export_of_a_range_starts_with_the_opening_balance(tally):
    start, end = tally.d0 + timedelta(days=10), tally.d0 + timedelta(days=30)
    response = tally.client(tally.viewer).get(tally.url("customer_ledger_csv", pk=tally.customer.pk),
                                            {"h-start": start.isoformat(), "h-end": end.isoformat()})
    assert f"BLUE-ledger-from-{start}-to-{end}.csv" in response["Content-Disposition"]
    rows = read_csv(response)
    assert [r[3] for r in rows[1:]] == ["Opening balance", "test sale", "test receipt", "test sale"]
    assert [r[6] for r in rows[1:]] == ["100.00", "150.50", "120.50", "140.50"]


def test_csv_cells_cannot_start_a_spreadsheet_formula(tally):
    with tally.ctx():
        acc = system_accounts(tally.org)
        ledger.post(tally.org, [ledger.Line(acc["ar"], Decimal("1.00"), tally.customer),
                               ledger.Line(acc["late_fee"], Decimal("-1.00"))],
                    effective_date=date.today(), idempotency_key="formula", memo='=HYPERLINK("http://x")')
    rows = read_csv(tally.client(tally.viewer).get(tally.url("customer_ledger_csv", pk=tally.customer.pk)))
    assert rows[-1][3] == "'=HYPERLINK(\"http://x\")"


def test_csv_of_another_organizations_customer_is_404(tally):
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        stranger = CustomerFactory(organization=other)
    response = tally.client(tally.owner).get(tally.url("customer_ledger_csv", pk=stranger.pk))
    assert response.status_code == 404


# --- Journal -------------------------------------------------------------------------------

def test_journal_lists_entries_newest_first_with_lines(tally):
    page = html(tally.client(tally.viewer).get(tally.url("journal")))
    positions = [page.index(f">#{e.seq}</a>") for e in tally.entries]
    assert positions == sorted(positions, reverse=True)
    assert "Accounts receivable" in page and "Sales revenue" in page and "Bank" in page
    assert "200.00" in page and "50.50" in page
    # A viewer sees no posting button.
    assert tally.url("journal_new") not in page


def test_journal_filters_by_date_account_customer_and_source(tally):
    client = tally.client(tally.viewer)
    with tally.ctx():
        acc = system_accounts(tally.org)
        other = CustomerFactory(organization=tally.org, code="OTHER")
        other_sale = sale(tally.org, other, "7.00")
        deposit = ledger.post(tally.org, [ledger.Line(acc["bank"], Decimal("7.00")),
                                         ledger.Line(acc["cash"], Decimal("-7.00"))],
                              effective_date=date.today(), idempotency_key="gj:deposit", memo="Deposit",
                              source=(MANUAL_SOURCE, None), reason="till counted")
    seqs = lambda page: sorted(int(s) for s in re.findall(r'>#(\d+)</a></td>', page))  # noqa: E731
    everything = sorted([e.seq for e in tally.entries] + [other_sale.seq, deposit.seq])
    assert seqs(html(client.get(tally.url("journal")))) == everything
    start, end = tally.d0 + timedelta(days=10), tally.d0 + timedelta(days=20)
    assert seqs(html(client.get(tally.url("journal"), {"start": start, "end": end}))) == [
        tally.entries[1].seq, tally.entries[2].seq]
    assert seqs(html(client.get(tally.url("journal"), {"account": acc["bank"].pk}))) == [
        tally.entries[2].seq, tally.entries[4].seq, deposit.seq]
    assert seqs(html(client.get(tally.url("journal"), {"customer": "other"}))) == [other_sale.seq]
    assert seqs(html(client.get(tally.url("journal"), {"source": MANUAL_SOURCE}))) == [deposit.seq]
    assert seqs(html(client.get(tally.url("journal"), {"source": "-"}))) == sorted(
        [e.seq for e in tally.entries] + [other_sale.seq])
    page = html(client.get(tally.url("journal"), {"customer": "NOBODY"}))
    assert "No customer has the code" in page


def test_journal_reads_a_bounded_number_of_queries(tally):
    client = tally.client(tally.viewer)
    client.get(tally.url("journal"))
    with CaptureQueriesContext(connection) as few:
        client.get(tally.url("journal"))
    with tally.ctx():
        for _ in range(30):
            sale(tally.org, tally.customer, "2.00")
    with CaptureQueriesContext(connection) as many:
        client.get(tally.url("journal"))
    assert len(many) == len(few)
    assert len(many) < 20


def test_entry_page_shows_the_audit_trail_and_reversal_links(tally):
    with tally.ctx():
        acc = system_accounts(tally.org)
        entry = ledger.post(tally.org, [ledger.Line(acc["bank"], Decimal("5.00")),
                                       ledger.Line(acc["cash"], Decimal("-5.00"))],
                            effective_date=date.today(), idempotency_key="gj:x", memo="Deposit",
                            actor=tally.finance, source=(MANUAL_SOURCE, None), reason="small balance")
        reversal = ledger.reverse(entry, reason="wrong account", actor=tally.owner)
    client = tally.client(tally.viewer)
    page = html(client.get(tally.url("journal_entry", pk=entry.pk)))
    assert str(tally.finance) in page and "small balance" in page
    assert f"reversed by <a href=\"{tally.url('journal_entry', pk=reversal.pk)}\">entry #{reversal.seq}</a>" in page
    assert "wrong account" in page
    page = html(client.get(tally.url("journal_entry", pk=reversal.pk)))
    assert f"reverses <a href=\"{tally.url('journal_entry', pk=entry.pk)}\">entry #{entry.seq}</a>" in page
    assert "wrong account" in page and str(tally.owner) in page
    page = html(client.get(tally.url("journal")))
    assert f"reverses #{entry.seq}" in page and f"reversed by #{reversal.seq}" in page


def test_another_organizations_entry_is_404(tally):
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        stranger = CustomerFactory(organization=other)
        foreign = sale(other, stranger, "9.00")
    client = tally.client(tally.owner)
    assert client.get(tally.url("journal_entry", pk=foreign.pk)).status_code == 404
    assert client.post(tally.url("journal_reverse", pk=foreign.pk), {"reason": "x"}).status_code == 404
    with tenant_context(other):
        assert not ledger.JournalEntry.objects.filter(reverses=foreign).exists()


def test_html_in_memo_and_reason_is_escaped_everywhere(tally):
    with tally.ctx():
        acc = system_accounts(tally.org)
        entry = ledger.post(tally.org, [ledger.Line(acc["ar"], Decimal("3.00"), tally.customer),
                                       ledger.Line(acc["late_fee"], Decimal("-3.00"))],
                            effective_date=date.today(), idempotency_key="xss", memo="<script>alert(1)</script>",
                            reason="<b>bold</b>", source_label="<i>doc</i>")
    client = tally.client(tally.viewer)
    for url in (tally.url("journal"), tally.url("journal_entry", pk=entry.pk),
                tally.url("customer_detail", pk=tally.customer.pk)):
        page = html(client.get(url))
        assert "<script>alert(1)</script>" not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url
        assert "<i>doc</i>" not in page and "<b>bold</b>" not in page, url


# --- Trial balance -------------------------------------------------------------------------

def tb_totals(page):
    return [Decimal(v.replace(",", "")) for v in re.findall(r'class="num tb-total">([^<]+)<', page)]


def test_trial_balance_today_has_every_account_and_equal_totals(tally):
    page = html(tally.client(tally.viewer).get(tally.url("trial_balance")))
    assert tb_totals(page) == [Decimal("230.00"), Decimal("230.00")]
    assert "✓" in page and "Out of balance" not in page
    for name in ("Bank", "Cash", "Card clearing", "Accounts receivable", "Sales revenue", "Rounding"):
        assert name in page
    assert "59.50" in page and "170.50" in page


def test_trial_balance_as_of_a_past_date(tally):
    as_of = tally.d0 + timedelta(days=15)
    page = html(tally.client(tally.viewer).get(tally.url("trial_balance"), {"as_of": as_of.isoformat()}))
    assert tb_totals(page) == [Decimal("150.50"), Decimal("150.50")]
    page = html(tally.client(tally.viewer).get(tally.url("trial_balance"), {"as_of": "not-a-date"}))
    assert "Showing today instead." in page and tb_totals(page) == [Decimal("230.00"), Decimal("230.00")]


def test_trial_balance_shows_a_red_warning_when_totals_differ(tally, monkeypatch):
    real = ledger.trial_balance

    def lopsided(org, as_of=None):
        rows = real(org, as_of)
        return [r for r in rows if r.account.system_key != "bank"]

    monkeypatch.setattr(ledger, "trial_balance", lopsided)
    page = html(tally.client(tally.viewer).get(tally.url("trial_balance")))
    assert "Out of balance by 230.00 EUR" in page and "tb-bad" in page


def test_trial_balance_per_currency(tally):
    with tally.ctx():
        usd = CustomerFactory(organization=tally.org, code="USD1", currency="USD")
        flat_rates(tally.org, {"USD": "0.92"})
        acc = system_accounts(tally.org)
        ledger.post(tally.org, [ledger.Line(acc["ar"], Decimal("10.00"), usd),
                               ledger.Line(acc["revenue"], Decimal("-10.00"), currency="USD")],
                    effective_date=date.today(), idempotency_key="usd")
    page = html(tally.client(tally.viewer).get(tally.url("trial_balance")))
    assert 'data-currency="USD"' in page and 'data-currency="EUR"' in page
    # Each currency, then every currency together in the base currency (issue 17): the 10 USD at 0.92 move
    # the receivable (a credit of 59.50 EUR becomes 50.30) and revenue (170.50 + 9.20), not the bank.
    assert tb_totals(page) == [Decimal("230.00"), Decimal("230.00"), Decimal("10.00"), Decimal("10.00"),
                               Decimal("230.00"), Decimal("230.00")]
    assert ">50.30<" in page and ">179.70<" in page
    assert 'data-currency="all"' in page


# --- Verification --------------------------------------------------------------------------

def test_owner_runs_verification_and_the_line_shows_it(tally):
    client = tally.client(tally.owner)
    page = html(client.get(tally.url("journal")))
    assert "has not been verified yet" in page and "Verify now" in page
    response = client.post(tally.url("ledger_verify"), {"next": tally.url("trial_balance")})
    assert response.status_code == 302 and response.url == tally.url("trial_balance")
    with tally.ctx():
        head = LedgerHead.objects.get(organization=tally.org)
        assert head.verified_ok is True and head.verified_at is not None
    page = html(client.get(tally.url("journal")))
    assert "Ledger verified ✓ at" in page


def test_verification_failure_shows_the_message(tally, monkeypatch):
    def broken(org):
        result = VerifyResult(organization=org.slug)
        result.fail("entry #2: hash does not match its contents (altered after posting)", 2)
        return result

    monkeypatch.setattr(ledger_views, "verify_organization", broken)
    client = tally.client(tally.owner)
    response = client.post(tally.url("ledger_verify"))
    assert response.status_code == 302
    page = html(client.get(response.url))
    assert "Ledger verification failed ✗ at" in page and "entry #2: hash does not match" in page
    assert "verify-bad" in page


def test_verify_redirect_stays_on_site(tally):
    response = tally.client(tally.owner).post(tally.url("ledger_verify"), {"next": "https://evil.example/"})
    assert response.url == tally.url("journal")
    response = tally.client(tally.owner).post(tally.url("ledger_verify"), {"next": "//evil.example/x"})
    assert response.url == tally.url("journal")


def test_only_owners_may_run_verification(tally):
    for user in (tally.viewer, tally.finance):
        assert tally.client(user).post(tally.url("ledger_verify")).status_code == 403
    with tally.ctx():
        assert LedgerHead.objects.get(organization=tally.org).verified_at is None
    page = html(tally.client(tally.finance).get(tally.url("journal")))
    assert "Verify now" not in page


def test_journal_pages_unfiltered_with_a_total_and_filtered_without_counting(tally, monkeypatch):
    monkeypatch.setattr(ledger_views, "JOURNAL_PAGE_SIZE", 2)
    client = tally.client(tally.viewer)
    seqs = lambda page: [int(s) for s in re.findall(r'>#(\d+)</a></td>', page)]  # noqa: E731
    first = html(client.get(tally.url("journal")))
    assert seqs(first) == [5, 4] and "Page 1 of 3 · 5 entries" in first and "page=2" in first
    last = html(client.get(tally.url("journal"), {"page": 3}))
    assert seqs(last) == [1] and "page=2" in last and "page=4" not in last
    assert seqs(html(client.get(tally.url("journal"), {"page": 99}))) == [1]
    assert seqs(html(client.get(tally.url("journal"), {"page": "x"}))) == [5, 4]
    with tally.ctx():
        acc = system_accounts(tally.org)
    filtered = html(client.get(tally.url("journal"), {"account": acc["bank"].pk}))
    assert seqs(filtered) == [5, 3] and 'class="pagination"' not in filtered
    filtered = html(client.get(tally.url("journal"), {"account": acc["ar"].pk}))
    assert seqs(filtered) == [5, 4] and "Page 1</span>" in filtered and " entries</span>" not in filtered
    filtered = html(client.get(tally.url("journal"), {"account": acc["ar"].pk, "page": 3}))
    assert seqs(filtered) == [1] and "Page 3</span>" in filtered and "page=4" not in filtered
