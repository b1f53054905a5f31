"""Ten years of settled history imported: the ledger verifies and the reminder scan sends nothing;
an imported invoice still open and overdue is reminded like any other (the control)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.ledger_verify import verify_organization
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from reminders.models import ReminderMessage
from reminders.scheduler import scan
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, do_import
from tests.reminders.helpers import at

pytestmark = pytest.mark.django_db


def ten_years(today, open_last: bool):
    invoices = ["number,customer_code,issue_date,description,unit_price,tax"]
    payments = ["customer_code,received_date,amount,reference,invoices"]
    for n in range(120):
        issued = today - timedelta(days=3640 - n * 30)
        if open_last and n == 119:
            issued = today - timedelta(days=35)  # due five days ago: within the default policy's steps
        invoices.append(f"H{n:04d},0042,{issued:%Y-%m-%d},Month {n},100.00,20")
        if not (open_last and n == 119):
            payments.append(f"0042,{issued + timedelta(days=25):%Y-%m-%d},120.00,P{n},H{n:04d}")
    return ("\n".join(invoices) + "\n").encode(), ("\n".join(payments) + "\n").encode()


@pytest.mark.parametrize("open_last", [False, True])
def test_a_scan_after_ten_years_of_settled_history_sends_nothing(open_last):
    org = make_org()[0]
    today = timezone.localdate()
    assert do_import(org, "customers", CUSTOMERS.encode()).committed
    invoices, payments = ten_years(today, open_last)
    assert do_import(org, "invoices", invoices).committed
    assert do_import(org, "payments", payments).committed
    with tenant_context(org):
        assert verify_organization(org).ok
        assert Invoice.objects.filter(amount_due__gt=0).count() == (1 if open_last else 0)
    result = scan(now=at(today + timedelta(days=1)), org_ids=[org.pk], enqueue=lambda *a: None)
    with tenant_context(org):
        messages = ReminderMessage.objects.filter(organization=org).count()
    if open_last:  # the control: the scan does see imported invoices
        assert result.queued == 1 and messages >= 1
    else:
        assert result.queued == 0 and messages == 0
