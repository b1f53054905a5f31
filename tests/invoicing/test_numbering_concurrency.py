"""Numbering and idempotency under concurrency: several threads issue in one organization at once.

Threads run through tests.concurrency.run_at_once (one connection each, in the organization's
context); rows are committed, so these are transactional tests.
"""

from datetime import date
from decimal import Decimal

import pytest

from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry
from invoicing.credit_notes import credit_amount
from invoicing.models import CreditNote, Invoice, NumberSeries, WriteOff
from invoicing.services import InvoiceError, issue_invoice, write_off
from ledger_site.tenancy import tenant_context
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 6
PER_THREAD = 8


@pytest.fixture
def org_and_drafts():
    org, owner = make_org()
    with tenant_context(org, owner):
        customers = [CustomerFactory(organization=org) for _ in range(3)]
        drafts = [draft(org, customers[n % 3]) for n in range(THREADS * PER_THREAD)]
    return org, owner, drafts


def test_concurrent_issuing_gives_gapless_unique_numbers(org_and_drafts):
    org, owner, drafts = org_and_drafts

    def issue_share(i):
        return [issue_invoice(d).number for d in drafts[i::THREADS]]

    numbers = [n for share in run_at_once(THREADS, issue_share, org=org, actor=owner) for n in share]
    year = date.today().year
    expected = {f"INV-{year}-{n:05d}" for n in range(1, THREADS * PER_THREAD + 1)}
    assert len(numbers) == len(set(numbers)) == THREADS * PER_THREAD
    assert set(numbers) == expected  # no gap, no duplicate
    with tenant_context(org, owner):
        assert set(Invoice.objects.filter(organization=org).values_list("number", flat=True)) == expected
        assert NumberSeries.objects.get(organization=org, kind="invoice", year=year).last_number == len(expected)
        result = verify_organization(org)
        assert result.ok, result.problems


def test_concurrent_double_issue_of_one_draft_posts_once(org_and_drafts):
    org, owner, drafts = org_and_drafts
    target = drafts[0]

    def try_issue(_i):
        try:
            return issue_invoice(target).number
        except InvoiceError:
            return None

    numbers = [n for n in run_at_once(THREADS, try_issue, org=org, actor=owner) if n]
    assert len(numbers) == 1
    with tenant_context(org, owner):
        assert JournalEntry.objects.filter(organization=org).count() == 1
        assert NumberSeries.objects.get(organization=org, kind="invoice").last_number == 1


def test_concurrent_write_offs_and_credit_notes_with_one_key_post_once():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        inv = issued(org, customer)  # 240.00

    def submit(_i):
        wo = write_off(inv, Decimal("40.00"), "double click", idempotency_key="ui:wo:same")
        note = credit_amount(customer, Decimal("50.00"), "double click", invoice=inv, idempotency_key="ui:cn:same")
        return wo.pk, note.pk

    results = run_at_once(THREADS, submit, org=org, actor=owner)
    assert len(set(results)) == 1
    with tenant_context(org, owner):
        assert WriteOff.objects.filter(invoice=inv).count() == 1
        assert CreditNote.objects.filter(organization=org).count() == 1
        assert NumberSeries.objects.get(organization=org, kind="credit_note").last_number == 1
        inv.refresh_from_db()
        assert inv.amount_due == Decimal("150.00")
        assert verify_organization(org).ok
