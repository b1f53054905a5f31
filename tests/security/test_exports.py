"""Every CSV and XLSX export neutralises every text cell (issue 22, #3)."""

import csv
import io
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import Line
from ledger_site.exports import FORMULA_STARTS, cell, safe_text
from ledger_site.tenancy import tenant_context
from payments.services import reverse_payment
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import issued
from tests.ledger.test_tamper import triggers_off
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = ["=HYPERLINK(\"http://evil.example\")", "+CMD|' /C CALC'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd",
            "\t=1+1", "\r=1+1"]


def dangerous(text: str) -> bool:
    """A cell a spreadsheet would run: starts like a formula and is not simply a number."""
    if text[:1] not in FORMULA_STARTS:
        return False
    try:
        Decimal(text)
        return False
    except InvalidOperation:
        return True


def test_the_writer_neutralises_text_and_keeps_numbers():
    for payload in PAYLOADS:
        assert cell(payload) == "'" + payload
    assert cell(Decimal("-12.50")) == Decimal("-12.50")
    assert cell(-3) == -3 and cell(date(2026, 1, 2)) == date(2026, 1, 2)
    assert safe_text("Plain name") == "Plain name" and safe_text(None) == ""


def test_no_code_writes_csv_or_xlsx_rows_except_the_one_writer():
    offenders = []
    for path in ROOT.glob("*/**/*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.split("/")[0] in ("tests", ".venv", "bench", "build", "scripts") or rel == "ledger_site/exports.py":
            continue
        text = path.read_text()
        if re.search(r"csv\.(writer|DictWriter)\(|Workbook\(|\b(ws|sheet|worksheet)\.(append|cell)\(", text):
            offenders.append(rel)
    assert offenders == []


@pytest.fixture
def planted(owner_sql):
    org, owner = make_org(slug="planted")
    payload = iter(PAYLOADS * 4)
    with tenant_context(org):
        customer = CustomerFactory(organization=org, code=next(payload)[:20], name=next(payload))
        invoice = issued(org, customer, reference=next(payload))
        number = next(payload)[:30]
        payment = pay(org, customer, "10.00", reference=next(payload), allocation="none")
        reverse_payment(payment, reason=next(payload))
        pay(org, customer, "5.00", reference=next(payload), allocation="none")
        acc = system_accounts(org)
        ledger.post(org, [Line(acc["ar"], Decimal("-7"), customer), Line(acc["revenue"], Decimal("7"))],
                    effective_date=date.today(), idempotency_key="planted-memo", memo=next(payload),
                    source_label=next(payload)[:100])
    # An issued invoice is frozen by the database (accounts.frozen); a planted number can only
    # arrive from outside (an import of another system's numbers), so write it past the triggers.
    with triggers_off(owner_sql, "invoicing_invoice"):
        owner_sql.execute("UPDATE invoicing_invoice SET number = %s WHERE id = %s", [number, invoice.pk])
    client = Client()
    client.force_login(owner)
    return org, customer, client


def csv_cells(body: bytes):
    for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))):
        yield from row


@pytest.mark.django_db(transaction=True)
def test_every_export_neutralises_every_planted_text_cell(planted):
    org, customer, client = planted
    o = {"org_slug": org.slug}
    csv_urls = [
        reverse("customer_ledger_csv", kwargs={**o, "pk": customer.pk}),
        reverse("invoice_export", kwargs=o),
        reverse("payment_export", kwargs=o),
        reverse("aging_export", kwargs={**o, "fmt": "csv"}),
    ]
    seen = set()
    for url in csv_urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store"
        body = b"".join(response.streaming_content) if response.streaming else response.content
        cells = list(csv_cells(body))
        assert [c for c in cells if dangerous(c)] == [], url
        seen |= {c[1:] for c in cells if c.startswith("'")}
    response = client.get(reverse("aging_export", kwargs={**o, "fmt": "xlsx"}))
    assert response["Cache-Control"] == "private, no-store"
    sheet = load_workbook(io.BytesIO(response.content)).active
    texts = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, str)]
    assert texts and [t for t in texts if dangerous(t)] == []
    seen |= {t[1:] for t in texts if t.startswith("'")}
    # Every planted field reached some export, neutralised (so the scan above looked at them).
    assert {p.strip()[:20] for p in PAYLOADS} <= {s.strip()[:20] for s in seen}
    assert customer.code in seen and customer.name in seen
