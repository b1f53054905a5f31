"""Issuing takes the organization-wide locks last (invoicing.services.issue_invoice): the number
series row and the ledger head are only waited for once every check, the totals, the snapshot and
the rate are done, so an issue that is refused never queues behind the organization's other
issues, and the numbers and the chain stay exact.

Transactional tests: a second connection (the owner's, tests/conftest.py) holds the locks."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import OperationalError
from django.utils import timezone

from accounts.ledger import LedgerError
from accounts.ledger_verify import verify_organization
from accounts.period import close_period
from invoicing import issuing, services
from invoicing.credit_control import CreditLimitExceeded
from invoicing.models import Invoice, InvoiceStatus, NumberSeries
from invoicing.services import InvoiceError, issue_invoice
from ledger_site.tenancy import tenant_context
from tests.concurrency import call_order, lock_timeout
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

pytestmark = pytest.mark.django_db(transaction=True)

UNTAXED = (("Work", "1", "300.00", None),)


@pytest.fixture
def org_with_limit():
    """An organization with one issued invoice (the number series exists), a customer at its
    credit limit and one with room."""
    org, owner = make_org()
    with tenant_context(org, owner):
        tight = CustomerFactory(organization=org, credit_limit=D("100.00"))
        roomy = CustomerFactory(organization=org)
        issued(org, roomy, UNTAXED)
    return org, owner, tight, roomy


def _hold_org_locks(owner_sql, org):
    """Lock the organization's number series rows and ledger head from another connection (in the
    caller's `with owner_sql.transaction()`)."""
    series = owner_sql.execute("SELECT count(*) FROM (SELECT 1 FROM invoicing_numberseries "
                               "WHERE organization_id = %s FOR UPDATE) s", [org.pk]).fetchone()[0]
    head = owner_sql.execute("SELECT count(*) FROM (SELECT 1 FROM accounts_ledgerhead "
                             "WHERE organization_id = %s FOR UPDATE) h", [org.pk]).fetchone()[0]
    assert series >= 1 and head == 1


@pytest.fixture
def short_lock_timeout():
    with lock_timeout(2):
        yield


def test_a_refused_issue_does_not_wait_for_the_organizations_locks(org_with_limit, owner_sql, short_lock_timeout):
    """While another transaction holds the number series and the ledger head, refusals come back
    at once. Fails (lock timeout) when the number is taken before the checks."""
    org, owner, tight, roomy = org_with_limit
    with tenant_context(org, owner):
        over_limit = draft(org, tight, UNTAXED)
        zero = draft(org, roomy, (("Nothing", "1", "0.00", None),))
        with owner_sql.transaction():
            _hold_org_locks(owner_sql, org)
            with pytest.raises(CreditLimitExceeded):
                issue_invoice(over_limit, actor=owner)
            with pytest.raises(InvoiceError, match="more than zero"):
                issue_invoice(zero, actor=owner)
            # The locks held are the ones issuing needs: a valid issue does wait for them.
            with pytest.raises(OperationalError, match="lock timeout"):
                issue_invoice(draft(org, roomy, UNTAXED), actor=owner)
        assert NumberSeries.objects.get(organization=org, kind="invoice").last_number == 1
        assert Invoice.objects.filter(organization=org, status=InvoiceStatus.ISSUED).count() == 1


def test_the_number_and_the_posting_come_after_every_check_and_computation(org_with_limit, monkeypatch):
    org, owner, _tight, roomy = org_with_limit
    calls = call_order(monkeypatch, [
        (services, "check_on_issue", "credit control"),
        (services, "_snapshot", "snapshot"),
        (services.ledger, "rate_of", "rate"),
        (services.documents, "render_task_row", "render task"),
        (services, "take_number", "number"),
        (services, "_post_issue", "ledger head"),
        (issuing, "store_issued", "store"),
    ])
    with tenant_context(org, owner):
        invoice = issue_invoice(draft(org, roomy, UNTAXED), actor=owner)
    assert calls == ["credit control", "snapshot", "rate", "render task", "number", "ledger head", "store"]
    assert invoice.number.endswith("00002")


def test_a_posting_refused_after_the_number_was_taken_gives_the_number_back(org_with_limit):
    """The ledger refuses a date in a closed period under its head lock, after the number was
    taken: the number returns with the rollback, and the next issue gets it."""
    org, owner, _tight, roomy = org_with_limit
    today = timezone.localdate()
    with tenant_context(org, owner):
        close_period(org, today - timedelta(days=10), actor=owner)
        old = draft(org, roomy, UNTAXED, issue_date=today - timedelta(days=20), due_date=today)
        with pytest.raises(LedgerError, match="closed|lock"):
            issue_invoice(old, actor=owner)
        assert Invoice.objects.get(pk=old.pk).status == InvoiceStatus.DRAFT
        assert NumberSeries.objects.get(organization=org, kind="invoice").last_number == 1
        again = issue_invoice(draft(org, roomy, UNTAXED), actor=owner)
        assert again.number.endswith("00002")
        assert verify_organization(org).ok
