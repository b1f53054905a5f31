"""Ten years of settled history imported: the ledger verifies and the reminder scan sends nothing;
an imported invoice still open and overdue is reminded like any other (the control)."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
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


def fifteen_years(today):
    invoices = ["number,customer_code,issue_date,description,unit_price,tax"]
    payments = ["customer_code,received_date,amount,reference,invoices"]
    for n in range(90):  # one every two months, the first fifteen years ago
        issued = today - timedelta(days=15 * 365 - n * 60)
        invoices.append(f"F{n:04d},0042,{issued:%Y-%m-%d},Period {n},100.00,20")
        payments.append(f"0042,{issued + timedelta(days=20):%Y-%m-%d},120.00,P{n},F{n:04d}")
    return ("\n".join(invoices) + "\n").encode(), ("\n".join(payments) + "\n").encode()


def test_fifteen_years_of_settled_history_imports_from_the_books_start_and_a_scan_sends_nothing():
    from accounts import period
    from accounts.models import PeriodLockEvent

    org, owner = make_org()
    today = timezone.localdate()
    start = today - timedelta(days=15 * 365 + 1)
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    invoices, payments = fifteen_years(today)
    # Without a books start that early, the rows older than the ledger's window are refused.
    refused = do_import(org, "invoices", invoices, actor=owner)
    assert not refused.committed
    old = [e for e in refused.errors if "oldest date the ledger accepts" in e.message]
    assert len(old) == refused.error_count and 25 <= len(old) <= 35  # the first five years
    # The dry run with the option moves nothing; the import moves the books start, logged.
    options = {"books_start": start.isoformat()}
    assert do_import(org, "invoices", invoices, actor=owner, commit=False, options=options).ok
    with tenant_context(org):
        assert period.state(org)[1] is None
    assert do_import(org, "invoices", invoices, actor=owner, options=options).committed
    assert do_import(org, "payments", payments, actor=owner).committed
    with tenant_context(org):
        assert period.state(org)[1] == start
        assert PeriodLockEvent.objects.filter(action="books_start", new_date=start).count() == 1
        assert Invoice.objects.filter(issue_date__lt=today - timedelta(days=14 * 365)).count() >= 5
        assert Invoice.objects.filter(amount_due__gt=0).count() == 0
        assert verify_organization(org).ok
    call_command("verify_ledger", "--org", org.slug, stdout=StringIO())
    result = scan(now=at(today + timedelta(days=1)), org_ids=[org.pk], enqueue=lambda *a: None)
    with tenant_context(org):
        assert result.queued == 0 and ReminderMessage.objects.filter(organization=org).count() == 0


def test_moving_the_books_start_is_an_owners_decision_and_nothing_is_imported_otherwise():
    from tests.factories import add_member

    org, owner = make_org()
    finance = add_member(org)
    today = timezone.localdate()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    invoices, _payments = fifteen_years(today)
    report = do_import(org, "invoices", invoices, actor=finance,
                       options={"books_start": (today - timedelta(days=6000)).isoformat()})
    assert not report.committed and "Only an owner" in report.errors[0].message
    with tenant_context(org):
        assert Invoice.objects.count() == 0


def test_the_ledger_takes_an_entry_older_than_its_window_only_from_the_books_start():
    from accounts import ledger, period
    from accounts.chart import system_accounts
    from accounts.ledger import LedgerError, Line
    from accounts.ledger_bulk import BulkEntry, bulk_post

    org, owner = make_org()
    old = timezone.localdate() - timedelta(days=12 * 366)
    with tenant_context(org, owner):
        acc = system_accounts(org)
        lines = [Line(acc["bank"], Decimal("5.00")), Line(acc["opening"] if "opening" in acc else acc["revenue"],
                                                         Decimal("-5.00"))]
        with pytest.raises(LedgerError, match="before the books start"):
            ledger.post(org, lines, effective_date=old, idempotency_key="old-1")
        with pytest.raises(LedgerError, match="before the books start"):
            bulk_post(org, [BulkEntry(lines, effective_date=old, idempotency_key="old-2")])
        period.set_books_start(org, old, actor=owner)
        assert ledger.post(org, lines, effective_date=old, idempotency_key="old-1").effective_date == old
        assert bulk_post(org, [BulkEntry(lines, effective_date=old, idempotency_key="old-2")]).posted == 1
        with pytest.raises(LedgerError, match="books start"):
            ledger.post(org, lines, effective_date=old - timedelta(days=1), idempotency_key="old-3")
        assert verify_organization(org).ok


def test_the_import_page_moves_the_books_start_with_the_import_and_does_not_save_it_in_the_mapping():
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client
    from django.urls import reverse

    from accounts import period
    from accounts.models import ImportJob, ImportMapping

    org, owner = make_org()
    today = timezone.localdate()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    old = today - timedelta(days=12 * 365)
    data = f"number,customer_code,issue_date,description,unit_price\nV-1,0042,{old:%Y-%m-%d},Old,10\n".encode()
    client = Client()
    client.force_login(owner)
    base = reverse("import_list", kwargs={"org_slug": org.slug})
    client.post(base, {"kind": "invoices", "file": SimpleUploadedFile("i.csv", data), "encoding": "", "delimiter": ""})
    with tenant_context(org):
        job = ImportJob.objects.get(kind="invoices")
    detail = reverse("import_detail", kwargs={"org_slug": org.slug, "pk": job.pk})
    assert "Move the books start earlier to" in client.get(detail).content.decode()
    mapping = {"action": "check", "map_number": "number", "map_customer_code": "customer_code",
               "map_issue_date": "issue_date", "map_description": "description", "map_unit_price": "unit_price"}
    client.post(detail, {**mapping, "save_as": ""})
    with tenant_context(org):
        assert ImportJob.objects.get(pk=job.pk).report["error_count"] == 1  # older than ten years
    client.post(detail, {**mapping, "books_start": old.isoformat(), "save_as": "Old books"})
    with tenant_context(org):
        job = ImportJob.objects.get(pk=job.pk)
        assert job.status == "checked" and job.report["error_count"] == 0, job.report
        assert period.state(org)[1] is None  # the dry run moved nothing
        assert "books_start" not in ImportMapping.objects.get(name="Old books").options
    client.post(detail, {"action": "commit"})
    with tenant_context(org):
        assert ImportJob.objects.get(pk=job.pk).status == "done"
        assert period.state(org)[1] == old and Invoice.objects.get(number="V-1").issue_date == old
