"""The ledger's pages: the journal, an entry with its audit trail, the general journal form,
reversals, the trial balance, ledger verification, and the customer page's balance and
transaction history (with its CSV export).

Every amount shown here is read from the journal (or the balances the posting transaction
maintains); every write goes through `accounts.ledger`.
"""

import time
from collections import defaultdict
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import ledger
from accounts.forms_ledger import (
    AsOfForm,
    DateRangeForm,
    JournalFilterForm,
    JournalHeaderForm,
    JournalLineFormSet,
    ReverseForm,
)
from accounts.ledger import new_idempotency_key
from accounts.ledger_queries import (
    MANUAL_SOURCE,
    attach_reversal_links,
    customer_lines,
    customer_lines_chronological,
    customer_lines_in_range,
    entry_count,
    entry_url,
    journal_entries,
    opening_balance,
    overdue_amount,
    source_label,
    source_types_in_use,
    source_url,
    with_details,
)
from accounts.ledger_verify import verify_organization
from accounts.management.commands.verify_ledger import record_verification
from accounts.models import Customer, JournalEntry, Role
from accounts.models_org import today_in
from accounts.money import quantum
from accounts.permissions import can, org_view
from accounts.views.customers import CUSTOMER_DETAIL_PANELS
from ledger_site.exports import csv_stream_response
from ledger_site.tenancy import tenant_context

JOURNAL_PAGE_SIZE = 25
HISTORY_PAGE_SIZE = 25
GJ_START_LINES = 4
GJ_MORE_LINES = 2


# --- Shared bits ---------------------------------------------------------------------------

def split(amount: Decimal) -> tuple[Decimal | None, Decimal | None]:
    """A signed amount as (debit, credit) columns, the empty side None."""
    return (amount, None) if amount > 0 else (None, -amount)


class EntryView:
    """What the templates show for one entry: its lines as debit/credit and its links."""

    def __init__(self, org, entry):
        self.entry = entry
        self.lines = [(line, *split(line.amount)) for line in entry.lines.all()]
        # Issue 17: a foreign line shows its base-currency amount too; an exchange difference (0 in its
        # currency) is its base amount alone, in the base currency's columns.
        for line, _debit, _credit in self.lines:
            line.foreign = line.currency != org.base_currency and line.base_amount is not None
            line.fx_debit, line.fx_credit = (split(line.base_amount) if line.amount == 0 and line.base_amount
                                             else (None, None))
        self.url = entry_url(org, entry)
        self.source_label = entry.source_label
        self.source_kind = source_label(entry.source_type)
        self.source_url = source_url(org, entry)
        self.reverses = entry.reverses_entry  # set by attach_reversal_links
        self.reversed_by = entry.reversed_by_entry
        totals = defaultdict(Decimal)
        for line in entry.lines.all():
            if line.amount > 0:
                totals[line.currency] += line.amount
        self.totals = sorted(totals.items())


class CountedPaginator(Paginator):
    """Counts a cheaper queryset with the same rows (e.g. without a window annotation)."""

    def __init__(self, object_list, per_page, *, counted):
        super().__init__(object_list, per_page)
        self.counted = counted

    @cached_property
    def count(self):
        return self.counted.count()


class JournalPage:
    """A page of entries. With a known total (`count`) it knows its number of pages; without,
    it reads one row more than it shows to learn whether there is a next page."""

    def __init__(self, queryset, number, size, count=None):
        try:
            number = max(int(number), 1)
        except (TypeError, ValueError):
            number = 1
        self.count = count
        self.num_pages = max((count + size - 1) // size, 1) if count is not None else None
        if self.num_pages is not None:
            number = min(number, self.num_pages)
        offset = (number - 1) * size
        rows = list(queryset[offset:offset + size + 1])
        self.number, self.object_list = number, rows[:size]
        self.has_next, self.has_previous = len(rows) > size, number > 1
        self.next_page_number, self.previous_page_number = number + 1, number - 1


# --- The journal ---------------------------------------------------------------------------

@org_view(Role.VIEWER)
def journal(request):
    org = request.org
    sources = source_types_in_use(org)
    form = JournalFilterForm(request.GET or None, org=org,
                             source_choices=[(s or "-", source_label(s) or _("No source")) for s in sources])
    filters = {}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        filters = {"start": data.get("start"), "end": data.get("end"), "account": data.get("account"),
                   "customer": data.get("customer")}
        if data.get("source"):
            filters["source_type"] = "" if data["source"] == "-" else data["source"]
    entries = journal_entries(org, **filters)
    # Unfiltered, the count is the last sequence number (gapless); filtered, counting could read
    # much of the journal, so the page only learns whether a next page exists.
    count = entry_count(org) if not any(v is not None for v in filters.values()) else None
    page = JournalPage(entries, request.GET.get("page"), JOURNAL_PAGE_SIZE, count)
    return render(request, "ledger/journal.html", {
        "form": form, "page": page,
        "rows": [EntryView(org, e) for e in attach_reversal_links(org, page.object_list)],
        "filtered": bool(request.GET.keys() - {"page"}), "can_post": can(request, Role.FINANCE),
    })


@org_view(Role.VIEWER)
def journal_entry(request, pk):
    org = request.org
    entry = get_object_or_404(with_details(JournalEntry.objects.filter(organization=org)), pk=pk)
    view = EntryView(org, attach_reversal_links(org, [entry])[0])
    reversible = entry.source_type == MANUAL_SOURCE and entry.reverses_id is None and view.reversed_by is None
    return render(request, "ledger/entry.html", {
        "e": view, "entry": entry, "reversible": reversible,
        "reverse_form": ReverseForm() if reversible and can(request, Role.FINANCE) else None,
    })


@require_POST
@org_view(Role.FINANCE)
def journal_reverse(request, pk):
    org = request.org
    entry = get_object_or_404(JournalEntry.objects.filter(organization=org), pk=pk)
    if entry.source_type != MANUAL_SOURCE:
        messages.error(request, _("This entry was posted by a document; correct it from that document "
                                  "(for example void the invoice or reverse the payment)."))
        return redirect("journal_entry", org_slug=org.slug, pk=entry.pk)
    form = ReverseForm(request.POST)
    if not form.is_valid():
        found = get_object_or_404(with_details(JournalEntry.objects.filter(organization=org)), pk=pk)
        view = EntryView(org, attach_reversal_links(org, [found])[0])
        return render(request, "ledger/entry.html", {
            "e": view, "entry": view.entry, "reversible": True, "reverse_form": form}, status=400)
    try:
        with transaction.atomic():
            reversal = ledger.reverse(entry, reason=form.cleaned_data["reason"], actor=request.user,
                                      effective_date=form.cleaned_data["effective_date"])
    except ledger.LedgerError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("journal_entry", org_slug=org.slug, pk=entry.pk)
    messages.success(request, _("Entry #%(seq)s reversed by entry #%(rev)s.")
                     % {"seq": entry.seq, "rev": reversal.seq})
    return redirect("journal_entry", org_slug=org.slug, pk=reversal.pk)


# --- The general journal form --------------------------------------------------------------

@org_view(Role.FINANCE)
def journal_new(request):
    org = request.org
    if request.method != "POST":
        key = new_idempotency_key()
        header = JournalHeaderForm(initial={"effective_date": today_in(request.org),
                                            "currency": org.base_currency, "idempotency_key": key})
        lines = JournalLineFormSet(prefix="lines", form_kwargs={"org": org, "currency": org.base_currency})
        lines.extra = GJ_START_LINES
        return _render_gj(request, header, lines, show_errors=False)

    header = JournalHeaderForm(request.POST)
    currency = header.data.get("currency") or org.base_currency
    if currency not in dict(header.fields["currency"].choices):
        currency = org.base_currency
    data = request.POST
    if "add_lines" in data:
        data = data.copy()
        total = _int(data.get("lines-TOTAL_FORMS"), GJ_START_LINES)
        data["lines-TOTAL_FORMS"] = str(min(total + GJ_MORE_LINES, JournalLineFormSet.max_num))
    lines = JournalLineFormSet(data, prefix="lines", form_kwargs={"org": org, "currency": currency})
    if "add_lines" in data:
        return _render_gj(request, header, lines, show_errors=False)

    post_error = None
    if header.is_valid() & lines.is_valid():
        key = f"gj:{header.cleaned_data['idempotency_key']}"
        already = JournalEntry.objects.filter(organization=org, idempotency_key=key).first()
        if already is not None:
            messages.info(request, _("This form was already posted as entry #%(seq)s; nothing was posted "
                                     "again.") % {"seq": already.seq})
            return redirect("journal_entry", org_slug=org.slug, pk=already.pk)
        h = header.cleaned_data
        try:
            with transaction.atomic():
                entry = ledger.post(
                    org, [ledger.Line(line["account"], line["amount"], currency=h["currency"])
                          for line in lines.lines()],
                    effective_date=h["effective_date"], idempotency_key=key, memo=h["memo"] or h["reason"],
                    actor=request.user, source=(MANUAL_SOURCE, None), reason=h["reason"])
        except ledger.LedgerError as e:
            post_error = " ".join(e.messages)
        else:
            messages.success(request, _("Entry #%(seq)s posted.") % {"seq": entry.seq})
            return redirect("journal_entry", org_slug=org.slug, pk=entry.pk)
    return _render_gj(request, header, lines, show_errors=True, post_error=post_error, status=400)


def _render_gj(request, header, lines, *, show_errors, post_error=None, status=200):
    return render(request, "ledger/journal_form.html", {
        "header": header, "lines": lines, "show_errors": show_errors, "post_error": post_error,
    }, status=status)


def _int(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- Trial balance -------------------------------------------------------------------------

@org_view(Role.VIEWER)
def trial_balance(request):
    org = request.org
    form = AsOfForm(request.GET or None)
    as_of = today_in(request.org)
    if form.is_bound and form.is_valid() and form.cleaned_data.get("as_of"):
        as_of = form.cleaned_data["as_of"]
    rows = ledger.trial_balance(org, as_of=as_of)
    accounts = list(org.accounts.order_by("code"))
    by_currency = defaultdict(dict)
    for row in rows:
        by_currency[row.currency][row.account.pk] = row
    currencies = sorted(by_currency, key=lambda c: (c != org.base_currency, c))
    if org.base_currency not in currencies:
        currencies.insert(0, org.base_currency)
    tables = []
    for currency in currencies:
        found = by_currency.get(currency, {})
        # The base currency lists every account; another currency lists those it moved.
        shown = accounts if currency == org.base_currency else [a for a in accounts if a.pk in found]
        table_rows = [(a, found[a.pk].debit if a.pk in found else None,
                       found[a.pk].credit if a.pk in found else None) for a in shown]
        debit = sum((r.debit for r in found.values()), Decimal(0))
        credit = sum((r.credit for r in found.values()), Decimal(0))
        tables.append({"currency": currency, "rows": table_rows, "debit": debit, "credit": credit,
                       "balanced": debit == credit, "difference": abs(debit - credit)})
    base_table = None
    if len(currencies) > 1:  # several currencies: all of them together in the base currency (issue 17)
        base_rows, unmeasured = ledger.trial_balance_base(org, as_of)
        debit = sum((r.debit for r in base_rows), Decimal(0))
        credit = sum((r.credit for r in base_rows), Decimal(0))
        base_table = {"currency": org.base_currency, "rows": [(r.account, r.debit or None, r.credit or None)
                                                               for r in base_rows],
                      "debit": debit, "credit": credit, "balanced": debit == credit,
                      "difference": abs(debit - credit), "key": "all",
                      "caption": _("All currencies together, in %(c)s: every line at the rate it was booked")
                      % {"c": org.base_currency}
                      + (_(" (%(n)s line(s) from before base amounts are left out)") % {"n": unmeasured}
                         if unmeasured else "")}
        tables.append(base_table)
    return render(request, "ledger/trial_balance.html", {
        "form": form, "as_of": as_of, "tables": tables,
    })


# --- Verification --------------------------------------------------------------------------

@transaction.non_atomic_requests
@require_POST
@org_view(Role.OWNER)
def ledger_verify(request):
    """Run verify_ledger for this organization now. Outside the request's transaction, so that
    verify_organization reads the whole ledger in one REPEATABLE READ snapshot."""
    org = request.org
    started, started_at = time.perf_counter(), timezone.now()
    result = verify_organization(org)
    record_verification(org, result, trigger="manual", started_at=started_at, seconds=time.perf_counter() - started)
    if result.ok:
        messages.success(request, _("Ledger verified: %(n)s entries and %(l)s lines check out.")
                         % {"n": result.entries, "l": result.lines})
    else:
        messages.error(request, _("Ledger verification failed: %(problem)s") % {"problem": result.problems[0]})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()) or not target.startswith("/"):
        target = reverse("journal", kwargs={"org_slug": org.slug})
    return redirect(target)


# --- The customer page ---------------------------------------------------------------------

def customer_balance_panel(request, customer):
    """Balance now (owed or in credit) and, once invoicing registers it, the overdue amount."""
    balance = ledger.customer_balance(customer)
    return "ledger/customer_balance_panel.html", {
        "balance": balance, "abs_balance": abs(balance), "overdue": overdue_amount(customer),
        "currency": customer.currency,
    }


def customer_history_panel(request, customer):
    """The transaction history: newest first, with the balance after each line, paginated."""
    form = DateRangeForm(request.GET, prefix="h")
    start, end = form.range()
    opening = opening_balance(customer, start)
    paginator = CountedPaginator(customer_lines(customer, start, end), HISTORY_PAGE_SIZE,
                                 counted=customer_lines_in_range(customer, start, end))
    page = paginator.get_page(request.GET.get("h-page"))
    rows = []
    for line in page.object_list:
        debit, credit = split(line.amount)
        entry = line.entry
        rows.append({"line": line, "entry": entry, "debit": debit, "credit": credit,
                     "balance": opening + line.running, "entry_url": entry_url(request.org, entry),
                     "document": entry.source_label or source_label(entry.source_type),
                     "document_url": source_url(request.org, entry)})
    query = request.GET.copy()
    query.pop("h-page", None)
    range_query = urlencode({k: v.isoformat() for k, v in (("h-start", start), ("h-end", end)) if v})
    return "ledger/customer_history_panel.html", {
        "form": form, "page": page, "rows": rows, "opening": opening, "start": start, "end": end,
        "currency": customer.currency, "other_params": query.urlencode(), "range_query": range_query,
        "filtered": bool(start or end), "customer": customer,
    }


CUSTOMER_DETAIL_PANELS.extend([customer_balance_panel, customer_history_panel])


@org_view(Role.VIEWER)
def customer_ledger_csv(request, pk):
    """The customer's history in the date range as CSV, oldest first, streamed."""
    org = request.org
    customer = get_object_or_404(Customer.objects.filter(organization=org), pk=pk)
    form = DateRangeForm(request.GET, prefix="h")
    start, end = form.range()
    opening = opening_balance(customer, start)
    name = f"{customer.code}-ledger" + (f"-from-{start}" if start else "") + (f"-to-{end}" if end else "")
    return csv_stream_response(_csv_rows(org, customer, start, end, opening), f"{_safe_filename(name)}.csv")


def _csv_rows(org, customer, start, end, opening):
    """Runs after the view returned (and after the tenancy middleware cleared the database
    context), so it sets the organization's context itself while it reads."""
    yield [_("Date"), _("Entry"), _("Document"), _("Description"), _("Debit"), _("Credit"), _("Balance"),
           _("Currency")]
    running, currency = opening, customer.currency
    if start is not None:
        yield [start, "", "", _("Opening balance"), "", "", _plain(running, currency), currency]
    with tenant_context(org):
        for line in customer_lines_chronological(customer, start, end).iterator(chunk_size=2000):
            running += line.amount
            debit, credit = split(line.amount)
            entry = line.entry
            yield [
                line.effective_date, entry.seq, entry.source_label or source_label(entry.source_type), entry.memo,
                _plain(debit, currency), _plain(credit, currency), _plain(running, currency), currency,
            ]


def _plain(amount: Decimal | None, currency: str) -> Decimal | str:
    """1234.5 → 1234.50: the currency's decimals, no grouping (for spreadsheets)."""
    return "" if amount is None else amount.quantize(quantum(currency))


def _safe_filename(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
