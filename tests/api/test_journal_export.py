"""The journal export of a period: equal to the period's trial balance per account, the same
bytes every time, carrying the chain head it covers; Xero's layout; through the API."""

import csv
import io
import zipfile
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import Line
from accounts.models import JournalEntry
from ledger_site.tenancy import tenant_context
from reports import journal_export
from tests.factories import PASSWORD, CustomerFactory, make_org
from tests.ledger_helpers import flat_rates, receipt, sale

START, END = date(2026, 3, 1), date(2026, 3, 31)


def _csv_rows(content: bytes) -> list[dict]:
    text = content.decode()
    first, rest = text.split("\r\n", 1)
    assert first.startswith("# Ledgerline journal; ")
    return list(csv.DictReader(io.StringIO(rest)))


def _period_trial_balance(org, start, end) -> dict:
    """{(account code, currency): net debit} moved within [start, end], from the trial balances."""
    net = defaultdict(Decimal)
    for row in ledger.trial_balance(org, as_of=end):
        net[row.account.code, row.currency] += row.debit - row.credit
    for row in ledger.trial_balance(org, as_of=start - timedelta(days=1)):
        net[row.account.code, row.currency] -= row.debit - row.credit
    return {k: v for k, v in net.items() if v}


def _export_totals(rows) -> dict:
    net = defaultdict(Decimal)
    for r in rows:
        net[r["account_code"], r["currency"]] += Decimal(r["debit"] or 0) - Decimal(r["credit"] or 0)
    return {k: v for k, v in net.items() if v}


day = st.integers(min_value=-40, max_value=70).map(lambda n: START + timedelta(days=n))
amount = st.integers(min_value=1, max_value=10**7).map(lambda n: Decimal(n).scaleb(-2))
postings = st.lists(st.tuples(st.sampled_from(["sale", "receipt"]), st.integers(0, 2), amount, day),
                    min_size=1, max_size=25)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=postings)
def test_the_export_of_a_period_equals_its_trial_balance_per_account(ops):
    with transaction.atomic():
        org, owner = make_org()
        with tenant_context(org, owner):
            customers = [CustomerFactory(organization=org) for _ in range(3)]
            for kind, ix, value, when in ops:
                (sale if kind == "sale" else receipt)(org, customers[ix], value, effective_date=when)
            export = journal_export.journal_export(org, START, END)
            rows = _csv_rows(journal_export.to_csv(export))
            assert _export_totals(rows) == _period_trial_balance(org, START, END)
            assert all(START.isoformat() <= r["date"] <= END.isoformat() for r in rows)
            inside = [e for e in JournalEntry.objects.filter(effective_date__range=(START, END)).order_by("seq")]
            assert len({r["entry_seq"] for r in rows}) == len(inside)
            if inside:
                assert (export.head_seq, export.head_hash) == (inside[-1].seq, inside[-1].hash)
        transaction.set_rollback(True)


@pytest.fixture
def booked(db):
    org, owner = make_org(slug="books")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, name="=HYPERLINK(\"http://evil\")", code="EVIL")
        sale(org, customer, "120.00", effective_date=date(2026, 3, 5))
        receipt(org, customer, "20.00", effective_date=date(2026, 3, 20))
        sale(org, customer, "99.00", effective_date=date(2026, 4, 2))  # outside the period
    return org, owner


def test_every_format_is_the_same_bytes_every_time_and_names_the_chain_head(booked):
    org, owner = booked
    with tenant_context(org, owner):
        for fmt in journal_export.FORMATS:
            first = journal_export.render(journal_export.journal_export(org, START, END), fmt, org)[0]
            second = journal_export.render(journal_export.journal_export(org, START, END), fmt, org)[0]
            assert first == second, fmt
        export = journal_export.journal_export(org, START, END)
        head = JournalEntry.objects.filter(effective_date__lte=END).order_by("-seq").first()
        # Posting after the period does not change the period's export.
        sale(org, org.customers.get(), "5.00", effective_date=date(2026, 5, 1))
        assert journal_export.to_csv(journal_export.journal_export(org, START, END)) == journal_export.to_csv(export)
    text = journal_export.to_csv(export).decode()
    assert f"chain_head_seq={head.seq}; chain_head_sha256={head.hash}" in text
    book = load_workbook(io.BytesIO(journal_export.to_xlsx(export)))
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["chain_head_sha256"] == head.hash and about["lines"] == "4"
    with zipfile.ZipFile(io.BytesIO(journal_export.to_xlsx(export))) as z:
        assert {i.date_time for i in z.infolist()} == {journal_export.FIXED_ZIP_TIME}
        core = z.read("docProps/core.xml").decode()
    # Nothing says when the file was made: the document's dates are the period's end.
    assert core.count("2026-03-31T00:00:00Z") == 2


def test_the_csv_layout_and_that_no_cell_is_read_as_a_formula(booked):
    org, owner = booked
    with tenant_context(org, owner):
        export = journal_export.journal_export(org, START, END)
    rows = _csv_rows(journal_export.to_csv(export))
    assert list(rows[0]) == journal_export.COLUMNS
    assert [(r["entry_seq"], r["account_code"], r["debit"], r["credit"]) for r in rows] == [
        ("1", "1100", "120.00", ""), ("1", "4000", "", "120.00"), ("2", "1000", "20.00", ""),
        ("2", "1100", "", "20.00")]
    assert rows[0]["customer_name"].startswith("'=")
    sheet = load_workbook(io.BytesIO(journal_export.to_xlsx(export)))["Journal"]
    names = [row[9] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert names[0].startswith("'=") and sheet.cell(2, 6).value == 120


def test_the_xero_manual_journal_layout(booked):
    org, owner = booked
    with tenant_context(org, owner):
        content = journal_export.to_xero_csv(journal_export.journal_export(org, START, END))
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0] == journal_export.XERO_COLUMNS
    assert [(r[0].split()[1], r[1], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("#1", "05/03/2026", "1100", "Tax Exempt", "120.00"), ("#1", "05/03/2026", "4000", "Tax Exempt", "-120.00"),
        ("#2", "20/03/2026", "1000", "Tax Exempt", "20.00"), ("#2", "20/03/2026", "1100", "Tax Exempt", "-20.00")]
    # Each journal (rows sharing the narration) balances, as Xero requires.
    sums = defaultdict(Decimal)
    for r in rows[1:]:
        sums[r[0]] += Decimal(r[5])
    assert set(sums.values()) == {Decimal(0)}


def test_xero_refuses_a_period_with_another_currency(db):
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="USD")
        flat_rates(org, {"USD": "0.92"})
        acc = system_accounts(org)
        ledger.post(org, [Line(acc["ar"], Decimal("10.00"), customer),
                          Line(acc["revenue"], Decimal("-10.00"), currency="USD")],
                    effective_date=date(2026, 3, 5), idempotency_key="usd-sale")
        with pytest.raises(journal_export.ExportError, match="USD"):
            journal_export.to_xero_csv(journal_export.journal_export(org, START, END))


def test_through_the_api_with_the_chain_head_header_and_bad_periods_refused(booked):
    from tests.api.helpers import Api, make_key

    org, owner = booked
    api = Api(make_key(org, owner, scope="read")[1])
    r = api.get("/journal/export", {"start": "2026-03-01", "end": "2026-03-31"})
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    with tenant_context(org):
        head = JournalEntry.objects.filter(effective_date__lte=END).order_by("-seq").first()
    assert r["X-Ledger-Chain-Head"] == f"{head.seq}:{head.hash}"
    assert 'filename="journal-books-2026-03-01-2026-03-31.csv"' in r["Content-Disposition"]
    r = api.get("/journal/export", {"start": "2026-03-01", "end": "2026-03-31", "format": "xlsx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    r = api.get("/journal/export", {"start": "2026-04-01", "end": "2026-03-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_period"
    r = api.get("/journal/export", {"start": "2026-03-01", "end": "2026-03-31", "format": "pdf"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"


def test_the_export_page_shows_the_period_and_downloads(client, booked):
    org, owner = booked
    client.login(email=owner.email, password=PASSWORD)
    url = f"/o/{org.slug}/reports/journal-export/"
    assert client.get(url).status_code == 200
    r = client.get(url, {"start": "2026-03-01", "end": "2026-03-31", "format": "xlsx"})
    assert r.status_code == 200 and b"4 journal lines" in r.content
    r = client.get(url, {"start": "2026-03-01", "end": "2026-03-31", "format": "csv", "download": "1"})
    assert r.status_code == 200 and r.content.startswith(b"# Ledgerline journal; organization=books")
    r = client.get(url, {"start": "2026-03-31", "end": "2026-03-01", "format": "csv", "download": "1"})
    assert r.status_code == 200 and b"ends before it starts" in r.content
