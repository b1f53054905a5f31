"""The auditor pack and the FEC (issue 15, item 6): the FEC of any history conforms to the rules
its checker knows and, with its opening entry, gives every closing balance; the checker catches
each kind of broken file; the pack holds the journal, a trial balance that rolls forward, an AR
tie-out, the period's PDFs with a manifest that `sha256sum -c` accepts, and a verification."""

import csv
import hashlib
import io
import subprocess
import zipfile
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import Line
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reports import auditor_pack, fec
from reports.journal_export import ExportError
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import flat_rates, receipt, sale
from tests.payments.helpers import pay

START, END = date(2026, 3, 1), date(2026, 3, 31)


def _fec_rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode(fec.ENCODING)), delimiter="\t"))


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


day = st.integers(min_value=-60, max_value=45).map(lambda n: START + timedelta(days=n))
amount = st.integers(min_value=1, max_value=10**7).map(lambda n: Decimal(n).scaleb(-2))
postings = st.lists(st.tuples(st.sampled_from(["sale", "receipt"]), st.integers(0, 2), amount, day),
                    min_size=1, max_size=20)


@pytest.mark.django_db
@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=postings)
def test_the_fec_of_any_history_conforms_and_rolls_forward_to_the_closing_balances(ops):
    with transaction.atomic():
        org, owner = make_org(tax_id="FR40123456789")
        with tenant_context(org, owner):
            customers = [CustomerFactory(organization=org, name=f"Société n°{i} — Zürich") for i in range(3)]
            for kind, ix, value, when in ops:
                (sale if kind == "sale" else receipt)(org, customers[ix], value, effective_date=when)
            content, name = fec.render_fec(org, START, END)
            assert name == "123456789FEC20260331.txt"
            assert fec.check_fec(content, START, END) == []
            rows = _fec_rows(content)
            closing = defaultdict(Decimal)
            for row in rows:
                closing[row["CompteNum"]] += _amount(row["Debit"]) - _amount(row["Credit"])
            expected = defaultdict(Decimal)
            for tb in ledger.trial_balance(org, as_of=END):
                if tb.account.type in fec.BALANCE_SHEET:
                    expected[tb.account.code] += tb.debit - tb.credit
            before = sum((tb.debit - tb.credit for tb in ledger.trial_balance(org, as_of=START - timedelta(days=1))
                          if tb.account.type not in fec.BALANCE_SHEET), Decimal(0))
            if before:
                expected[fec.RETAINED_EARNINGS[0]] += before
            # Income and expense of the period stay on their accounts (no closing entries in a FEC).
            for tb_code in {r["CompteNum"] for r in rows} - set(expected):
                expected[tb_code] += 0
            income = {tb.account.code for tb in ledger.trial_balance(org, as_of=END)
                      if tb.account.type not in fec.BALANCE_SHEET}
            assert {k: v for k, v in closing.items() if k not in income and v} == \
                {k: v for k, v in expected.items() if v}
            assert all(r["EcritureDate"] >= "20260301" for r in rows)
            opening = [r for r in rows if r["JournalCode"] == "AN"]
            assert all(r["EcritureNum"] == "AN000001" for r in opening)
            if any(r["CompAuxLib"] for r in rows):
                assert "Société n°" in content.decode(fec.ENCODING)
                assert "- Zürich" in content.decode(fec.ENCODING)
        transaction.set_rollback(True)


GOOD = ("JournalCode\tJournalLib\tEcritureNum\tEcritureDate\tCompteNum\tCompteLib\tCompAuxNum\tCompAuxLib\t"
        "PieceRef\tPieceDate\tEcritureLib\tDebit\tCredit\tEcritureLet\tDateLet\tValidDate\tMontantdevise\tIdevise\r\n"
        "VE\tVentes\tVE000001\t20260305\t1100\tAR\tC1\tAcme\tINV-1\t20260305\tInvoice\t120,00\t0,00\t\t\t20260305\t\t\r\n"
        "VE\tVentes\tVE000001\t20260305\t4000\tSales\t\t\tINV-1\t20260305\tInvoice\t0,00\t120,00\t\t\t20260305\t\t\r\n"
        "BQ\tBanque\tBQ000001\t20260310\t1000\tBank\t\t\tP-1\t20260310\tPayment\t50,00\t0,00\t\t\t20260310\t\t\r\n"
        "BQ\tBanque\tBQ000001\t20260310\t1100\tAR\tC1\tAcme\tP-1\t20260310\tPayment\t0,00\t50,00\t\t\t20260310\t\t\r\n")


@pytest.mark.parametrize("broken, expected", [
    (GOOD.replace("JournalCode\tJournalLib", "Journal\tJournalLib"), "the columns must be"),
    (GOOD.replace("\t0,00\t120,00", "\t0,00\t121,00"), "does not balance"),
    (GOOD.replace("120,00\t0,00", "120.00\t0,00"), "decimal comma"),
    (GOOD.replace("BQ000001", "BQ000002"), "breaks journal BQ's sequence"),
    (GOOD.replace("\t20260310\t\t\r\n", "\t20260301\t\t\r\n"), "validated before"),
    (GOOD.replace("\t20260305\t1100", "\t2026-03-05\t1100"), "is not a date"),
    (GOOD.replace("\tC1\tAcme\tP-1", "\tC1\t\tP-1"), "go together"),
    (GOOD.replace("\t4000\tSales", "\tSAL\tSales"), "three digits"),
    (GOOD.replace("\tINV-1\t20260305\tInvoice\t0,00", "\t\t20260305\tInvoice\t0,00"), "PieceRef is empty"),
    (GOOD.replace("\t50,00\t0,00\t\t\t20260310", "\t50,00\t50,00\t\t\t20260310"), "not both or neither"),
])
def test_the_checker_catches_each_broken_rule(broken, expected):
    assert fec.check_fec(GOOD.encode(fec.ENCODING), START, END) == []
    problems = fec.check_fec(broken.encode(fec.ENCODING), START, END)
    assert any(expected in p for p in problems), problems


def test_a_date_outside_the_period_and_a_foreign_encoding_are_caught():
    assert any("outside the period" in p for p in fec.check_fec(GOOD.encode(fec.ENCODING), date(2026, 4, 1),
                                                                  date(2026, 4, 30)))
    assert fec.check_fec("JournalCode\u20ac\u4e2d".encode("utf-16"), START, END) == \
        ["The file is not ISO 8859-15 text."]


@pytest.mark.django_db
def test_the_fec_refuses_lines_in_another_currency_with_a_message():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="USD")
        flat_rates(org, {"USD": "0.92"})
        acc = system_accounts(org)
        ledger.post(org, [Line(acc["ar"], Decimal("10.00"), customer=customer, currency="USD"),
                          Line(acc["revenue"], Decimal("-10.00"), currency="USD")],
                    effective_date=date(2026, 3, 5), memo="usd sale", idempotency_key="usd-1")
        with pytest.raises(ExportError, match="lines in USD"):
            fec.render_fec(org, START, END)


def _pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=content, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def books(db):
    org, owner = make_org(name="Pack & Co", tax_id="FR40123456789")
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd")
        before = issued(org, acme, issue_date=date(2026, 2, 20), due_date=date(2026, 3, 20))
        inside = [issued(org, acme, issue_date=date(2026, 3, d), due_date=date(2026, 4, d)) for d in (3, 17)]
        pay(org, acme, "100.00", allocation={before.pk: Decimal("100.00")}, received_date=date(2026, 3, 9))
        after = issued(org, acme, issue_date=date(2026, 4, 2), due_date=date(2026, 5, 2))
    return org, owner, acme, before, inside, after


def test_the_pack_holds_everything_and_checks_out(books):
    org, owner, acme, before, inside, after = books
    with tenant_context(org, owner):
        pack = auditor_pack.build(org, START, END)
    assert pack.verified and pack.documents == 2 and not pack.left_out
    zf = zipfile.ZipFile(io.BytesIO(pack.content))
    names = set(zf.namelist())
    assert {"README.txt", "journal.csv", "journal.xlsx", "trial_balance.csv", "ar_tieout.csv", "verification.txt",
            "documents/MANIFEST.sha256", "fec/123456789FEC20260331.txt"} <= names
    pdfs = sorted(n for n in names if n.endswith(".pdf"))
    assert len(pdfs) == 2
    texts = " ".join(_pdf_text(zf.read(n)) for n in pdfs)
    assert all(inv.number in texts for inv in inside) and after.number not in texts and before.number not in texts
    manifest = zf.read("documents/MANIFEST.sha256").decode().splitlines()
    for entry in manifest:
        sha, name = entry.split("  ")
        assert hashlib.sha256(zf.read(f"documents/{name}")).hexdigest() == sha
    assert len(manifest) == 2

    rows = list(csv.DictReader(io.StringIO(zf.read("trial_balance.csv").decode())))
    assert rows, "a trial balance"
    for row in rows:
        assert Decimal(row["opening"]) + Decimal(row["debit"]) - Decimal(row["credit"]) == Decimal(row["closing"])
    ar = next(r for r in rows if r["account_code"] == "1100")
    assert Decimal(ar["opening"]) == before.total
    assert Decimal(ar["closing"]) == before.total + sum(i.total for i in inside) - Decimal("100.00")

    tie = list(csv.DictReader(io.StringIO(zf.read("ar_tieout.csv").decode())))
    assert tie == [{"currency": "EUR", "aging_total": ar["closing"], "ar_control": ar["closing"],
                    "customer_balances": ar["closing"], "ties": "yes"}]
    readme = zf.read("README.txt").decode()
    assert "verify_ledger, run for this pack): PASSED" in readme and "conforms to the FEC rules" in readme
    closing = ar["closing"]
    assert f"EUR: {closing} / {closing} / {closing} -> ties" in readme
    assert "result: ok" in zf.read("verification.txt").decode()
    assert fec.check_fec(zf.read("fec/123456789FEC20260331.txt"), START, END) == []


@pytest.mark.django_db(transaction=True)
def test_a_tampered_invoice_is_left_out_and_the_pack_says_verification_failed(books, owner_sql, tmp_path):
    org, owner, acme, before, inside, after = books
    with triggers_off(owner_sql, "invoicing_invoiceline"):
        owner_sql.execute("UPDATE invoicing_invoiceline SET description = 'Altered' WHERE invoice_id = %s",
                          [inside[0].pk])
    with tenant_context(org, owner):
        pack = auditor_pack.build(org, START, END)
    assert not pack.verified and pack.documents == 1
    assert any(inside[0].number in item for item in pack.left_out)
    zf = zipfile.ZipFile(io.BytesIO(pack.content))
    readme = zf.read("README.txt").decode()
    assert "FAILED" in readme and inside[0].number in readme
    assert not any(inside[0].number in n for n in zf.namelist())
    with pytest.raises(CommandError, match="did not verify"):
        call_command("auditor_pack", org.slug, "--start", "2026-03-01", "--end", "2026-03-31",
                     "--out", str(tmp_path / "pack.zip"))
    assert zipfile.ZipFile(tmp_path / "pack.zip").testzip() is None


def test_the_page_gives_finance_the_zip_and_refuses_viewers_and_bad_periods(books, client):
    org, owner, *_ = books
    url = f"/o/{org.slug}/reports/auditor-pack/"
    viewer = add_member(org, role="viewer")
    client.force_login(viewer)
    assert client.get(url).status_code == 403
    client.force_login(owner)
    page = client.get(url)
    assert page.status_code == 200 and "Auditor pack" in page.content.decode()
    bad = client.get(url, {"start": "2026-03-31", "end": "2026-03-01", "download": "1"})
    assert bad.status_code == 200 and "ends before it starts" in bad.content.decode()
    response = client.get(url, {"start": "2026-03-01", "end": "2026-03-31", "download": "1"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["X-Ledger-Verified"] == "ok"
    assert "README.txt" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


def test_the_api_serves_the_pack_and_the_fec(books):
    from tests.api.helpers import Api, make_key

    org, owner, *_ = books
    _key, token = make_key(org, owner, scope="read")
    api = Api(token)
    response = api.get("/journal/auditor-pack", {"start": "2026-03-01", "end": "2026-03-31"})
    assert response.status_code == 200 and response["X-Ledger-Verified"] == "ok"
    assert "journal.csv" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    response = api.get("/journal/export", {"start": "2026-03-01", "end": "2026-03-31", "format": "fec"})
    assert response.status_code == 200 and "123456789FEC20260331.txt" in response["Content-Disposition"]
    assert fec.check_fec(response.content, START, END) == []
    assert api.get("/journal/auditor-pack", {"start": "2026-03-31", "end": "2026-03-01"}).status_code == 422
    with tenant_context(org):
        assert Invoice.objects.count() == 4


@pytest.mark.django_db
def test_a_period_at_the_edge_of_the_calendar_is_refused_not_a_500():
    """Found by Schemathesis: start=0001-01-01 overflowed computing the day before."""
    org, owner = make_org()
    with tenant_context(org, owner):
        for start, end in [(date(1, 1, 1), date(1, 1, 10)), (date(9999, 12, 1), date(9999, 12, 31))]:
            with pytest.raises(ExportError, match="between 1900 and 9999"):
                auditor_pack.build(org, start, end)
            with pytest.raises(ExportError, match="between 1900 and 9999"):
                fec.render_fec(org, start, end)
