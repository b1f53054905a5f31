"""The period lock: owners close the books up to a date; every money action dated inside the
closed period is refused with a clear message and changes nothing; reopening is owner-only,
needs a reason, is logged and e-mailed to the other owners."""

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.core import mail
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts import ledger, period
from accounts.ledger import LedgerError
from accounts.models import JournalEntry, LedgerHead, PeriodLockEvent, Role
from invoicing.credit_notes import credit_amount
from invoicing.models import Invoice
from invoicing.services import issue_invoice, void_invoice, write_off
from ledger_site.tenancy import tenant_context
from payments.allocation import AllocationError, apply
from payments.models import Allocation
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import draft, issued
from tests.ledger_helpers import sale
from tests.payments.helpers import pay

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LOCK = TODAY - timedelta(days=30)
INSIDE = LOCK - timedelta(days=3)


@pytest.fixture
def books():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        invoice = issued(org, customer, issue_date=INSIDE - timedelta(days=5), due_date=INSIDE)
        payment = pay(org, customer, "10.00", allocation="none", received_date=INSIDE - timedelta(days=1))
        period.close_period(org, LOCK, actor=owner)
        yield org, owner, customer, invoice, payment


def counts(org):
    return (JournalEntry.objects.filter(organization=org).count(), Allocation.objects.count(),
            Invoice.objects.filter(organization=org, status="issued").count())


def refused(org, action, error=LedgerError):
    before = counts(org)
    with pytest.raises(error) as info, transaction.atomic():
        action()
    assert counts(org) == before
    return str(info.value.message if hasattr(info.value, "message") else info.value)


def test_posting_inside_the_closed_period_is_refused_with_a_clear_message(books):
    org, _, customer, _, _ = books
    message = refused(org, lambda: sale(org, customer, "5.00", effective_date=INSIDE))
    assert message == (f"The books are closed up to {LOCK.isoformat()}: nothing dated {INSIDE.isoformat()} "
                       "can be recorded. An owner can reopen the period.")
    refused(org, lambda: sale(org, customer, "5.00", effective_date=LOCK))  # the lock date itself is closed
    sale(org, customer, "5.00", effective_date=LOCK + timedelta(days=1))  # the day after is open


def test_issuing_voiding_writing_off_crediting_and_allocating_inside_are_refused(books):
    org, owner, customer, invoice, payment = books
    refused(org, lambda: issue_invoice(draft(org, customer, issue_date=INSIDE, due_date=INSIDE), actor=owner))
    refused(org, lambda: void_invoice(invoice, "wrong", actor=owner, effective_date=INSIDE))
    refused(org, lambda: write_off(invoice, Decimal("1.00"), "goodwill", actor=owner, effective_date=INSIDE))
    refused(org, lambda: credit_amount(customer, Decimal("1.00"), "price", issue_date=INSIDE))
    refused(org, lambda: pay(org, customer, "3.00", allocation="none", received_date=INSIDE))
    message = refused(org, lambda: apply(invoice, payment, Decimal("5.00"), effective_date=INSIDE), AllocationError)
    assert message.startswith(f"The books are closed up to {LOCK.isoformat()}")
    apply(invoice, payment, Decimal("5.00"))  # today: open


def test_the_database_refuses_even_past_the_services(books):
    """The trigger: an allocation row or an entry dated in the closed period, written directly."""
    org, _, _, invoice, payment = books
    for sql, args in [
        ("INSERT INTO payments_allocation (organization_id, invoice_id, payment_id, amount, reason, effective_date,"
         " created_at) VALUES (%s, %s, %s, 1, '', %s, now())", [org.pk, invoice.pk, payment.pk, INSIDE]),
        ("INSERT INTO accounts_journalentry (organization_id, seq, effective_date, posted_at, memo, source_type,"
         " source_label, idempotency_key, reason, prev_hash, hash) VALUES (%s, 999, %s, now(), '', '', '', 'x', '',"
         " '', '')", [org.pk, INSIDE]),
    ]:
        with pytest.raises((IntegrityError, ProgrammingError), match="The books are closed up to"), \
                transaction.atomic(), connection.cursor() as c:
            c.execute(sql, args)


def test_closing_bad_input_is_refused_and_changes_nothing(books):
    org, owner, _, _, _ = books
    finance = add_member(org, Role.FINANCE)
    for day, actor, text in [
        (TODAY, owner, "not over yet"),
        (TODAY + timedelta(days=5), owner, "not over yet"),
        (LOCK - timedelta(days=1), owner, "already closed up to"),
        (LOCK + timedelta(days=1), finance, "Only an owner"),
    ]:
        with pytest.raises(period.PeriodError, match=text):
            period.close_period(org, day, actor=actor)
    assert period.state(org) == (LOCK, None)
    period.set_books_start(org, INSIDE - timedelta(days=60), actor=owner)
    with pytest.raises(period.PeriodError, match="before it means nothing"):
        period.reopen_period(org, INSIDE - timedelta(days=61), actor=owner, reason="too far")
    with pytest.raises(period.PeriodError, match="entry dated"):
        period.set_books_start(org, INSIDE, actor=owner)  # the journal has older entries


def test_books_start_refuses_older_postings(books):
    org, owner, customer, _, _ = books
    start = INSIDE - timedelta(days=60)
    period.set_books_start(org, start, actor=owner)
    period.reopen_period(org, None, actor=owner, reason="fix")
    message = refused(org, lambda: sale(org, customer, "1.00", effective_date=start - timedelta(days=1)))
    assert message == (f"The books start on {start.isoformat()}: nothing dated "
                       f"{(start - timedelta(days=1)).isoformat()} can be recorded.")


def test_reopening_needs_an_owner_and_a_reason_is_logged_and_mailed_to_the_other_owners(
        books, django_capture_on_commit_callbacks):
    org, owner, customer, _, _ = books
    other = add_member(org, Role.OWNER)
    finance = add_member(org, Role.FINANCE)
    with pytest.raises(period.PeriodError, match="Say why"):
        period.reopen_period(org, None, actor=owner, reason="  ")
    with pytest.raises(period.PeriodError, match="Only an owner"):
        period.reopen_period(org, None, actor=finance, reason="please")
    assert period.state(org)[0] == LOCK
    with django_capture_on_commit_callbacks(execute=True):
        period.reopen_period(org, INSIDE - timedelta(days=1), actor=owner, reason="Late supplier invoice")
    assert period.state(org)[0] == INSIDE - timedelta(days=1)
    event = PeriodLockEvent.objects.filter(organization=org).first()
    assert (event.action, event.old_date, event.new_date, event.reason, event.actor) == (
        "reopen", LOCK, INSIDE - timedelta(days=1), "Late supplier invoice", owner)
    assert [m.to for m in mail.outbox] == [[other.email]]
    assert "Late supplier invoice" in mail.outbox[0].body
    sale(org, customer, "5.00", effective_date=INSIDE)  # open again


def test_the_log_is_append_only_for_the_application_role(books):
    org, *_ = books
    with pytest.raises((ProgrammingError, psycopg.errors.InsufficientPrivilege)), transaction.atomic(), \
            connection.cursor() as c:
        c.execute("UPDATE accounts_periodlockevent SET reason = 'x'")


def test_the_page_is_owner_only_and_a_refusal_changes_nothing(books, client):
    org, owner, *_ = books

    def lock_date():
        with tenant_context(org):
            return LedgerHead.objects.get(organization=org).lock_date

    url = reverse("period_lock", kwargs={"org_slug": org.slug})
    finance = add_member(org, Role.FINANCE)
    client.force_login(finance)
    assert client.post(url, {"action": "reopen", "reason": "mine"}).status_code == 403
    assert lock_date() == LOCK
    client.force_login(owner)
    page = client.post(url, {"action": "reopen", "day": "", "reason": ""})
    assert page.status_code == 400 and "Say why the period is reopened." in page.content.decode()
    assert lock_date() == LOCK
    page = client.post(url, {"action": "close", "day": (TODAY + timedelta(days=1)).isoformat()})
    assert page.status_code == 400 and "not over yet" in page.content.decode()
    done = client.post(url, {"action": "reopen", "day": "", "reason": "audit adjustment"}, follow=True)
    assert done.status_code == 200 and "audit adjustment" in done.content.decode()
    assert lock_date() is None


def test_a_posting_that_waits_for_the_head_lock_sees_the_period_closed(books):
    """The lock is read by the posting statement under the head's row lock, so a period closed
    while a posting waited cannot be posted into. Here: the lock is set in this transaction
    before posting; the statement must see it (no stale read)."""
    org, owner, customer, _, _ = books
    period.reopen_period(org, None, actor=owner, reason="test")
    with transaction.atomic():
        LedgerHead.objects.filter(organization=org).update(lock_date=INSIDE)
        with pytest.raises(LedgerError, match="closed up to"):
            ledger.post(org, [ledger.Line(a, amt, c) for a, amt, c in _lines(org, customer)],
                        effective_date=INSIDE, idempotency_key="waits")
        transaction.set_rollback(True)


def _lines(org, customer):
    from accounts.chart import system_accounts

    acc = system_accounts(org)
    return [(acc["ar"], Decimal("1.00"), customer), (acc["revenue"], Decimal("-1.00"), None)]

