"""Imports and the period lock (accounts.period): rows dated on or before the lock date, or
before the books start, are refused in the dry run on their row with the date named; a commit
checks again under the ledger head's lock, so a period closed after the dry run refuses the whole
file; an owner moving the books start earlier (with a reason, other owners told) lets older
history in."""

from datetime import date

import psycopg
import pytest
from django.core import mail
from django.db import connection

from accounts import period
from accounts.models import JournalEntry, PeriodLockEvent, Role
from invoicing.models import CreditNote, Invoice
from ledger_site.tenancy import tenant_context
from payments.models import Payment
from tests.db_roles import owner_conninfo
from tests.factories import UserFactory, add_member, make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, PAYMENTS, do_import

pytestmark = pytest.mark.django_db

CREDIT_NOTES = ("number,customer_code,issue_date,amount,invoice_number\n"
                "CN-1,0042,2025-04-10,10.00,OLD-001\n"
                "CN-2,0043,2025-05-10,5.00,\n")


@pytest.fixture
def books():
    org, owner = make_org()
    assert do_import(org, "customers", CUSTOMERS.encode(), actor=owner).committed
    with tenant_context(org, owner):
        yield org, owner


def written(org):
    with tenant_context(org):
        return (Invoice.objects.count(), Payment.objects.count(), CreditNote.objects.count(),
                JournalEntry.objects.count())


def errors_of(report):
    return [(e.row, e.column, e.message) for e in report.errors]


def test_the_dry_run_refuses_each_row_on_or_before_the_lock_date_naming_it(books):
    org, owner = books
    period.close_period(org, date(2025, 3, 15), actor=owner)  # OLD-001 is dated the lock date itself
    report = do_import(org, "invoices", INVOICES.encode(), commit=False, actor=owner)
    assert errors_of(report) == [(2, "issue_date", "The books are closed up to 2025-03-15: nothing dated 2025-03-15 "
                                                   "can be recorded. An owner can reopen the period.")]
    assert report.new == 1  # OLD-002, dated after the lock, is fine
    assert not do_import(org, "invoices", INVOICES.encode(), actor=owner).committed
    assert written(org) == (0, 0, 0, 0)

    period.reopen_period(org, None, actor=owner, reason="bring the history in")
    assert do_import(org, "invoices", INVOICES.encode(), actor=owner).committed
    period.close_period(org, date(2025, 4, 1), actor=owner)
    report = do_import(org, "payments", PAYMENTS.encode(), commit=False, actor=owner)
    assert [(r, c) for r, c, _ in errors_of(report)] == [(2, "received_date")]
    assert "closed up to 2025-04-01" in report.errors[0].message
    report = do_import(org, "credit_notes", CREDIT_NOTES.encode(), commit=False, actor=owner)
    assert errors_of(report) == []  # both after the lock
    period.close_period(org, date(2025, 4, 30), actor=owner)
    report = do_import(org, "credit_notes", CREDIT_NOTES.encode(), actor=owner)
    assert [(r, c) for r, c, _ in errors_of(report)] == [(2, "issue_date")]
    assert "closed up to 2025-04-30" in report.errors[0].message and not report.committed
    assert written(org) == (2, 0, 0, 2)


def test_rows_before_the_books_start_are_refused_until_an_owner_moves_it_earlier_with_a_reason(
        books, django_capture_on_commit_callbacks):
    org, owner = books
    other_owner = add_member(org, Role.OWNER)
    finance = add_member(org, Role.FINANCE)
    period.set_books_start(org, date(2025, 3, 18), actor=owner)
    report = do_import(org, "invoices", INVOICES.encode(), commit=False, actor=owner)
    assert [(r, c) for r, c, _ in errors_of(report)] == [(2, "issue_date")]
    assert report.errors[0].message.startswith("The books start on 2025-03-18: nothing dated 2025-03-15")
    assert "move the books start earlier" in report.errors[0].message

    mail.outbox.clear()
    with pytest.raises(period.PeriodError, match="Only an owner"):
        period.set_books_start(org, date(2025, 1, 1), actor=finance, reason="history")
    with pytest.raises(period.PeriodError, match="Say why"):
        period.set_books_start(org, date(2025, 1, 1), actor=owner)
    assert period.state(org) == (None, date(2025, 3, 18)) and mail.outbox == []

    with django_capture_on_commit_callbacks(execute=True):
        period.set_books_start(org, date(2025, 1, 1), actor=owner, reason="import 2025 history")
    event = PeriodLockEvent.objects.filter(organization=org).order_by("-pk").first()
    assert (event.action, event.old_date, event.new_date, event.reason) == (
        "books_start", date(2025, 3, 18), date(2025, 1, 1), "import 2025 history")
    assert [m.to for m in mail.outbox] == [[other_owner.email]]
    assert "import 2025 history" in mail.outbox[0].body and "2025-01-01" in mail.outbox[0].subject
    report = do_import(org, "invoices", INVOICES.encode(), actor=owner)
    assert report.committed and report.new == 2


def test_a_period_closed_between_the_dry_run_and_the_commit_refuses_the_whole_file(books):
    org, owner = books
    dry = do_import(org, "invoices", INVOICES.encode(), commit=False, actor=owner)
    assert dry.ok and dry.new == 2
    period.close_period(org, date(2025, 3, 31), actor=owner)
    report = do_import(org, "invoices", INVOICES.encode(), actor=owner)
    assert not report.committed
    assert [(r, c) for r, c, _ in errors_of(report)] == [(2, "issue_date"), (4, "issue_date")]
    assert all("closed up to 2025-03-31" in e.message for e in report.errors)
    assert written(org) == (0, 0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_commit_holds_the_ledger_head_so_the_period_cannot_close_while_it_runs(books):
    """Without the engine's lock on the ledger head, closing the books during the checks would
    succeed, and the writes would meet a period the checks never saw."""
    org, owner = books
    dbname = connection.settings_dict["NAME"]
    outcomes = []

    def try_to_close(phase, done, total):
        if phase != "check" or outcomes:
            return
        with psycopg.connect(owner_conninfo(), autocommit=True) as other:  # the server the tests use
            other.execute("SET lock_timeout = '300ms'")
            try:
                cursor = other.execute("UPDATE accounts_ledgerhead SET lock_date = '2025-12-31' "
                                       "WHERE organization_id = %s", [org.pk])
                outcomes.append(f"closed {cursor.rowcount} in {dbname}")
            except psycopg.errors.LockNotAvailable:
                outcomes.append("waited")

    report = do_import(org, "invoices", INVOICES.encode(), actor=owner, progress=try_to_close)
    assert outcomes == ["waited"] and report.committed


def test_an_unrelated_user_is_no_owner(books):
    org, _ = books
    with pytest.raises(period.PeriodError, match="Only an owner"):
        period.set_books_start(org, date(2025, 1, 1), actor=UserFactory(), reason="x")
