from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.models import JournalEntry, JournalLine
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger_helpers import receipt, sale

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_ctx():
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org)
        yield org, owner, customer


def test_post_writes_a_balanced_entry_and_updates_balances(org_ctx):
    org, owner, customer = org_ctx
    entry = sale(org, customer, "121.50", actor=owner)
    assert entry.seq == 1
    lines = list(JournalLine.objects.filter(entry_id=entry.pk).order_by("line_no").values_list("amount", flat=True))
    assert lines == [Decimal("121.50"), Decimal("-121.50")]
    assert ledger.customer_balance(customer) == Decimal("121.50")
    receipt(org, customer, "21.50")
    assert ledger.customer_balance(customer) == Decimal("100.00")
    acc = system_accounts(org)
    assert ledger.account_balance(acc["bank"]) == Decimal("21.50")
    assert ledger.account_balance(acc["ar"]) == Decimal("100.00")


def test_idempotency_key_posts_once(org_ctx):
    org, _, customer = org_ctx
    first = sale(org, customer, "10.00", key="same")
    second = sale(org, customer, "10.00", key="same")
    assert first.pk == second.pk
    assert JournalEntry.objects.filter(organization=org).count() == 1
    assert ledger.customer_balance(customer) == Decimal("10.00")


def test_a_used_idempotency_key_with_different_lines_is_refused_not_answered_with_the_first_entry(org_ctx):
    org, _, customer = org_ctx
    first = sale(org, customer, "10.00", key="reused")
    with pytest.raises(LedgerError, match="already used by entry #1 with different lines"):
        sale(org, customer, "12.00", key="reused")
    other = CustomerFactory(organization=org)
    with pytest.raises(LedgerError, match="different lines"):
        sale(org, other, "10.00", key="reused")  # same amount, another customer
    assert sale(org, customer, "10.00", key="reused").pk == first.pk  # the same posting again: a replay
    assert JournalEntry.objects.filter(organization=org).count() == 1
    assert ledger.customer_balance(customer) == Decimal("10.00") and ledger.customer_balance(other) == 0


def test_balance_as_of_a_past_date(org_ctx):
    org, _, customer = org_ctx
    today = date.today()
    sale(org, customer, "50.00", effective_date=today - timedelta(days=10))
    receipt(org, customer, "20.00", effective_date=today - timedelta(days=5))
    assert ledger.customer_balance(customer, as_of=today - timedelta(days=11)) == 0
    assert ledger.customer_balance(customer, as_of=today - timedelta(days=6)) == Decimal("50.00")
    assert ledger.customer_balance(customer, as_of=today) == Decimal("30.00")
    ar = system_accounts(org)["ar"]
    assert ledger.account_balance(ar, as_of=today - timedelta(days=6)) == Decimal("50.00")


@pytest.mark.parametrize("bad, message", [
    ("unbalanced", "does not balance"),
    ("zero", "cannot be zero"),
    ("float", "Decimal"),
    ("precision", "more decimals"),
    ("huge", "beyond the largest amount"),
    ("ar_without_customer", "customer goes on every receivable line"),
    ("customer_on_revenue", "customer goes on every receivable line"),
    ("currency", "does not match"),
    ("far_past", "ten years"),
    ("far_future", "a year ahead"),
    ("one_line", "at least two lines"),
])
def test_bad_postings_are_refused_and_change_nothing(org_ctx, bad, message):
    org, _, customer = org_ctx
    acc = system_accounts(org)
    d = date.today()
    lines = {
        "unbalanced": [Line(acc["ar"], Decimal("10"), customer), Line(acc["revenue"], Decimal("-9"))],
        "zero": [Line(acc["ar"], Decimal("0"), customer), Line(acc["revenue"], Decimal("0"))],
        "float": [Line(acc["ar"], 10.0, customer), Line(acc["revenue"], -10.0)],
        "precision": [Line(acc["ar"], Decimal("1.005"), customer), Line(acc["revenue"], Decimal("-1.005"))],
        "huge": [Line(acc["ar"], Decimal("1e20"), customer), Line(acc["revenue"], Decimal("-1e20"))],
        "ar_without_customer": [Line(acc["ar"], Decimal("1")), Line(acc["revenue"], Decimal("-1"))],
        "customer_on_revenue": [Line(acc["bank"], Decimal("1")), Line(acc["revenue"], Decimal("-1"), customer)],
        "currency": [Line(acc["ar"], Decimal("1"), customer, "USD"), Line(acc["revenue"], Decimal("-1"), None, "USD")],
        "far_past": None, "far_future": None,
        "one_line": [Line(acc["bank"], Decimal("1"))],
    }[bad]
    when = {"far_past": d - timedelta(days=4000), "far_future": d + timedelta(days=400)}.get(bad, d)
    if lines is None:
        lines = [Line(acc["ar"], Decimal("1"), customer), Line(acc["revenue"], Decimal("-1"))]
    with pytest.raises(LedgerError, match=message):
        ledger.post(org, lines, effective_date=when, idempotency_key="k")
    assert JournalEntry.objects.count() == 0
    assert ledger.customer_balance(customer) == 0


def test_accounts_of_another_organization_are_refused(org_ctx):
    org, _, customer = org_ctx
    other, _ = make_org()
    with tenant_context(other):
        foreign_bank = system_accounts(other)["bank"]
    ar = system_accounts(org)["ar"]
    with pytest.raises(LedgerError, match="another organization"):
        ledger.post(org, [Line(foreign_bank, Decimal("5")), Line(ar, Decimal("-5"), customer)],
                    effective_date=date.today(), idempotency_key="x")


def test_archived_customer_is_refused(org_ctx):
    from django.utils import timezone

    org, _, customer = org_ctx
    customer.archived_at = timezone.now()
    customer.save()
    with pytest.raises(LedgerError, match="archived"):
        sale(org, customer, "5.00")


def test_reversal_mirrors_the_entry_once_and_never_reverses_a_reversal(org_ctx):
    org, owner, customer = org_ctx
    entry = sale(org, customer, "80.00")
    rev = ledger.reverse(entry, reason="typo", actor=owner)
    assert rev.reverses_id == entry.pk
    assert ledger.customer_balance(customer) == 0
    amounts = sorted(JournalLine.objects.filter(entry_id=rev.pk).values_list("amount", flat=True))
    assert amounts == [Decimal("-80.00"), Decimal("80.00")]
    with pytest.raises(LedgerError, match="already been reversed"):
        ledger.reverse(entry, reason="again")
    with pytest.raises(LedgerError, match="itself a reversal"):
        ledger.reverse(JournalEntry.objects.get(pk=rev.pk), reason="undo")
    with pytest.raises(LedgerError, match="needs a reason"):
        ledger.reverse(entry, reason=" ")


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_journalline SET amount = amount + 1",
    "DELETE FROM accounts_journalline",
    "TRUNCATE accounts_journalline CASCADE",
    "UPDATE accounts_journalentry SET memo = 'x'",
    "DELETE FROM accounts_journalentry",
    "TRUNCATE accounts_journalentry CASCADE",
])
def test_database_refuses_changes_to_journal_rows_as_the_application_role(org_ctx, statement):
    org, _, customer = org_ctx
    sale(org, customer, "10.00")
    refused = pytest.raises(DatabaseError, match="append-only|permission denied")
    with refused, transaction.atomic(), connection.cursor() as c:
        c.execute(statement)


@pytest.mark.parametrize("statement", [
    "UPDATE accounts_journalline SET amount = amount + 1",
    "DELETE FROM accounts_journalentry",
    "TRUNCATE accounts_journalline, accounts_journalentry CASCADE",
])
@pytest.mark.django_db(transaction=True)
def test_database_refuses_changes_even_for_the_table_owner(org_ctx, owner_sql, statement):
    """Committed rows, changed through the superuser's own connection: the triggers refuse."""
    import psycopg

    org, _, customer = org_ctx
    sale(org, customer, "10.00")
    assert owner_sql.execute("SELECT count(*) FROM accounts_journalline").fetchone()[0] == 2
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        owner_sql.execute(statement)


def test_verify_ledger_passes_on_a_clean_ledger(org_ctx, capsys):
    org, _, customer = org_ctx
    for _ in range(3):
        sale(org, customer, "10.00")
    receipt(org, customer, "5.00")
    call_command("verify_ledger", "--org", org.slug)
    assert "4 entries" in capsys.readouterr().out
