"""Late-fee charges are sealed (reminders.seals) and append-only: the fee document (an invoice of
kind late_fee) and the charge binding it to the overdue invoice; a superuser who edits, moves or
deletes a charge with the triggers off is named by verify_ledger."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from accounts.ledger_verify import verify_organization
from accounts.models import SealRecord
from ledger_site.tenancy import tenant_context
from reminders.late_fees import charge_late_fee
from reminders.models import LateFeeCharge
from tests.ledger.test_tamper import triggers_off
from tests.reminders.helpers import TODAY, invoice_due, org_with_customer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def charged():
    org, owner, customer = org_with_customer(name="Late Payer Ltd")
    invoice = invoice_due(org, customer, TODAY - timedelta(days=20))
    other = invoice_due(org, customer, TODAY - timedelta(days=20))
    with tenant_context(org, owner):
        charge = charge_late_fee(invoice, 14, Decimal("25.00"), TODAY)
        spare = charge_late_fee(other, 14, Decimal("30.00"), TODAY)
    return org, invoice, charge, spare


def problems(org):
    with tenant_context(org):
        return verify_organization(org).problems


def test_a_charge_and_its_fee_document_are_sealed_and_verify(charged):
    org, invoice, charge, _ = charged
    with tenant_context(org):
        kinds = {(s.kind, s.object_id) for s in SealRecord.objects.filter(organization=org)}
        assert ("late_fee_charge", charge.pk) in kinds and ("invoice", charge.fee_invoice_id) in kinds
        seal = SealRecord.objects.get(organization=org, kind="late_fee_charge", object_id=charge.pk)
        assert seal.label == f"late fee {charge.fee_invoice.number} on {invoice.number}"
        assert seal.entry_id == charge.fee_invoice.issue_entry_id
    assert problems(org) == []


def test_a_charge_is_append_only(charged):
    org, _, charge, _ = charged
    with tenant_context(org):
        for sql in ("UPDATE reminders_latefeecharge SET amount = 1 WHERE id = %s",
                    "DELETE FROM reminders_latefeecharge WHERE id = %s"):
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
                c.execute(sql, [charge.pk])
        assert LateFeeCharge.objects.get(pk=charge.pk).amount == Decimal("25.00")


@pytest.mark.parametrize("tamper, message", [
    ("UPDATE reminders_latefeecharge SET amount = 2.00 WHERE id = %(charge)s",
     "no longer matches the hash sealed"),
    ("UPDATE reminders_latefeecharge SET offset_days = 60 WHERE id = %(charge)s",
     "no longer matches the hash sealed"),
    ("DELETE FROM reminders_latefeecharge WHERE id = %(spare)s", "has been deleted"),
])
def test_a_tampered_charge_is_named(charged, owner_sql, tamper, message):
    org, invoice, charge, spare = charged
    with triggers_off(owner_sql, "reminders_latefeecharge"):
        owner_sql.execute(tamper, {"charge": charge.pk, "spare": spare.pk})
    found = problems(org)
    deleted = "DELETE" in tamper
    named = [p for p in found if p.startswith("late fee " + ("" if deleted else charge.fee_invoice.number))]
    assert any(message in p for p in named), found
    if not deleted:
        assert any("Late Payer Ltd" in p for p in named), found  # the customer is named too


def test_a_charge_written_past_the_triggers_is_named_unsealed(charged, owner_sql):
    org, invoice, charge, spare = charged
    with triggers_off(owner_sql, "reminders_latefeecharge"):
        owner_sql.execute("INSERT INTO reminders_latefeecharge (organization_id, invoice_id, offset_days, "
                          "fee_invoice_id, amount, created_at) SELECT organization_id, invoice_id, 30, %s, amount, "
                          "created_at FROM reminders_latefeecharge WHERE id = %s", [spare.invoice_id, charge.pk])
    found = problems(org)
    assert any("never sealed" in p for p in found), found
