"""Tax rates, reminder policies and their steps (where late fees are set) are in the audit log too,
with who and before/after, whatever changes them."""

from decimal import Decimal

import pytest

from accounts.models import AuditEvent
from invoicing.models import TaxRate
from ledger_site.tenancy import tenant_context
from reminders.models import FeeType, ReminderPolicy, ReminderStep
from tests.factories import make_org

pytestmark = pytest.mark.django_db


def test_tax_rate_policy_and_late_fee_changes_are_logged():
    org, owner = make_org()
    with tenant_context(org, owner):
        rate = TaxRate.objects.create(organization=org, name="Standard 23", percent=Decimal("23.00"))
        rate.percent = Decimal("21.00")
        rate.save()
        policy = ReminderPolicy.objects.filter(organization=org).first() or ReminderPolicy.objects.create(
            organization=org, name="Audit policy")
        policy.name = "Renamed policy"
        policy.save()
        step = ReminderStep.objects.create(organization=org, policy=policy, offset_days=99, subject="Late",
                                           body="Pay", fee_type=FeeType.FIXED, fee_value=Decimal("10.00"))
        step.fee_value = Decimal("40.00")
        step.save()
        step_id = step.pk
        step.delete()
        log = {(e.table_name, e.object_id, e.action): e for e in AuditEvent.objects.filter(organization=org)}
    change = log[("invoicing_taxrate", rate.pk, "update")]
    assert (change.actor, change.changed, change.before["percent"], change.after["percent"]) == (
        owner, ["percent"], 23.0, 21.0)
    assert log[("reminders_reminderpolicy", policy.pk, "update")].after["name"] == "Renamed policy"
    fee = log[("reminders_reminderstep", step_id, "update")]
    assert (fee.changed, fee.before["fee_value"], fee.after["fee_value"]) == (["fee_value"], 10.0, 40.0)
    assert ("reminders_reminderstep", step_id, "delete") in log
