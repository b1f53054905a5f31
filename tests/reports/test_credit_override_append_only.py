"""Credit overrides are an audit trail: the database refuses UPDATE, DELETE and TRUNCATE of them
(reports migration 0011), as it does for the journal; issuing with an override still records one,
and an issue that fails after the override was approved leaves none behind."""

from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from accounts.ledger import LedgerError
from invoicing import services
from invoicing.models import CreditOverride, Invoice, InvoiceStatus
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued

LINES = (("Work", "1", "500.00", None),)
STATEMENTS = [
    "UPDATE reports_creditoverride SET reason = 'rewritten'",
    "DELETE FROM reports_creditoverride",
    "TRUNCATE reports_creditoverride",
]


@pytest.fixture
def over_limit():
    """An organization whose customer (limit 1,000.00, owing 800.00) has a 500.00 draft to issue."""
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, credit_limit=Decimal("1000.00"))
        issued(org, customer, (("Work", "1", "800.00", None),))  # system issuing: not checked
        return org, owner, draft(org, customer, LINES)


def override_issued(org, owner, invoice):
    with tenant_context(org, owner):
        inv = issue_invoice(invoice, actor=owner, credit_override="Paying on Friday")
        override = CreditOverride.objects.get()
    assert inv.status == InvoiceStatus.ISSUED and override.invoice_id == inv.pk
    return override


@pytest.mark.django_db
@pytest.mark.parametrize("statement", STATEMENTS)
def test_the_application_role_cannot_change_an_override(over_limit, statement):
    org, owner, invoice = over_limit
    override_issued(org, owner, invoice)
    with tenant_context(org, owner):
        # Visible under row-level security, so a refusal is not just "no rows matched".
        assert CreditOverride.objects.filter(reason="Paying on Friday").count() == 1
        # The application role holds no UPDATE, DELETE or TRUNCATE right on the table (accounts.signals).
        refused = pytest.raises(DatabaseError, match="permission denied for table reports_creditoverride")
        with refused, transaction.atomic(), connection.cursor() as c:
            c.execute(statement)
        assert CreditOverride.objects.filter(reason="Paying on Friday").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("statement", STATEMENTS)
def test_the_triggers_refuse_even_the_table_owner(over_limit, owner_sql, statement):
    """Committed rows, changed through the superuser's connection: the triggers refuse all three."""
    org, owner, invoice = over_limit
    override_issued(org, owner, invoice)
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: .* on reports_creditoverride"):
        owner_sql.execute(statement)
    assert owner_sql.execute("SELECT reason FROM reports_creditoverride").fetchall() == [("Paying on Friday",)]


@pytest.mark.django_db
def test_an_issue_failing_after_the_override_leaves_no_override(over_limit, monkeypatch):
    """The override is written inside issuing's transaction: a later failure takes it back too."""
    org, owner, invoice = over_limit

    def failing_post(*args):
        assert CreditOverride.objects.count() == 1  # approved and written, then the posting fails
        raise LedgerError("posting failed")

    monkeypatch.setattr(services, "_post_issue", failing_post)
    with tenant_context(org, owner):
        with pytest.raises(LedgerError, match="posting failed"):
            issue_invoice(invoice, actor=owner, credit_override="Paying on Friday")
        assert not CreditOverride.objects.exists()
        assert Invoice.objects.get(pk=invoice.pk).status == InvoiceStatus.DRAFT
