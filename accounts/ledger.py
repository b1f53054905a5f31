"""The one door to the journal. Every amount anywhere in Ledgerline is posted here.

    entry = ledger.post(org, [Line(ar, Decimal("121.00"), customer), Line(revenue, ...), ...],
                        effective_date=date, memo="Invoice INV-0001", idempotency_key="invoice:7:issue",
                        actor=user, source=invoice)

`post` validates, then, inside the caller's transaction and in one statement (one round trip),
locks the organization's ledger head (which makes sequence numbers gapless and the hash chain
linear), writes the entry unless its idempotency key is already used, its lines, the customer
balances and the account day totals, and moves the head. A key already used returns the first
entry and posts nothing, also when two requests with it arrive at the same moment (the second
waits for the head lock, then finds the key taken). accounts.ledger_bulk is the bulk door for
opening balances and migrations: same rules, same chain.
"""

import uuid
from collections import defaultdict
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from hashlib import sha256

import psycopg
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Sum

from accounts.ledger_chain import VERSION, canonical_after_seq, posted_text, v3_middle
from accounts.models_customer import Customer
from accounts.models_ledger import Account, AccountDayTotal, JournalEntry, LedgerHead
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, quantum, round_money
from ledger_site.pg import prepared, raw_connection

# The date rule: an entry may be dated at most this far back (opening balances of an older
# system fit) or ahead (a post-dated payment) of today. Older history is accepted on and after
# the organization's books start (accounts.period.oldest_day): an import of fifteen years moves
# the books start to its first day.
MAX_DAYS_BACK = 10 * 366
MAX_DAYS_AHEAD = 366


def in_window(day: date, today: date) -> bool:
    """The window a form accepts a document's date in: MAX_DAYS_BACK before to MAX_DAYS_AHEAD after
    `today` (the organization's, `Organization.today()`). Posting itself also accepts older history
    from the books start on (`_validate`)."""
    return today - timedelta(days=MAX_DAYS_BACK) <= day <= today + timedelta(days=MAX_DAYS_AHEAD)


def new_idempotency_key() -> str:
    """A fresh key for a form that posts: rendered into the form, so a double submit posts once.
    The one helper for every app's forms."""
    return uuid.uuid4().hex


class LedgerError(ValidationError):
    """A posting that was refused. Nothing was written."""


@dataclass(frozen=True)
class Line:
    account: Account
    amount: Decimal  # debit positive, credit negative
    customer: Customer | None = None
    currency: str | None = None  # defaults to the customer's, else the organization's base
    # In the organization's base currency; None: the amount at the rate of the entry's day (issue 17).
    # Given, it may stand on a line whose amount is 0 (an exchange difference: base only).
    base_amount: Decimal | None = None


def post(org, lines, *, effective_date: date, idempotency_key: str, memo: str = "", actor=None,
         source=None, source_label: str = "", reverses: JournalEntry | None = None,
         reason: str = "", rates: dict[str, Decimal] | None = None) -> JournalEntry:
    """`rates`: {currency: base units per unit} for this entry (a document's stored rate); a
    currency not given takes accounts.fx.rate_on of the entry's day. A missing rate refuses the
    entry, naming the currency and the day."""
    lines = list(lines)
    prepared = _validate(org, lines, effective_date, idempotency_key, memo)
    bases = base_amounts(org, lines, prepared, effective_date, rates)
    if reverses is not None and reverses.reverses_id is not None:
        raise LedgerError(f"Entry #{reverses.seq} is itself a reversal and cannot be reversed.")
    source_type, source_id = _source_ref(source)
    head = {
        "seq": None, "organization_id": org.pk, "effective_date": effective_date.isoformat(), "memo": memo,
        "source_type": source_type, "source_id": source_id, "idempotency_key": idempotency_key,
        "reverses_id": reverses.pk if reverses is not None else None,
    }
    params = _post_params(org.pk, head, prepared, effective_date, actor, source_label[:100], reason, bases)
    # In the caller's transaction when there is one. Without one, the single statement is a
    # transaction of its own: one round trip, commit included, instead of BEGIN, it, COMMIT.
    in_transaction = connection.in_atomic_block
    with transaction.atomic(savepoint=False) if in_transaction else nullcontext():
        row = _execute_post(params)
        if row is None:
            # Nothing was written. Decide why here, but raise a refusal only after the block:
            # raising inside would mark the caller's transaction as broken.
            existing, refusal = _not_posted(org, idempotency_key, reverses, prepared, effective_date)
        else:
            entry_id, seq, prev_hash, digest, posted_at = row
            # The database hashed what Python rendered; hash it here too, so that a posting can
            # never store, unnoticed, a hash verify_ledger would not reproduce. ("[" + seq + tail
            # + the posting time is the canonical form, version 3: tests/ledger/test_chain.py.)
            if sha256(f'{prev_hash}[{seq}{params["tail"]}"{posted_text(posted_at)}"]'.encode()).hexdigest() != digest:
                raise LedgerError(
                    "Internal error: the entry's hash does not reproduce"
                    + ("; nothing was posted." if in_transaction else f" (entry #{seq}); run verify_ledger."))
    if row is None:
        if refusal:
            raise LedgerError(refusal)
        return existing
    entry = JournalEntry(
        pk=entry_id, organization_id=org.pk, seq=seq, effective_date=effective_date, memo=memo,
        source_type=source_type, source_id=source_id, source_label=source_label[:100],
        idempotency_key=idempotency_key, actor_id=getattr(actor, "pk", None), reverses=reverses, reason=reason,
        prev_hash=prev_hash, hash=digest, posted_at=posted_at, hash_version=VERSION,
    )
    entry._state.adding = False
    return entry


def rate_of(org, currency: str, day: date) -> Decimal:
    """The rate a document in `currency` dated `day` is posted at (accounts.fx.rate_on; 1 in the
    base currency), or LedgerError naming the currency and the day: nothing is posted."""
    from accounts import fx

    try:
        return fx.rate_on(org, currency, day)
    except fx.MissingRate as e:
        raise LedgerError(e.message) from e


def booked_base(entry_id) -> Decimal | None:
    """The base-currency value a document's entry booked on the receivable (the sum of its customer
    lines' base amounts), or None for an entry posted before base amounts existed."""
    from django.db.models import Count, Q

    from accounts.models_ledger import JournalLine

    row = JournalLine.objects.filter(entry_id=entry_id, customer__isnull=False).aggregate(
        base=Sum("base_amount"), missing=Count("pk", filter=Q(base_amount__isnull=True)))
    return None if row["missing"] or row["base"] is None else row["base"]


def reverse(entry: JournalEntry, *, reason: str, actor=None, effective_date: date | None = None,
            idempotency_key: str | None = None, source=None, source_label: str = "") -> JournalEntry:
    """Post the mirror image of `entry`, pointing at it. An entry is reversed at most once;
    a reversal is never itself reversed (post a new entry instead)."""
    if not reason.strip():
        raise LedgerError("A reversal needs a reason.")
    _check_reversible(entry)
    # Base amounts mirrored too (never converted again): a reversal undoes exactly, in both.
    lines = [Line(line.account, -line.amount, line.customer, line.currency,
                  None if line.base_amount is None else -line.base_amount)
             for line in entry.lines.select_related("account", "customer").order_by("line_no")]
    if source is None and entry.source_type:
        source = (entry.source_type, entry.source_id)
    return post(
        entry.organization, lines, effective_date=effective_date or today_in(entry.organization),
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


_UNREAD = object()


def _validate(org, lines, effective_date, idempotency_key, memo, books_start=_UNREAD):
    """Return [(line_no, account_id, customer_id, currency, amount)] or raise LedgerError.
    `books_start`: the organization's, when the caller has read it (the bulk door, under the head
    lock); otherwise it is read here, only for a date older than the window."""
    if not idempotency_key or len(idempotency_key) > 100:
        raise LedgerError("Every posting needs an idempotency key of at most 100 characters.")
    if len(memo) > 500:
        raise LedgerError("The memo is longer than 500 characters.")
    if not isinstance(effective_date, date):
        raise LedgerError("The effective date must be a date.")
    today = today_in(org)
    if effective_date < today - timedelta(days=MAX_DAYS_BACK):
        # History of any age from the books start on (accounts.period.oldest_day, the one rule).
        from accounts.period import oldest_day

        if books_start is _UNREAD:
            books_start = (LedgerHead.objects.filter(organization_id=org.pk)
                           .values_list("books_start", flat=True).first())
        if effective_date < oldest_day(today, books_start):
            raise LedgerError(f"{effective_date} is more than ten years ago and before the books start; the ledger "
                              f"refuses it. An owner can move the books start earlier to record older history.")
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
        if amount == 0 and not line.base_amount:
            raise LedgerError(f"Line {no}: a line cannot be zero.")
        totals[currency] += amount
        prepared.append((no, account.pk, customer.pk if customer else None, currency, amount))
    unbalanced = {cur: total for cur, total in totals.items() if total != 0}
    if unbalanced:
        detail = ", ".join(f"{cur} off by {total}" for cur, total in sorted(unbalanced.items()))
        raise LedgerError(f"The entry does not balance: {detail}.")
    return prepared


def base_amounts(org, lines, prepared, effective_date, rates=None) -> list[Decimal]:
    """Each line's amount in the base currency (docs/currencies.md, issue 17): a given base amount
    as is; otherwise the amount times the rate (the one given for its currency, else
    accounts.fx.rate_on of the day), rounded once per the base currency (accounts.money). Any
    rounding residue goes on the largest converted line; an entry whose base amounts still do not
    balance is refused. Same-currency lines: base = amount, no rate read."""
    from accounts import fx

    base, rates = org.base_currency, dict(rates or {})
    bases, converted = [], []
    for line, (no, _account, _customer, currency, amount) in zip(lines, prepared, strict=True):
        if line.base_amount is not None:
            try:
                bases.append(check_exact(line.base_amount, base))
            except MoneyError as e:
                raise LedgerError(f"Line {no}: base amount {e}") from e
            continue
        if currency == base:
            bases.append(amount)
            continue
        rate = rates.get(currency)
        if rate is None:
            try:
                rate = rates[currency] = fx.rate_on(org, currency, effective_date)
            except fx.MissingRate as e:
                raise LedgerError(e.message) from e
        if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
            raise LedgerError(f"The {currency} rate {rate} is not a rate above zero; nothing was posted.")
        bases.append(round_money(amount * rate, base))
        converted.append(len(bases) - 1)
    residue = sum(bases, Decimal(0))
    # Rounding leaves at most half a minor unit per converted line; anything more is a real imbalance.
    if residue and converted and abs(residue) <= quantum(base) * len(converted) / 2:
        largest = max(converted, key=lambda i: (abs(prepared[i][4]), -i))
        bases[largest] -= residue
        residue = Decimal(0)
    if residue:
        raise LedgerError(f"The entry does not balance in the base currency: {base} off by {residue}.")
    # A tiny negative amount rounds to -0.00, which the column stores (and the hash must say) as 0.00.
    return [b if b else abs(b) for b in bases]


# One statement per posting. Under the ledger head's row lock (h) it takes the next sequence
# number, chains the hash (sha256 over prev_hash || canonical form; Python renders the canonical
# form after the sequence number, the database prefixes the number it assigns), writes the entry,
# its lines and the maintained balances, and moves the head. ON CONFLICT DO NOTHING turns an
# idempotency key already used (or an entry already reversed) into "no row", and then nothing
# else is written: every other part reads from e. The text never changes, so it is prepared
# once per connection and the server plans it once.
_POST_SQL = """
WITH h AS (
    SELECT last_seq + 1 AS seq, last_hash, lock_date, books_start FROM accounts_ledgerhead
    WHERE organization_id = %(org)s::bigint FOR UPDATE
), e AS (
    INSERT INTO accounts_journalentry (organization_id, seq, effective_date, posted_at, memo, source_type,
        source_id, source_label, actor_id, idempotency_key, reverses_id, reason, prev_hash, hash, hash_version)
    SELECT %(org)s::bigint, h.seq, %(day)s::date, now(), %(memo)s::varchar, %(source_type)s::varchar,
        %(source_id)s::bigint, %(source_label)s::varchar, %(actor)s::bigint, %(key)s::varchar,
        %(reverses)s::bigint, %(reason)s::varchar, h.last_hash,
        encode(sha256(convert_to(h.last_hash || '[' || h.seq::text || %(tail)s::text
                                 || '"' || to_char((now()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
                                 || '"]', 'UTF8')), 'hex'),
        3
    FROM h
    -- The period lock, as the head's lock sees it (closing a period takes that lock too): outside
    -- the open period no row, nothing written.
    WHERE (h.lock_date IS NULL OR %(day)s::date > h.lock_date)
      AND (h.books_start IS NULL OR %(day)s::date >= h.books_start)
    ON CONFLICT DO NOTHING
    RETURNING id, seq, prev_hash, hash, posted_at
), l AS (
    INSERT INTO accounts_journalline (organization_id, entry_id, line_no, account_id, customer_id, currency,
        amount, base_amount, effective_date)
    SELECT %(org)s::bigint, e.id, v.line_no, v.account_id, v.customer_id, v.currency, v.amount, v.base_amount,
        %(day)s::date
    FROM e, unnest(%(l_no)s::smallint[], %(l_account)s::bigint[], %(l_customer)s::bigint[],
                   %(l_currency)s::varchar[], %(l_amount)s::numeric[], %(l_base)s::numeric[])
            AS v(line_no, account_id, customer_id, currency, amount, base_amount)
), c AS (
    INSERT INTO accounts_customerbalance (organization_id, customer_id, currency, amount)
    SELECT %(org)s::bigint, v.customer_id, v.currency, v.amount
    FROM e, unnest(%(c_customer)s::bigint[], %(c_currency)s::varchar[], %(c_amount)s::numeric[])
            AS v(customer_id, currency, amount)
    ON CONFLICT (customer_id, currency)
    DO UPDATE SET amount = accounts_customerbalance.amount + EXCLUDED.amount
), d AS (
    INSERT INTO accounts_accountdaytotal (organization_id, account_id, currency, day, amount)
    SELECT %(org)s::bigint, v.account_id, v.currency, %(day)s::date, v.amount
    FROM e, unnest(%(d_account)s::bigint[], %(d_currency)s::varchar[], %(d_amount)s::numeric[])
            AS v(account_id, currency, amount)
    ON CONFLICT (account_id, currency, day)
    DO UPDATE SET amount = accounts_accountdaytotal.amount + EXCLUDED.amount
), u AS (
    UPDATE accounts_ledgerhead SET last_seq = e.seq, last_hash = e.hash FROM e
    WHERE accounts_ledgerhead.organization_id = %(org)s::bigint
)
SELECT id, seq, prev_hash, hash, posted_at FROM e
"""


def _post_params(org_id, head, prepared, effective_date, actor, source_label, reason, bases) -> dict:
    per_customer, per_account = defaultdict(Decimal), defaultdict(Decimal)
    for _no, account_id, customer_id, currency, amount in prepared:
        per_account[(account_id, currency)] += amount
        if customer_id is not None:
            per_customer[(customer_id, currency)] += amount
    # The arrays travel as PostgreSQL array literals (cast in the statement): psycopg's list
    # adaptation costs several times more than these joins, and it is per posting.
    return {
        "org": org_id, "day": effective_date, "memo": head["memo"], "source_type": head["source_type"],
        "source_id": head["source_id"], "source_label": source_label, "actor": getattr(actor, "pk", None),
        "key": head["idempotency_key"], "reverses": head["reverses_id"], "reason": reason,
        # Version 3: the canonical form less its closing bracket, then who, why and the base amounts
        # (in line order: prepared is); the database appends the posting time (now(), the same value
        # it stores in posted_at) and the bracket.
        "tail": canonical_after_seq(head, prepared)[:-1] + v3_middle(getattr(actor, "pk", None), reason, bases),
        "l_no": _ints([p[0] for p in prepared]), "l_account": _ints([p[1] for p in prepared]),
        "l_customer": _ints([p[2] for p in prepared]), "l_currency": _texts([p[3] for p in prepared]),
        "l_amount": _numbers([p[4] for p in prepared]), "l_base": _numbers(bases),
        "c_customer": _ints([k[0] for k in per_customer]), "c_currency": _texts([k[1] for k in per_customer]),
        "c_amount": _numbers(per_customer.values()),
        "d_account": _ints([k[0] for k in per_account]), "d_currency": _texts([k[1] for k in per_account]),
        "d_amount": _numbers(per_account.values()),
    }


def _ints(values) -> str:
    return "{" + ",".join(["NULL" if v is None else str(int(v)) for v in values]) + "}"


def _numbers(values) -> str:
    # Validated Decimals (finite, quantized to the currency): their str is a plain numeral.
    return "{" + ",".join([str(v) for v in values]) + "}"


def _texts(values) -> str:
    return "{" + ",".join(['"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values]) + "}"


def _execute_post(params):
    """Run _POST_SQL on Django's connection, in its current transaction if any: a psycopg
    cursor with server-side binding and a prepared statement, so the server parses and plans it
    once per connection instead of on every posting (ledger_site.pg). Database errors still
    arrive as Django's exceptions; the statement does not appear in connection.queries (DEBUG
    query logging) or pass through execute_wrappers."""
    pg = raw_connection()
    with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
        cursor.execute(_POST_SQL, params, prepare=prepared())
        return cursor.fetchone()


def _not_posted(org, idempotency_key, reverses, prepared, effective_date) -> tuple[JournalEntry | None, str]:
    """The statement wrote nothing: the entry that already has the key (a replay of the same
    posting), or why not. A key already used for different lines is refused, never answered
    with the first entry: that would report as posted what was not."""
    existing = JournalEntry.objects.filter(organization=org, idempotency_key=idempotency_key).first()
    if existing is not None:
        posted = list(existing.lines.order_by("line_no").values_list(
            "line_no", "account_id", "customer_id", "currency", "amount"))
        if posted != [tuple(p) for p in prepared]:
            return None, (f"The idempotency key “{idempotency_key}” was already used by entry #{existing.seq} "
                          "with different lines; nothing was posted. Use a new key for a new posting.")
        return existing, ""
    if reverses is not None and JournalEntry.objects.filter(reverses=reverses).exists():
        return None, f"Entry #{reverses.seq} has already been reversed."
    head = LedgerHead.objects.filter(organization=org).values("lock_date", "books_start").first()
    if head is None:
        return None, "This organization has no ledger."
    from accounts.period import closed_message

    closed = closed_message(head["lock_date"], head["books_start"], effective_date)
    if closed:
        return None, closed
    return None, "The ledger head is out of step with the journal; nothing was posted. Run verify_ledger."


# --- Balances ---------------------------------------------------------------------------

def customer_balance(customer: Customer, as_of: date | None = None) -> Decimal:
    """What the customer owes (positive) or has in credit (negative), in its currency.
    Now: the maintained row, O(1). As of a date: a sum over its lines up to that date, from the
    (customer, effective_date) index. Plain SQL: this is read on every customer page."""
    with connection.cursor() as cursor:
        if as_of is None:
            cursor.execute("SELECT amount FROM accounts_customerbalance WHERE customer_id = %s AND currency = %s",
                           [customer.pk, customer.currency])
        else:
            cursor.execute("SELECT sum(amount) FROM accounts_journalline WHERE customer_id = %s "
                           "AND effective_date <= %s AND currency = %s", [customer.pk, as_of, customer.currency])
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else Decimal("0")


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


# Every line's base amount, summed per account over a span of days (issue 17: figures in the base
# currency across every currency). A base-currency line from before base amounts were kept counts its
# amount (its base is itself); a foreign line from then has no base and is counted as unmeasured.
_BASE_TOTALS_SQL = """
SELECT account_id, coalesce(sum(coalesce(base_amount, CASE WHEN currency = %(base)s THEN amount END)), 0),
       count(*) FILTER (WHERE base_amount IS NULL AND currency <> %(base)s)
FROM accounts_journalline
WHERE organization_id = %(org)s AND effective_date <= %(end)s
  AND (%(start)s::date IS NULL OR effective_date >= %(start)s::date)
GROUP BY account_id
"""


def base_totals(org, end: date, start: date | None = None) -> tuple[dict[int, Decimal], int]:
    """({account id: net debit in the base currency}, lines without a base amount) for the lines dated
    in [start, end] (from the beginning when start is None). One query over the journal lines."""
    with connection.cursor() as cursor:
        cursor.execute(_BASE_TOTALS_SQL, {"base": org.base_currency, "org": org.pk, "end": end, "start": start})
        found = cursor.fetchall()
    return {account_id: total for account_id, total, _n in found}, sum(n for _a, _t, n in found)


def trial_balance_base(org, as_of: date) -> tuple[list[TrialBalanceRow], int]:
    """The trial balance of every currency together, in the base currency (the lines' base amounts, so
    it balances as every entry does), and the number of foreign lines from before base amounts."""
    sums, unmeasured = base_totals(org, as_of)
    rows = [TrialBalanceRow(account, org.base_currency, max(sums[account.pk], Decimal(0)),
                            max(-sums[account.pk], Decimal(0)))
            for account in Account.objects.filter(organization=org).order_by("code")
            if sums.get(account.pk)]
    return rows, unmeasured
