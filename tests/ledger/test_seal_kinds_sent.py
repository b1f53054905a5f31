"""Issue 13: the seal reaches what was sent around the journal: sent quotes (with their lines) and the
customer's decision on them, e-mails of the delivery log once sent, reminder messages once sent,
credit-control overrides and bank-line events.

For each: the application's database role (what the running site connects as) and the owner role
cannot change, delete or truncate it; a superuser who switches the triggers off and changes or
deletes it is named by verify_ledger; one written past the triggers is named unsealed. And the
registered seal kinds are exactly the seal triggers in the database."""

from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.credit_terms import owner_edit
from accounts.ledger_verify import verify_organization
from accounts.models import Customer, SealRecord
from accounts.seals import load_kinds
from invoicing.models import CreditOverride, TaxRate
from invoicing.models_documents import EmailDelivery
from invoicing.outgoing import log_sent_email
from invoicing.quotes import convert_to_invoice, decide, save_quote, send_quote
from invoicing.services import issue_invoice
from ledger_site.tenancy import tenant_context
from payments.bank import confirm_match
from payments.models_bank import BankLineEvent
from reminders.models import ReminderBatch, ReminderMessage
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft, issued
from tests.ledger.test_tamper import triggers_off
from tests.payments.bank_helpers import bank_account, import_lines

pytestmark = pytest.mark.django_db(transaction=True)
D = Decimal


def _quote(org, customer, description="Kitchen refit"):
    rate = TaxRate.objects.get_or_create(organization=org, percent=D("20"), defaults={"name": "T20"})[0]
    today = org.today()
    return save_quote(org, None, {"customer": customer, "issue_date": today, "valid_until": today + timedelta(days=30),
                                  "reference": "", "notes": "As discussed"},
                      [{"description": description, "quantity": D("1"), "unit_price": D("4200.00"), "tax_rate": rate,
                        "unit": ""}])


def _batch(org, customer, day):
    email = EmailDelivery.objects.create(organization=org, kind="reminder_batch", customer=customer,
                                         status="pending", subject="", body="")
    batch = ReminderBatch.objects.create(organization=org, customer=customer, day=day, email=email)
    EmailDelivery.objects.filter(pk=email.pk).update(  # the batch sender's pending -> sent
        status="sent", sent_at=timezone.now(), recipients=["ap@acme.example"], subject="Your overdue invoices",
        body="Three invoices are overdue.", message_id="<b1@x>")
    return ReminderBatch.objects.get(pk=batch.pk)


def _reminder(org, invoice, subject):
    message = ReminderMessage.objects.create(organization=org, invoice=invoice, customer=invoice.customer,
                                             kind="manual", due_at=timezone.now())
    # The sender's own transition: pending -> sent (accounts.frozen lets a row in the outbox change).
    ReminderMessage.objects.filter(pk=message.pk).update(
        status="sent", sent_at=timezone.now(), to_emails="ap@acme.example", subject=subject,
        body=f"{invoice.number} is overdue: {invoice.amount_due}", amount_due=invoice.amount_due, message_id="<r1@x>")
    return ReminderMessage.objects.get(pk=message.pk)


@pytest.fixture
def sent():
    """Committed: one of each kind, and a spare of each to delete."""
    org, owner = make_org()
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org, name="Acme Ltd")
        quote = send_quote(_quote(org, acme), actor=owner)
        quote, _ = decide(quote, True, "203.0.113.9")
        spare_quote = send_quote(_quote(org, acme, "Bathroom"), actor=owner)
        invoice = issued(org, acme)
        delivery = log_sent_email(org.pk, "statement", recipients=["ap@acme.example"], subject="Your statement",
                                  body="Attached.", sent_at=timezone.now(), message_id="<s1@x>", customer_id=acme.pk)
        spare_delivery = log_sent_email(org.pk, "statement", recipients=["ap@acme.example"], subject="Again",
                                        body="Attached.", sent_at=timezone.now(), customer_id=acme.pk)
        reminder = _reminder(org, invoice, "Payment reminder")
        spare_reminder = _reminder(org, invoice, "Second reminder")
        batch = _batch(org, acme, org.today())
        spare_batch = _batch(org, acme, org.today() - timedelta(days=1))
        with owner_edit(org, owner):
            Customer.objects.filter(pk=acme.pk).update(credit_limit=D("100.00"))
        override = CreditOverride.objects.get(invoice=issue_invoice(
            draft(org, acme, (("Work", "1", "500.00", None),)), actor=owner, credit_override="Paying Friday"))
        spare_override = CreditOverride.objects.get(invoice=issue_invoice(
            draft(org, acme, (("More", "1", "50.00", None),)), actor=owner, credit_override="Agreed"))
        account = bank_account(org)
        line, = import_lines(account, [("240.00", "Acme", invoice.number, "B-1")])
        confirm_match(line, f"inv:{invoice.pk}", actor=owner)
        event = BankLineEvent.objects.get(line=line)
    return org, owner, {
        "quote": quote, "spare_quote": spare_quote, "delivery": delivery, "spare_delivery": spare_delivery,
        "reminder": reminder, "spare_reminder": spare_reminder, "batch": batch, "spare_batch": spare_batch,
        "override": override, "spare_override": spare_override, "event": event, "line": line, "invoice": invoice,
    }


def problems(org):
    with tenant_context(org):
        return verify_organization(org).problems


def test_each_sent_record_is_sealed_and_the_books_verify(sent):
    org, _, rows = sent
    with tenant_context(org):
        sealed = {(s.kind, s.object_id): s for s in SealRecord.objects.filter(organization=org)}
    quote = rows["quote"]
    assert sealed[("quote", quote.pk)].label == quote.number
    assert sealed[("quote_decision", quote.pk)].label == f"decision on {quote.number}"
    assert ("quote_decision", rows["spare_quote"].pk) not in sealed  # not decided yet
    assert sealed[("delivery", rows["delivery"].pk)].label == f"statement e-mail #{rows['delivery'].pk}"
    reminder = rows["reminder"]
    invoice = rows["invoice"]
    assert sealed[("reminder", reminder.pk)].label == f"reminder #{reminder.pk} on {invoice.number}"
    assert sealed[("reminder", reminder.pk)].entry_id == invoice.issue_entry_id
    override = rows["override"]
    assert sealed[("credit_override", override.pk)].label == f"credit override #{override.pk}"
    batch = rows["batch"]
    assert sealed[("reminder_batch", batch.pk)].label == f"reminder e-mail #{batch.pk} of {batch.day.isoformat()}"
    assert sealed[("bank_line_event", rows["event"].pk)].label == f"bank line #{rows['line'].pk} matched"
    assert problems(org) == []


def test_a_draft_quote_and_a_pending_reminder_are_not_sealed_yet(sent):
    org, owner, rows = sent
    with tenant_context(org, owner):
        quote = _quote(org, rows["quote"].customer, "Draft only")
        pending = ReminderMessage.objects.create(organization=org, invoice=rows["reminder"].invoice,
                                                 customer=rows["reminder"].customer, kind="manual",
                                                 due_at=timezone.now())
        queued = EmailDelivery.objects.create(organization=org, kind="statement", customer=quote.customer,
                                              recipients=["ap@acme.example"], subject="s", body="b")
        kinds = set(SealRecord.objects.filter(organization=org).values_list("kind", "object_id"))
    assert not {("quote", quote.pk), ("reminder", pending.pk), ("delivery", queued.pk)} & kinds
    assert problems(org) == []


def test_the_registered_kinds_are_exactly_the_seal_triggers_in_the_database():
    with connection.cursor() as c:
        c.execute("""SELECT t.tgname, cl.relname FROM pg_trigger t JOIN pg_class cl ON cl.oid = t.tgrelid
                     WHERE NOT t.tgisinternal AND t.tgname LIKE 'ledger\\_seal\\_%'""")
        in_db = set(c.fetchall())
    # A kind's row trigger is ledger_seal_<kind>; a kind sealed once per statement (issue 14,
    # accounts.seals.statement_trigger_sql) has ledger_seal_<kind>_insert, and keeps the row trigger
    # only for its UPDATE OF.
    kinds_in_db = {(name.removeprefix("ledger_seal_").removesuffix("_insert"), table) for name, table in in_db}
    assert kinds_in_db == {(k.kind, k.table) for k in load_kinds().values()}
    added = {"quote", "quote_decision", "delivery", "reminder", "reminder_batch", "credit_override", "bank_line_event"}
    assert added <= set(load_kinds())


# Per kind: its table, a change to what it said, and the words verify_ledger names it with.
TAMPER = {
    "quote": ("invoicing_quote", "UPDATE invoicing_quote SET total = total + 1 WHERE id = %s"),
    "quote_line": ("invoicing_quoteline", "UPDATE invoicing_quoteline SET description = 'Cheaper' WHERE quote_id = %s"),
    "quote_decision": ("invoicing_quote", "UPDATE invoicing_quote SET status = 'declined' WHERE id = %s"),
    "delivery": ("invoicing_emaildelivery",
                 """UPDATE invoicing_emaildelivery SET recipients = '["thief@example.com"]' WHERE id = %s"""),
    "reminder": ("reminders_remindermessage", "UPDATE reminders_remindermessage SET amount_due = 1 WHERE id = %s"),
    "reminder_batch": ("reminders_reminderbatch", "UPDATE reminders_reminderbatch SET tone = 'final' WHERE id = %s"),
    "credit_override": ("reports_creditoverride", "UPDATE reports_creditoverride SET reason = 'x' WHERE id = %s"),
    "bank_line_event": ("payments_banklineevent", "UPDATE payments_banklineevent SET detail = 'x' WHERE id = %s"),
}
ROW = {"quote": "quote", "quote_line": "quote", "quote_decision": "quote", "delivery": "delivery",
       "reminder": "reminder", "reminder_batch": "batch", "credit_override": "override", "bank_line_event": "event"}
DELETES = {"quote": "spare_quote", "delivery": "spare_delivery", "reminder": "spare_reminder",
           "reminder_batch": "spare_batch", "credit_override": "spare_override"}
TABLE_OF = {"quote": "invoicing_quote", "delivery": "invoicing_emaildelivery", "reminder": "reminders_remindermessage",
            "reminder_batch": "reminders_reminderbatch", "credit_override": "reports_creditoverride",
            "bank_line_event": "payments_banklineevent"}


def _refused(run):
    with pytest.raises(DatabaseError, match="refused|permission denied"), transaction.atomic():
        run()


@pytest.mark.parametrize("what", sorted(TAMPER))
def test_the_application_role_cannot_change_delete_or_truncate_it(sent, what):
    org, _, rows = sent
    table, update = TAMPER[what]
    pk = rows[ROW[what]].pk
    with tenant_context(org):
        with connection.cursor() as c:
            c.execute("SELECT current_user")
            assert c.fetchone()[0] != "postgres"  # the application's role, not a superuser
            c.execute(f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM {table} t")  # noqa: S608
            before = c.fetchone()
        key = "quote_id" if what == "quote_line" else "id"  # a quote's lines by their quote
        for sql in (update, f"DELETE FROM {table} WHERE {key} = %s", f"TRUNCATE {table} CASCADE"):  # noqa: S608

            def run(sql=sql):
                with connection.cursor() as c:
                    c.execute(sql, [pk] if "%s" in sql else None)
            _refused(run)
        with connection.cursor() as c:
            c.execute(f"SELECT count(*) FROM {table} WHERE {key} = %s", [pk])  # noqa: S608
            assert c.fetchone()[0] >= 1  # the statements had a row to refuse
            c.execute(f"SELECT count(*), md5(string_agg(t::text, ',' ORDER BY t.id)) FROM {table} t")  # noqa: S608
            assert c.fetchone() == before
    assert problems(org) == []


@pytest.mark.parametrize("what", sorted(TAMPER))
def test_the_owner_role_cannot_change_it_either_while_the_triggers_are_on(sent, owner_sql, what):
    _, _, rows = sent
    table, update = TAMPER[what]
    with pytest.raises(psycopg.Error, match="refused"):
        owner_sql.execute(update, [rows[ROW[what]].pk])


@pytest.mark.parametrize("what", sorted(TAMPER))
def test_a_change_past_the_triggers_is_named(sent, owner_sql, what):
    org, _, rows = sent
    table, update = TAMPER[what]
    row = rows[ROW[what]]
    with triggers_off(owner_sql, table):
        owner_sql.execute(update, [row.pk])
    found = problems(org)
    kind = "quote" if what == "quote_line" else what
    with tenant_context(org):
        seal = SealRecord.objects.get(organization=org, kind=kind, object_id=row.pk)
    expected = f"{seal.label}"
    assert any(p.startswith(expected) and f"no longer matches the hash sealed in seal #{seal.seq}" in p
               for p in found), found
    if what != "bank_line_event":  # the customer of the document is named too
        assert any(p.startswith(expected) and "(customer Acme Ltd)" in p for p in found), found


@pytest.mark.parametrize("what", sorted(DELETES))
def test_a_deletion_past_the_triggers_is_named(sent, owner_sql, what):
    org, _, rows = sent
    row = rows[DELETES[what]]
    table = TABLE_OF[what]
    with tenant_context(org):
        seal = SealRecord.objects.get(organization=org, kind=what, object_id=row.pk)
    with triggers_off(owner_sql, table, "invoicing_quoteline"):
        if what == "quote":
            owner_sql.execute("DELETE FROM invoicing_quoteline WHERE quote_id = %s", [row.pk])
        owner_sql.execute(f"DELETE FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
    found = problems(org)
    assert any(p.startswith(seal.label) and f"sealed in seal #{seal.seq} has been deleted" in p for p in found), found


def test_a_deleted_bank_line_event_is_named(sent, owner_sql):
    org, _, rows = sent
    event = rows["event"]
    with triggers_off(owner_sql, "payments_banklineevent"):
        owner_sql.execute("DELETE FROM payments_banklineevent WHERE id = %s", [event.pk])
    assert any(p.startswith(f"bank line #{rows['line'].pk} matched") and "has been deleted" in p
               for p in problems(org))


@pytest.mark.parametrize("what", ["reminder", "delivery", "quote"])
def test_a_sent_record_written_past_the_triggers_is_named_unsealed(sent, owner_sql, what):
    org, _, rows = sent
    table = TABLE_OF[what]
    source = rows[what]
    with owner_sql.cursor() as c:
        c.execute("SELECT string_agg(quote_ident(column_name), ', ') FROM information_schema.columns "
                  "WHERE table_name = %s AND is_generated = 'NEVER' AND column_name NOT IN ('id', 'number', "
                  "'idempotency_key', 'invoice_id', 'schedule_id', 'late_fee_invoice_id')", [table])
        columns = c.fetchone()[0]
    with triggers_off(owner_sql, table):
        owner_sql.execute(f"INSERT INTO {table} ({columns}{', number' if what == 'quote' else ''}"  # noqa: S608
                          f"{', invoice_id' if what == 'reminder' else ''}) "
                          f"SELECT {columns}{', number || ' + repr('-X') if what == 'quote' else ''}"
                          f"{', invoice_id' if what == 'reminder' else ''} FROM {table} WHERE id = %s",
                          [source.pk])
    found = problems(org)
    assert any("was never sealed (written past the database's triggers)" in p for p in found), found


# --- the delivery log: progress moves until sent, then nothing (ledger_guard_frozen's final states) ---

def test_a_delivery_moves_until_it_is_sent_and_then_never_again(sent):
    org, _, rows = sent
    with tenant_context(org):
        queued = EmailDelivery.objects.create(organization=org, kind="statement", customer=rows["delivery"].customer,
                                              recipients=["ap@acme.example"], subject="s", body="b")
        deliveries = EmailDelivery.objects.filter(pk=queued.pk)
        deliveries.update(status="sending", attempts=1, claim_token="t")  # progress columns: allowed
        deliveries.update(status="retrying", last_error="421 try later")
        _refused(lambda: deliveries.update(subject="changed before sending"))  # frozen from the start
        deliveries.update(status="sent", sent_at=timezone.now(), message_id="<m@x>", lease_until=None)
        assert SealRecord.objects.filter(organization=org, kind="delivery", object_id=queued.pk).exists()
        for change in ({"status": "failed"}, {"message_id": "<other@x>"}, {"sent_at": timezone.now()},
                       {"attempts": 9}, {"claim_token": ""}):
            _refused(lambda change=change: deliveries.update(**change))
        assert deliveries.values_list("status", "message_id").get() == ("sent", "<m@x>")
    assert problems(org) == []


# --- quotes: editable as drafts, frozen once sent except the decision and the conversion ------

def test_a_sent_quote_and_its_lines_are_frozen_but_the_decision_and_conversion_still_move(sent):
    org, owner, rows = sent
    with tenant_context(org, owner):
        quote = rows["spare_quote"]
        quotes = type(quote).objects.filter(pk=quote.pk)
        _refused(lambda: quotes.update(notes="changed after sending"))
        _refused(lambda: quotes.update(status="draft"))
        _refused(lambda: quote.lines.update(unit_price=D("1.00")))
        _refused(lambda: quote.lines.all().delete())
        decided, changed = decide(quote, False, "198.51.100.7")
        assert changed and decided.status == "declined"
        assert SealRecord.objects.filter(organization=org, kind="quote_decision", object_id=quote.pk).exists()
        _refused(lambda: quotes.update(status="accepted"))  # decided once
        _refused(lambda: quotes.update(decided_ip="192.0.2.1"))
        accepted = rows["quote"]
        invoice, created = convert_to_invoice(accepted, actor=owner)  # the conversion still moves
        assert created and type(quote).objects.get(pk=accepted.pk).invoice_id == invoice.pk
        draft_quote = _quote(org, quote.customer, "Still a draft")
        type(quote).objects.filter(pk=draft_quote.pk).update(notes="drafts change freely")
        draft_quote.lines.update(unit_price=D("1.00"))
    assert problems(org) == []
