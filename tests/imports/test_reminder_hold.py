"""The invoices (and opening balances) import's option to hold reminders of invoices that were
already overdue when imported (issue 14): a ReminderHold per such invoice, placed by reminders
through the framework's option (accounts.imports.OPTIONS), so invoicing never imports reminders.
The scan sends nothing for them until the day has passed, then the latest step due once."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from invoicing.models import Invoice, InvoiceEvent
from ledger_site.tenancy import tenant_context
from reminders.holds import active_holds
from reminders.models import ReminderHold, ReminderMessage
from reminders.scheduler import scan
from tests.factories import make_org
from tests.imports.helpers import CUSTOMERS, do_import
from tests.reminders.helpers import at

pytestmark = pytest.mark.django_db


def files(today):
    """OLD-1 due 20 days ago (overdue when imported), NEW-1 due in ten days."""
    return (f"number,customer_code,issue_date,due_date,description,unit_price,tax\n"
            f"OLD-1,0042,{today - timedelta(days=50):%Y-%m-%d},{today - timedelta(days=20):%Y-%m-%d},Old,100.00,20\n"
            f"NEW-1,0042,{today - timedelta(days=20):%Y-%m-%d},{today + timedelta(days=10):%Y-%m-%d},New,80.00,0\n"
            ).encode()


def new_org():
    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    return org, owner


def sent_for(org, number):
    with tenant_context(org):
        return ReminderMessage.objects.filter(invoice__number=number, status="pending").count()


@pytest.mark.parametrize("hold", [True, False])
def test_overdue_imported_invoices_are_held_until_the_day_then_reminded_once(hold):
    org, owner = new_org()
    today = timezone.localdate()
    until = today + timedelta(days=7)
    options = {"hold_reminders_until": until.isoformat()} if hold else {}
    report = do_import(org, "invoices", files(today), actor=owner, options=options)
    assert report.committed, report.errors
    with tenant_context(org):
        holds = list(ReminderHold.objects.values_list("invoice__number", "until"))
        old = Invoice.objects.get(number="OLD-1")
        if hold:
            assert report.written == {"invoices": 2, "hold_reminders_until": 1}
            assert holds == [("OLD-1", until)]  # NEW-1 was not overdue
            assert active_holds(old, today) == [f"reminders are held until {until}"]
            assert InvoiceEvent.objects.filter(invoice=old, kind="hold").count() == 1
        else:
            assert holds == [] and active_holds(old, today) == []
    scan(now=at(today + timedelta(days=1)), org_ids=[org.pk], enqueue=lambda *a: None)
    assert sent_for(org, "OLD-1") == (0 if hold else 1)  # without the option: reminded at once (the control)
    scan(now=at(until), org_ids=[org.pk], enqueue=lambda *a: None)
    assert sent_for(org, "OLD-1") == (0 if hold else 1)  # the last day held
    if hold:
        scan(now=at(until + timedelta(days=1)), org_ids=[org.pk], enqueue=lambda *a: None)
        assert sent_for(org, "OLD-1") == 1  # the hold has ended: the latest step due, once


def test_a_past_or_bad_day_is_refused_in_the_dry_run_and_nothing_is_imported():
    org, owner = new_org()
    today = timezone.localdate()
    for value, message in (((today - timedelta(days=1)).isoformat(), "has passed"), ("31/12/2030", "not a day")):
        for commit in (False, True):
            report = do_import(org, "invoices", files(today), actor=owner, commit=commit,
                               options={"hold_reminders_until": value})
            assert not report.ok and not report.committed
            assert [(e.row, e.column, e.value) for e in report.errors] == [(None, "hold_reminders_until", value)]
            assert message in report.errors[0].message
    with tenant_context(org):
        assert not Invoice.objects.exists() and not ReminderHold.objects.exists()


def test_importing_the_file_again_holds_nothing_twice_and_the_command_takes_the_option(tmp_path):
    org, owner = new_org()
    today = timezone.localdate()
    path = tmp_path / "invoices.csv"
    path.write_bytes(files(today))
    until = (today + timedelta(days=3)).isoformat()
    out = StringIO()
    call_command("import_data", "invoices", str(path), "--org", org.slug, "--option", f"hold_reminders_until={until}",
                 stdout=out, stderr=StringIO())
    assert "'hold_reminders_until': 1" in out.getvalue()
    call_command("import_data", "invoices", str(path), "--org", org.slug, "--option", f"hold_reminders_until={until}",
                 stdout=StringIO(), stderr=StringIO())
    with tenant_context(org):
        assert ReminderHold.objects.count() == 1


def test_opening_balances_take_the_option_too():
    org, owner = new_org()
    today = timezone.localdate()
    text = f"customer_code,date,amount\n0042,{today - timedelta(days=90):%Y-%m-%d},500.00\n"
    report = do_import(org, "opening_balances", text.encode(), actor=owner,
                       options={"hold_reminders_until": (today + timedelta(days=5)).isoformat()})
    assert report.committed, report.errors
    with tenant_context(org):
        assert ReminderHold.objects.get().invoice.number.startswith("OB-0042-")
