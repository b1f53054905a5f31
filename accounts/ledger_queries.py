"""Read-only questions the ledger's pages ask of the journal, and the small registries through
which other apps tell those pages about their documents.

Nothing here writes: postings go through `accounts.ledger` only.

Registries (filled from an AppConfig.ready):

    register_source("invoicing.invoice", _("Invoice"),
                    lambda org, source_id: reverse("invoice_detail", args=[org.slug, source_id]))
    OVERDUE_AMOUNT.append(lambda customer: Decimal(...))   # shown on the customer page
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Sum, Window
from django.db.models.expressions import RowRange
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.ledger import customer_balance
from accounts.models_ledger import AccountDayTotal, JournalEntry, JournalLine, LedgerHead

# The general journal form posts with this source type (no document behind it).
MANUAL_SOURCE = "manual"


@dataclass(frozen=True)
class SourceType:
    label: str
    url: Callable | None = None  # (org, source_id) -> url or None


SOURCE_TYPES: dict[str, SourceType] = {
    MANUAL_SOURCE: SourceType(_("Manual adjustment")),
}

# Callables (customer) -> Decimal | None: the customer's overdue amount. Invoicing registers one;
# the customer page shows the "Overdue" figure once any is registered.
OVERDUE_AMOUNT: list[Callable] = []


def register_source(source_type: str, label, url: Callable | None = None) -> None:
    """Tell the ledger pages how to name and link the documents of `source_type`
    (the `app_label.model` that `ledger.post(source=...)` records)."""
    SOURCE_TYPES[source_type] = SourceType(label, url)


def source_label(source_type: str) -> str:
    if not source_type:
        return ""
    known = SOURCE_TYPES.get(source_type)
    return str(known.label) if known else source_type


def source_url(org, entry) -> str | None:
    known = SOURCE_TYPES.get(entry.source_type)
    if known is None or known.url is None or entry.source_id is None:
        return None
    try:
        return known.url(org, entry.source_id)
    except Exception:  # noqa: BLE001 - a broken link builder must not break the ledger pages
        return None


def entry_url(org, entry) -> str:
    return reverse("journal_entry", kwargs={"org_slug": org.slug, "pk": entry.pk})


def overdue_amount(customer) -> Decimal | None:
    """The sum of what the registered providers report, or None while none is registered."""
    if not OVERDUE_AMOUNT:
        return None
    return sum((provider(customer) or Decimal(0) for provider in OVERDUE_AMOUNT), Decimal(0))


def source_types_in_use(org) -> list[str]:
    """Distinct source types of the organization's entries: a loose index scan over the
    (organization, source_type, source_id) index, a handful of index probes at any size."""
    sql = """
    WITH RECURSIVE t(st) AS (
        SELECT min(source_type) FROM accounts_journalentry WHERE organization_id = %s
        UNION ALL
        SELECT (SELECT min(source_type) FROM accounts_journalentry
                WHERE organization_id = %s AND source_type > t.st)
        FROM t WHERE t.st IS NOT NULL
    )
    SELECT st FROM t WHERE st IS NOT NULL
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [org.pk, org.pk])
        return [row[0] for row in cursor.fetchall()]


# --- A customer's transaction history ------------------------------------------------------

HISTORY_ORDER = ("effective_date", "entry__seq", "line_no")


def customer_lines(customer, start: date | None = None, end: date | None = None):
    """The customer's receivable lines within [start, end], each annotated with `running`: the
    sum of the lines in the range up to and including it, in (date, sequence, line) order.

    The window is computed by PostgreSQL over the whole range before LIMIT/OFFSET apply, so a
    page of this queryset carries correct running sums without loading earlier pages. Add
    `opening_balance(customer, start)` to get the customer's balance after each line. Newest first.
    """
    return (
        customer_lines_in_range(customer, start, end).select_related("entry", "account")
        .annotate(running=Window(Sum("amount"), order_by=[F(f).asc() for f in HISTORY_ORDER],
                                 frame=RowRange(start=None, end=0)))
        .order_by(*[F(f).desc() for f in HISTORY_ORDER])
    )


def customer_lines_in_range(customer, start: date | None = None, end: date | None = None):
    """The customer's receivable lines in its currency within [start, end], unordered (counting
    these is an index scan; counting the windowed queryset would compute the window)."""
    lines = JournalLine.objects.filter(
        organization_id=customer.organization_id, customer=customer, currency=customer.currency)
    if start is not None:
        lines = lines.filter(effective_date__gte=start)
    if end is not None:
        lines = lines.filter(effective_date__lte=end)
    return lines


def customer_lines_chronological(customer, start: date | None = None, end: date | None = None):
    """The same lines oldest first, without the window (for streaming exports)."""
    return customer_lines_in_range(customer, start, end).select_related("entry").order_by(*HISTORY_ORDER)


def opening_balance(customer, start: date | None) -> Decimal:
    """The customer's balance at the end of the day before `start` (0 without a start)."""
    if start is None:
        return Decimal(0)
    return customer_balance(customer, as_of=start - timedelta(days=1))


# --- The journal ---------------------------------------------------------------------------

def journal_entries(org, *, start=None, end=None, account=None, customer=None, source_type=None):
    """Entries newest first with everything the journal page shows, in a bounded number of
    queries: the entries (with actor and both reversal links) and one query for all lines."""
    entries = JournalEntry.objects.filter(organization=org)
    if start is not None:
        entries = entries.filter(effective_date__gte=start)
    if end is not None:
        entries = entries.filter(effective_date__lte=end)
    if account is not None:
        entries = entries.filter(Exists(JournalLine.objects.filter(entry=OuterRef("pk"), account=account)))
    if customer is not None:
        entries = entries.filter(Exists(JournalLine.objects.filter(entry=OuterRef("pk"), customer=customer)))
    if source_type is not None:
        entries = entries.filter(source_type=source_type)
    return with_details(entries).order_by("-seq")


def with_details(entries):
    """The entry's actor and lines (one query for all lines). The reversal partners come from
    `attach_reversal_links`, a separate small query: joining the journal to itself in the page
    query lets a planner with stale statistics pick a plan that reads the whole journal."""
    return entries.select_related("actor").prefetch_related(
        Prefetch("lines", queryset=JournalLine.objects.select_related("account", "customer").order_by("line_no")))


def attach_reversal_links(org, entries) -> list:
    """Set `reverses_entry` (what the entry reverses) and `reversed_by_entry` (its reversal) on
    each entry, in one query. Returns the entries as a list."""
    entries = list(entries)
    ids = [e.pk for e in entries]
    targets = [e.reverses_id for e in entries if e.reverses_id]
    partners = []
    if entries:
        partners = list(JournalEntry.objects.filter(organization=org)
                        .filter(Q(pk__in=targets) | Q(reverses_id__in=ids)).select_related("actor"))
    by_id = {p.pk: p for p in partners}
    by_target = {p.reverses_id: p for p in partners if p.reverses_id}
    for entry in entries:
        entry.reverses_entry = by_id.get(entry.reverses_id) if entry.reverses_id else None
        entry.reversed_by_entry = by_target.get(entry.pk)
    return entries


def entry_count(org) -> int:
    """How many entries the organization has: the last sequence number (gapless from 1), O(1)."""
    head = LedgerHead.objects.filter(organization=org).values_list("last_seq", flat=True).first()
    return head or 0


# --- Accounts ------------------------------------------------------------------------------

def account_balances(org, as_of: date | None = None) -> dict[tuple[int, str], Decimal]:
    """{(account_id, currency): net debit balance} from the maintained day totals."""
    totals = AccountDayTotal.objects.filter(organization=org)
    if as_of is not None:
        totals = totals.filter(day__lte=as_of)
    return {(r["account_id"], r["currency"]): r["s"]
            for r in totals.values("account_id", "currency").annotate(s=Sum("amount"))}


def accounts_with_lines(org) -> set[int]:
    """Ids of the organization's accounts that any journal line uses (one probe per account)."""
    from accounts.models_ledger import Account

    return set(
        Account.objects.filter(organization=org)
        .filter(Exists(JournalLine.objects.filter(account=OuterRef("pk"))))
        .values_list("pk", flat=True)
    )
