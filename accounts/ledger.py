"""The one door to the journal. Every amount anywhere in Ledgerline is posted here.

    entry = ledger.post(org, [Line(ar, Decimal("121.00"), customer), Line(revenue, ...), ...],
                        effective_date=date, memo="Invoice INV-0001", idempotency_key="invoice:7:issue",
                        actor=user, source=invoice)

`post` validates, then, inside the caller's transaction, locks the organization's ledger head
(which makes sequence numbers gapless and the hash chain linear), re-checks the idempotency
key, and writes the entry, its lines, the customer balances and the account day totals in one
statement. A key already used returns the first entry and posts nothing.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from accounts.ledger_chain import chain_hash
from accounts.models_customer import Customer
from accounts.models_ledger import Account, AccountDayTotal, CustomerBalance, JournalEntry, JournalLine
from accounts.money import MoneyError, check_exact

# The date rule: an entry may be dated at most this far back (opening balances of an older
# system fit) or ahead (a post-dated payment) of today.
MAX_DAYS_BACK = 10 * 366
MAX_DAYS_AHEAD = 366


class LedgerError(ValidationError):
    """A posting that was refused. Nothing was written."""


@dataclass(frozen=True)
class Line:
    account: Account
    amount: Decimal  # debit positive, credit negative
    customer: Customer | None = None
    currency: str | None = None  # defaults to the customer's, else the organization's base


def post(org, lines, *, effective_date: date, idempotency_key: str, memo: str = "", actor=None,
         source=None, source_label: str = "", reverses: JournalEntry | None = None,
         reason: str = "") -> JournalEntry:
    prepared = _validate(org, lines, effective_date, idempotency_key, memo)
    source_type, source_id = _source_ref(source)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_seq, last_hash FROM accounts_ledgerhead WHERE organization_id = %s FOR UPDATE",
            [org.pk],
        )
        row = cursor.fetchone()
        if row is None:
            raise LedgerError("This organization has no ledger.")
        last_seq, last_hash = row
        existing = JournalEntry.objects.filter(organization=org, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        if reverses is not None:
            _check_reversible(reverses)
        seq = last_seq + 1
        head = {
            "seq": seq, "organization_id": org.pk, "effective_date": effective_date.isoformat(),
            "memo": memo, "source_type": source_type, "source_id": source_id,
            "idempotency_key": idempotency_key, "reverses_id": reverses.pk if reverses else None,
        }
        digest = chain_hash(last_hash, head, [(n, a, c, cur, amt) for n, a, c, cur, amt in prepared])
        entry_id = _write(cursor, org.pk, head, prepared, last_hash, digest, actor, source_label, reason)
    entry = JournalEntry(
        pk=entry_id, organization_id=org.pk, seq=seq, effective_date=effective_date, memo=memo,
        source_type=source_type, source_id=source_id, source_label=source_label, idempotency_key=idempotency_key,
        actor_id=getattr(actor, "pk", None), reverses=reverses, reason=reason, prev_hash=last_hash, hash=digest,
        posted_at=timezone.now(),
    )
    entry._state.adding = False
    return entry


def reverse(entry: JournalEntry, *, reason: str, actor=None, effective_date: date | None = None,
            idempotency_key: str | None = None, source=None, source_label: str = "") -> JournalEntry:
    """Post the mirror image of `entry`, pointing at it. An entry is reversed at most once;
    a reversal is never itself reversed (post a new entry instead)."""
    if not reason.strip():
        raise LedgerError("A reversal needs a reason.")
    _check_reversible(entry)
    lines = [Line(line.account, -line.amount, line.customer, line.currency)
             for line in entry.lines.select_related("account", "customer").order_by("line_no")]
    if source is None and entry.source_type:
        source = (entry.source_type, entry.source_id)
    return post(
        entry.organization, lines, effective_date=effective_date or timezone.localdate(),
        idempotency_key=idempotency_key or f"reversal:{entry.pk}",
        memo=f"Reversal of #{entry.seq}: {entry.memo}"[:500], actor=actor, reverses=entry,
        reason=reason.strip()[:500], source=source, source_label=source_label or entry.source_label,
    )


def _check_reversible(entry: JournalEntry) -> None:
    if entry.reverses_id is not None:
        raise LedgerError(f"Entry #{entry.seq} is itself a reversal and cannot be reversed.")
    if JournalEntry.objects.filter(reverses=entry).exists():
        raise LedgerError(f"Entry #{entry.seq} has already been reversed.")


def _source_ref(source) -> tuple[str, int | None]:
    if source is None:
        return "", None
    if isinstance(source, tuple):
        return source
    return source._meta.label_lower, source.pk


def _validate(org, lines, effective_date, idempotency_key, memo):
    """Return [(line_no, account_id, customer_id, currency, amount)] or raise LedgerError."""
    if not idempotency_key or len(idempotency_key) > 100:
        raise LedgerError("Every posting needs an idempotency key of at most 100 characters.")
    if len(memo) > 500:
        raise LedgerError("The memo is longer than 500 characters.")
    if not isinstance(effective_date, date):
        raise LedgerError("The effective date must be a date.")
    today = timezone.localdate()
    if effective_date < today - timedelta(days=MAX_DAYS_BACK):
        raise LedgerError(f"{effective_date} is more than ten years ago; the ledger refuses it.")
    if effective_date > today + timedelta(days=MAX_DAYS_AHEAD):
        raise LedgerError(f"{effective_date} is more than a year ahead; the ledger refuses it.")
    lines = list(lines)
    if len(lines) < 2:
        raise LedgerError("An entry needs at least two lines.")
    prepared, totals = [], defaultdict(Decimal)
    for no, line in enumerate(lines, start=1):
        account, customer = line.account, line.customer
        if account.organization_id != org.pk:
            raise LedgerError(f"Line {no}: the account belongs to another organization.")
        if account.is_receivable != (customer is not None):
            raise LedgerError(f"Line {no}: a customer goes on every receivable line and only there.")
        currency = line.currency or (customer.currency if customer else org.base_currency)
        if customer is not None:
            if customer.organization_id != org.pk:
                raise LedgerError(f"Line {no}: the customer belongs to another organization.")
            if customer.is_archived:
                raise LedgerError(f"Line {no}: {customer.name} is archived; restore the customer first.")
            if currency != customer.currency:
                raise LedgerError(f"Line {no}: {currency} does not match the customer's currency "
                                  f"{customer.currency}.")
        try:
            amount = check_exact(line.amount, currency)
        except MoneyError as e:
            raise LedgerError(f"Line {no}: {e}") from e
        if amount == 0:
            raise LedgerError(f"Line {no}: a line cannot be zero.")
        totals[currency] += amount
        prepared.append((no, account.pk, customer.pk if customer else None, currency, amount))
    unbalanced = {cur: total for cur, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{cur} off by {total}" for cur, total in sorted(unbalanced.items()))
        raise LedgerError(f"The entry does not balance: {detail}.")
    return prepared


_WRITE_SQL = """
WITH e AS (
    INSERT INTO accounts_journalentry (organization_id, seq, effective_date, posted_at, memo, source_type,
        source_id, source_label, actor_id, idempotency_key, reverses_id, reason, prev_hash, hash)
    VALUES (%s, %s, %s, now(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
    RETURNING id
), l AS (
    INSERT INTO accounts_journalline (organization_id, entry_id, line_no, account_id, customer_id, currency,
        amount, effective_date)
    SELECT %s, e.id, v.line_no, v.account_id, v.customer_id, v.currency, v.amount, %s
    FROM e, (VALUES {lines}) AS v(line_no, account_id, customer_id, currency, amount)
), c AS (
    {customer_balances}
), d AS (
    INSERT INTO accounts_accountdaytotal (organization_id, account_id, currency, day, amount)
    VALUES {day_totals}
    ON CONFLICT (account_id, currency, day)
    DO UPDATE SET amount = accounts_accountdaytotal.amount + EXCLUDED.amount
), h AS (
    UPDATE accounts_ledgerhead SET last_seq = %s, last_hash = %s WHERE organization_id = %s
)
SELECT id FROM e
"""
_CUSTOMER_SQL = """
    INSERT INTO accounts_customerbalance (organization_id, customer_id, currency, amount)
    VALUES {rows}
    ON CONFLICT (customer_id, currency)
    DO UPDATE SET amount = accounts_customerbalance.amount + EXCLUDED.amount
"""


def _write(cursor, org_id, head, prepared, prev_hash, digest, actor, source_label, reason):
    params = [org_id, head["seq"], head["effective_date"], head["memo"], head["source_type"],
              head["source_id"], source_label[:100], getattr(actor, "pk", None), head["idempotency_key"],
              head["reverses_id"], reason, prev_hash, digest, org_id, head["effective_date"]]
    line_rows = []
    for no, account_id, customer_id, currency, amount in prepared:
        line_rows.append("(%s::smallint, %s::bigint, %s::bigint, %s, %s::numeric)")
        params += [no, account_id, customer_id, currency, amount]
    per_customer, per_account = defaultdict(Decimal), defaultdict(Decimal)
    for _no, account_id, customer_id, currency, amount in prepared:
        per_account[(account_id, currency)] += amount
        if customer_id is not None:
            per_customer[(customer_id, currency)] += amount
    customer_sql = "SELECT 1"
    if per_customer:
        customer_sql = _CUSTOMER_SQL.format(rows=", ".join(["(%s, %s, %s, %s)"] * len(per_customer)))
        for (customer_id, currency), amount in per_customer.items():
            params += [org_id, customer_id, currency, amount]
    day_rows = []
    for (account_id, currency), amount in per_account.items():
        day_rows.append("(%s, %s, %s, %s, %s)")
        params += [org_id, account_id, currency, head["effective_date"], amount]
    params += [head["seq"], digest, org_id]
    sql = _WRITE_SQL.format(lines=", ".join(line_rows), customer_balances=customer_sql,
                            day_totals=", ".join(day_rows))
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


# --- Balances ---------------------------------------------------------------------------

def customer_balance(customer: Customer, as_of: date | None = None) -> Decimal:
    """What the customer owes (positive) or has in credit (negative), in its currency.
    Now: the maintained row, O(1). As of a date: an index-only sum over its lines."""
    if as_of is None:
        row = CustomerBalance.objects.filter(customer=customer, currency=customer.currency).first()
        return row.amount if row else Decimal("0")
    total = JournalLine.objects.filter(
        customer=customer, effective_date__lte=as_of, currency=customer.currency
    ).aggregate(s=Sum("amount"))["s"]
    return total or Decimal("0")


def account_balance(account: Account, as_of: date | None = None, currency: str | None = None) -> Decimal:
    """Net debit (positive) or credit (negative) balance of an account, from the day totals."""
    rows = AccountDayTotal.objects.filter(account=account)
    if currency:
        rows = rows.filter(currency=currency)
    if as_of is not None:
        rows = rows.filter(day__lte=as_of)
    return rows.aggregate(s=Sum("amount"))["s"] or Decimal("0")


@dataclass(frozen=True)
class TrialBalanceRow:
    account: Account
    currency: str
    debit: Decimal
    credit: Decimal


def trial_balance(org, as_of: date | None = None) -> list[TrialBalanceRow]:
    """Every account with a balance as of the date, split into debit and credit columns."""
    totals = AccountDayTotal.objects.filter(organization=org)
    if as_of is not None:
        totals = totals.filter(day__lte=as_of)
    sums = {(r["account_id"], r["currency"]): r["s"]
            for r in totals.values("account_id", "currency").annotate(s=Sum("amount"))}
    rows = []
    for account in Account.objects.filter(organization=org).order_by("code"):
        for (account_id, currency), amount in sorted(sums.items(), key=lambda kv: kv[0][1]):
            if account_id == account.pk and amount != 0:
                rows.append(TrialBalanceRow(account, currency, max(amount, Decimal(0)), max(-amount, Decimal(0))))
    return rows
