"""Payments: record a receipt, allocate it, apply credit later, refund, reverse a bounced payment.

Each function is one transaction and the only place its rule lives. Amounts post through
`accounts.ledger.post` / `reverse` (DESIGN.md posting rules):

    payment received   Dr Bank / Cash / Card clearing      Cr AR (customer)
    refund             Dr AR (customer)                    Cr the account paid from
    payment reversed   the mirror image of the receipt (Dr AR / Cr Bank), pointing at it

Allocation (payments.allocation) is sub-ledger matching and posts nothing. Refused input raises
PaymentError or AllocationError (both LedgerError) with a message for people; nothing changes.

Idempotency: a payment and a refund carry the key of the form that was rendered (unique per
organization, and the ledger key derives from it); apply / un-apply / reverse claim their form's
key in `Submission`. A double submission or a retried request therefore acts once.

Lock order: the customer's payments advisory lock (`lock_customer_payments`), then invoices
(by id), then the payment or credit note, then the ledger head. The head is the organization's
(every posting waits for it until the holder commits), so it is taken last: a payment's receipt is
posted after its allocations are written, and the payment row that names the entry after that.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import DecimalField, ExpressionWrapper, F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import ledger
from accounts.chart import system_accounts
from accounts.ledger import LedgerError, Line
from accounts.locale import expected_format, parse_number
from accounts.models import Account, JournalEntry
from accounts.models_org import today_in
from accounts.money import MoneyError, check_exact, format_money, round_money
from accounts.related_rows import keep_related
from invoicing import hooks
from invoicing.amounts import change_amounts
from invoicing.models import CreditNote, Invoice, InvoiceStatus
from ledger_site.tenancy import organization_of
from payments.allocation import (
    AllocationError,
    apply_many,
    apply_new_payment,
    describe_source,
    lock_invoices,
    post_realized,
    unapply,
)
from payments.models import Allocation, Payment, PaymentMethod, Refund, Submission

DEPOSIT_KEYS = ("bank", "cash", "card")
KEY_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
AUTO, MANUAL, NONE = "auto", "manual", "none"
ZERO = Decimal(0)
_OPEN = ExpressionWrapper(F("amount") - F("amount_allocated") - F("amount_refunded"),
                          output_field=DecimalField(max_digits=18, decimal_places=3))
_CN_OPEN = ExpressionWrapper(F("total") - F("amount_applied"), output_field=DecimalField(max_digits=18,
                                                                                          decimal_places=3))


class PaymentError(LedgerError):
    """A refused payment action; nothing was changed."""


class RateToConfirm(PaymentError):
    """A conversion rate entered far from the day's: every other check passed; confirm to record it."""


class DuplicateSubmission(PaymentError):
    """The same rendered form was submitted before; nothing was done again."""


# --- Reading ---------------------------------------------------------------------------------

def future_limit() -> date:
    """The latest acceptable "date received": today plus settings.PAYMENT_FUTURE_DAYS."""
    return today_in() + timedelta(days=settings.PAYMENT_FUTURE_DAYS)


def deposit_accounts(org):
    """Where money can go in (and refunds come out): the Bank, Cash and Card clearing accounts."""
    return Account.objects.filter(organization=org, system_key__in=DEPOSIT_KEYS).order_by("code")


def open_invoices(customer):
    """The customer's open invoices, oldest due first (the automatic allocation order)."""
    return (Invoice.objects.filter(organization_id=customer.organization_id, customer=customer).open()
            .order_by("due_date", "issue_date", "pk"))


def unapplied_payments(customer):
    return (Payment.objects.filter(organization_id=customer.organization_id, customer=customer,
                                   reversed_at__isnull=True)
            .annotate(open_amount=_OPEN).filter(open_amount__gt=0).order_by("received_date", "pk"))


def unapplied_credit_notes(customer):
    return (CreditNote.objects.filter(organization_id=customer.organization_id, customer=customer)
            .annotate(open_amount=_CN_OPEN).filter(open_amount__gt=0).order_by("issue_date", "pk"))


def unapplied_sources(customer) -> list:
    """Unapplied payments and credit notes, oldest first (by date received / issued)."""
    sources = list(unapplied_payments(customer)) + list(unapplied_credit_notes(customer))
    return sorted(sources, key=lambda s: (getattr(s, "received_date", None) or s.issue_date,
                                          isinstance(s, Payment), s.pk))


def customer_unapplied_credit(customer) -> Decimal:
    """Unapplied payments plus unapplied credit notes, in the customer's currency."""
    payments = unapplied_payments(customer).aggregate(s=Sum("open_amount"))["s"] or ZERO
    notes = unapplied_credit_notes(customer).aggregate(s=Sum("open_amount"))["s"] or ZERO
    return payments + notes


# --- Allocation plans (pure: used for the preview and, under the locks, for the real thing) ---

@dataclass
class PlanRow:
    invoice: Invoice
    amount: Decimal = ZERO
    error: str = ""

    @property
    def new_due(self) -> Decimal:
        return self.invoice.amount_due - (self.amount if not self.error else ZERO)

    @property
    def new_status(self) -> str:
        if self.error or not self.amount:
            return self.invoice.display_status
        if self.new_due == 0:
            return "paid"
        return "overdue" if self.invoice.is_overdue else "partially_paid"


@dataclass
class Plan:
    rows: list[PlanRow]
    available: Decimal
    currency: str
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((r.amount for r in self.rows if not r.error), ZERO)

    @property
    def remaining(self) -> Decimal:
        return self.available - self.total

    @property
    def ok(self) -> bool:
        return not self.errors and not any(r.error for r in self.rows)

    @property
    def all_errors(self) -> list[str]:
        return self.errors + [f"{r.invoice}: {r.error}" for r in self.rows if r.error]

    def amounts(self) -> dict[int, Decimal]:
        """{invoice id: amount}, oldest due first, non-zero only."""
        return {r.invoice.pk: r.amount for r in self.rows if r.amount and not r.error}


def auto_amounts(invoices, available: Decimal, today: date | None = None) -> dict[int, Decimal]:
    """Oldest due first: pay each invoice in full while money lasts, the last one partly.
    Invoices under an active dispute hold are skipped (apply to them by hand)."""
    today = today or today_in()
    left, out = available, {}
    for invoice in invoices:
        if left <= 0:
            break
        if invoice.is_disputed_on(today):
            continue
        amount = min(left, invoice.amount_due)
        if amount > 0:
            out[invoice.pk] = amount
            left -= amount
    return out


# A payment this much larger than what the customer owes is far more often a typo (an extra
# zero, a pasted account number) than a prepayment: it is recorded only after an explicit
# confirmation (issue 21 point 12). Both conditions: ten times the balance and 1,000 above it.
LARGE_FACTOR, LARGE_MARGIN = Decimal(10), Decimal(1000)


def needs_large_confirmation(amount: Decimal, owed: Decimal) -> bool:
    owed = max(owed, Decimal(0))
    return amount > owed * LARGE_FACTOR and amount - owed > LARGE_MARGIN


def parse_amount(raw) -> Decimal | None:
    """A form value as Decimal: '' → None; the organization's way of writing numbers
    (accounts.locale.parse_number); refuses garbage and ambiguous text (ValueError)."""
    return parse_number(raw)


def build_plan(invoices, available: Decimal, currency: str, mode: str = AUTO,
               manual: dict | None = None) -> Plan:
    """What an allocation would do to each of `invoices` (the customer's open ones, oldest due
    first). `manual` maps invoice ids to Decimal amounts (None = blank, "invalid" = unreadable);
    ids that are not among `invoices` are refused as a whole (forged or stale)."""
    invoices = list(invoices)
    plan = Plan(rows=[PlanRow(invoice) for invoice in invoices], available=available, currency=currency)
    if mode == AUTO:
        amounts = auto_amounts(invoices, max(available, ZERO))
        for row in plan.rows:
            row.amount = amounts.get(row.invoice.pk, ZERO)
        return plan
    if mode != MANUAL:
        return plan
    manual = manual or {}
    known = {invoice.pk for invoice in invoices}
    strangers = sorted(str(k) for k in manual if k not in known and manual[k] not in (None, ZERO))
    if strangers:
        plan.errors.append(_("Invoice #%(ids)s is not an open invoice of this customer; reload the page.")
                           % {"ids": ", #".join(strangers)})
    for row in plan.rows:
        value = manual.get(row.invoice.pk)
        if value is None:
            continue
        if value == "invalid":
            row.error = expected_format()
            continue
        row.amount = value
        try:
            check_exact(value, currency)
        except MoneyError as e:
            row.error = str(e)
            continue
        if value < 0:
            row.error = _("Enter zero or more.")
        elif value > row.invoice.amount_due:
            row.error = _("More than the amount due (%(due)s).") % {"due": format_money(row.invoice.amount_due,
                                                                                        currency)}
    if plan.total > available:
        plan.errors.append(_("The amounts add up to %(total)s, more than the %(available)s available.")
                           % {"total": format_money(plan.total, currency),
                              "available": format_money(available, currency)})
    return plan


def _lock_for_auto(customer, needed: Decimal) -> list[Invoice]:
    """Lock the customer's oldest-due open invoices that `needed` can pay (they are re-read
    under the lock, so a concurrent payment's effect is seen) and return them, oldest first."""
    locked: dict[int, Invoice] = {}
    left = needed
    today = organization_of(customer).today()
    while left > 0:
        candidates = list(open_invoices(customer).not_disputed_on(today).exclude(pk__in=list(locked))
                          .values_list("pk", "amount_due")[:200])
        if not candidates:
            break
        take, covered = [], ZERO
        for pk, due in candidates:
            take.append(pk)
            covered += due
            if covered >= left:
                break
        fresh = lock_invoices(customer.organization_id, take)
        locked.update(fresh)
        left -= sum((i.amount_due for i in fresh.values() if i.status == InvoiceStatus.ISSUED), ZERO)
    return sorted(locked.values(), key=lambda i: (i.due_date, i.issue_date, i.pk))


# --- Writing -----------------------------------------------------------------------------------

def check_key(key: str) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise PaymentError(_("The form is missing its submission key; reload the page and try again."))
    return key


def claim_submission(org, key: str, kind: str, actor=None) -> None:
    """Take the form's key for `org` (an Organization or its id), or raise DuplicateSubmission if
    it was taken (the first holder's transaction is waited for: a concurrent double click queues here)."""
    key = check_key(key)
    try:
        with transaction.atomic():
            Submission.objects.create(organization_id=getattr(org, "pk", org), key=key, kind=kind,
                                      created_by=actor if getattr(actor, "pk", None) else None)
    except IntegrityError as e:
        raise DuplicateSubmission(_("This form was already submitted; nothing was done again.")) from e


_LOCK_NAMESPACE = 0x70617920  # "pay ": the first key of the per-customer advisory lock


def lock_customer_payments(customer_id: int) -> None:
    """Serialize this transaction's payment work for one customer (a transaction-scoped advisory
    lock, taken before any row lock). Automatic allocation locks invoices in due-date order, in
    steps; holding this first means two allocations for one customer never wait on each other
    in a circle. Nothing else takes it, so it adds no cycle with invoicing's locks."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, customer_id & 0x7FFFFFFF])


def _next_id(model) -> int:
    """Reserve the row's id first, so the ledger entry can name its source document."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [model._meta.db_table])
        return cursor.fetchone()[0]


def _check_money(amount, currency: str, what: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise PaymentError(_("Enter the %(what)s as a number.") % {"what": what})
    try:
        amount = check_exact(amount, currency)
    except MoneyError as e:
        raise PaymentError(str(e)) from e
    if amount <= 0:
        raise PaymentError(_("The %(what)s must be more than zero.") % {"what": what})
    return amount


def _check_account(org, account: Account) -> Account:
    if account is None or account.organization_id != org.pk or account.system_key not in DEPOSIT_KEYS:
        raise PaymentError(_("Choose the Bank, Cash or Card clearing account."))
    return account


def _check_method(method: str) -> str:
    if method not in PaymentMethod.values:
        raise PaymentError(_("Choose a payment method."))
    return method


def _check_not_future(day: date, label: str) -> date:
    if not isinstance(day, date):
        raise PaymentError(_("Enter the %(what)s.") % {"what": label})
    limit = future_limit()
    if day > limit:
        raise PaymentError(_("The %(what)s %(day)s is in the future; at most %(n)s day(s) ahead (%(limit)s) "
                             "is accepted.") % {"what": label, "day": day.isoformat(),
                                                "n": settings.PAYMENT_FUTURE_DAYS, "limit": limit.isoformat()})
    return day


@dataclass(frozen=True)
class Conversion:
    """Money received in another currency than the customer's account, as the account takes it."""
    received: Decimal  # what the bank got, in `currency`
    currency: str
    amount: Decimal  # in the customer's currency: what is credited to the account and can be applied
    rate: Decimal  # units of the customer's currency per unit received (entered, or the day's cross rate)
    base_received: Decimal  # the money received in the base currency, at its rate of the day
    base_credited: Decimal  # the credit to the account in the base currency (= base_received unless the
    #                         account is in the base currency itself)

    @property
    def fx_rate(self) -> Decimal:
        """The payment's rate: base units per unit of the customer's currency, as its entry books it."""
        return (self.base_credited / self.amount).quantize(Decimal("1e-12"))


def convert_receipt(org, customer, received: Decimal, currency: str, day: date, rate: Decimal | None = None,
                    confirm_rate: bool = False) -> Conversion:
    """What `received` in `currency` credits to a customer whose account is in another currency: at the
    rate entered (checked by accounts.fx.check_entered_rate), else at the day's cross rate
    (accounts.fx.cross_rate). PaymentError names a missing rate's currency and day; nothing is written."""
    from accounts import currencies, fx

    try:
        currency = currencies.validate_code(currency)
    except currencies.UnknownCurrency as e:
        raise PaymentError(str(e)) from e
    received = _check_money(received, currency, _("amount"))
    into, base = customer.currency, org.base_currency
    try:
        usual = None
        try:
            usual = fx.cross_rate(org, currency, into, day)
        except fx.MissingRate:
            if rate is None:
                raise
        rate = usual if rate is None else fx.check_entered_rate(rate, currency, into, usual, confirm_rate)
        base_received = received if currency == base else round_money(received * fx.rate_on(org, currency, day), base)
    except fx.RateNeedsConfirmation as e:
        raise RateToConfirm(e.message) from e
    except fx.RateError as e:
        raise PaymentError(e.message) from e
    amount = round_money(received * rate, into)
    if amount <= 0:
        raise PaymentError(_("%(amount)s at %(rate)s is less than the smallest %(cur)s amount.")
                           % {"amount": format_money(received, currency), "rate": fx.rate_text(rate), "cur": into})
    return Conversion(received, currency, amount, rate, base_received,
                      amount if into == base else base_received)


def _receipt_lines(org, customer, deposit_account, amount: Decimal, currency: str,
                   conversion: Conversion | None) -> list[Line]:
    """The receipt entry. In the account's currency: Dr deposit / Cr AR. Received in another currency:
    Dr deposit and Cr currency conversion in the currency received, Dr currency conversion and Cr AR in
    the account's, every line with its base amount (the conversion account nets to zero in base); when
    the account is in the base currency and the rate entered credits another base value than the money
    received is worth, the difference is realized at once (exchange gain or loss, base only)."""
    from accounts.chart import conversion_account, realized_fx_account

    ar = system_accounts(org)["ar"]
    if conversion is None:
        return [Line(deposit_account, amount, currency=currency), Line(ar, -amount, customer)]
    c, conv = conversion, conversion_account(org)
    lines = [Line(deposit_account, c.received, currency=c.currency, base_amount=c.base_received),
             Line(conv, -c.received, currency=c.currency, base_amount=-c.base_received),
             Line(conv, c.amount, currency=customer.currency, base_amount=c.base_received),
             Line(ar, -c.amount, customer, base_amount=-c.base_credited)]
    difference = c.base_credited - c.base_received  # credited more than received: a loss (debit)
    if difference:
        lines.append(Line(realized_fx_account(org, gain=difference < 0), Decimal(0), None, c.currency,
                          base_amount=difference))
    return lines


def record_payment(org, customer, *, amount: Decimal, currency: str, received_date: date, method: str,
                   deposit_account: Account, idempotency_key: str, reference: str = "", notes: str = "",
                   actor=None, allocation="auto", at: datetime | None = None, rate: Decimal | None = None,
                   confirm_rate: bool = False) -> Payment:
    """Record money received from a customer and allocate it.

    allocation: "auto" (oldest due first), "none" (all stays unapplied credit) or a dict
    {invoice id: Decimal} of manual amounts (in the customer's currency). The same idempotency key
    records once: the second call returns the first payment and allocates nothing.

    `amount` and `currency` are the money received. In another currency than the customer's, it is
    converted (`convert_receipt`: `rate` entered, units of the customer's currency per unit received,
    else the day's cross rate) and the converted amount is what the payment credits and applies; the
    exchange difference against each invoice is realized when it is applied (payments.allocation).
    """
    key = check_key(idempotency_key)
    with transaction.atomic():
        if customer.organization_id != org.pk:
            raise PaymentError(_("That customer belongs to another organization."))
        lock_customer_payments(customer.pk)
        # Under the customer's lock: a request with this key that came first has committed its payment.
        done = Payment.objects.filter(organization=org, idempotency_key=key).first()
        if done is not None:
            return done
        if customer.is_archived:
            raise PaymentError(_("%(name)s is archived; restore the customer first.") % {"name": customer.name})
        _check_not_future(received_date, _("date received"))
        conversion = None
        if currency != customer.currency:
            conversion = convert_receipt(org, customer, amount, currency, received_date, rate, confirm_rate)
            amount, currency = conversion.amount, customer.currency
        elif rate is not None:
            raise PaymentError(_("A conversion rate is only for money received in another currency than "
                                 "%(cur)s.") % {"cur": customer.currency})
        amount = _check_money(amount, currency, _("amount"))
        _check_method(method)
        _check_account(org, deposit_account)
        reference, notes = (reference or "").strip()[:100], (notes or "").strip()[:2000]
        if allocation == AUTO:
            invoices = _lock_for_auto(customer, amount)
            amounts = auto_amounts(invoices, amount)
            locked = {i.pk: i for i in invoices}
        elif allocation in (NONE, None):
            amounts, locked = {}, {}
        else:
            wanted = {int(k): v for k, v in dict(allocation).items()}
            locked = lock_invoices(org.pk, wanted)
            mine = [i for i in locked.values() if i.customer_id == customer.pk and i.is_open]
            mine.sort(key=lambda i: (i.due_date, i.issue_date, i.pk))
            plan = build_plan(mine, amount, currency, MANUAL, wanted)
            if not plan.ok:
                raise AllocationError(" ".join(plan.all_errors))
            amounts = plan.amounts()
        pk = _next_id(Payment)
        label = reference or f"#{pk}"
        fx_rate = conversion.fx_rate if conversion else ledger.rate_of(org, currency, received_date)
        payment = Payment(
            pk=pk, organization=org, customer=customer, amount=amount, currency=currency,
            received_date=received_date, method=method, reference=reference, deposit_account=deposit_account,
            notes=notes, idempotency_key=key, created_by=actor, fx_rate=fx_rate,
            **({"received_amount": conversion.received, "received_currency": conversion.currency,
                "cross_rate": conversion.rate} if conversion else {}),
        )
        # What the receipt books on the receivable in the base currency (as ledger.base_amounts rounds it).
        booked = -(conversion.base_credited if conversion else round_money(amount * fx_rate, org.base_currency))
        # The invoices are locked above; the payment row is inserted below, after its entry. The
        # webhook events (invoice.paid, payment.recorded) are written together: one read of the endpoints.
        with hooks.batched():
            rows = apply_new_payment(payment, amounts, locked, booked_base=booked, actor=actor,
                                     effective_date=received_date, at=at)
            hooks.emit(org.pk, "payment.recorded", payment_data(payment))
        # The organization's ledger head last (its lock is held until the commit, and every posting of
        # the organization waits for it): the receipt, the payment row that names it, the realized
        # exchange differences of the allocations.
        entry = ledger.post(
            org, _receipt_lines(org, customer, deposit_account, amount, currency, conversion),
            effective_date=received_date, idempotency_key=f"payment:{key}",
            memo=f"Payment {label} from {customer.name}"[:500], actor=actor,
            source=("payments.payment", pk), source_label=label[:100], rates={currency: fx_rate},
        )
        if entry.source_id != pk:  # the ledger key was used by another payment (another customer's)
            raise PaymentError(_("This submission key was already used; reload the page."))
        payment.entry = entry
        payment.save(force_insert=True)
        post_realized(rows, locked, payment, actor)
        # The payment as written, with its allocations: a caller answers from it without reading back.
        keep_related(payment, "allocations", rows)
    return payment


def payment_data(payment: Payment) -> dict:
    return {"id": payment.pk, "customer": {"id": payment.customer_id},
            "amount": hooks.money(payment.amount, payment.currency),
            "currency": payment.currency, "received_date": payment.received_date.isoformat(),
            "method": payment.method, "reference": payment.reference,
            "reversed": payment.reversed_at is not None, "reversal_reason": payment.reversal_reason or None}


def apply_source(source: Payment | CreditNote, allocation, *, actor=None, idempotency_key: str | None = None,
                 effective_date: date | None = None) -> list[Allocation]:
    """Apply an unapplied payment or credit note to the customer's open invoices later:
    allocation "auto" (oldest due first) or {invoice id: amount}."""
    with transaction.atomic():
        if idempotency_key is not None:
            claim_submission(source.organization_id, idempotency_key, "apply", actor)
        lock_customer_payments(source.customer_id)
        if allocation == AUTO:
            available = type(source).objects.get(pk=source.pk).unapplied
            invoices = _lock_for_auto(source.customer, available)
            source = type(source).objects.select_for_update().get(pk=source.pk)
            amounts = auto_amounts(invoices, source.unapplied)
        else:
            wanted = {int(k): v for k, v in dict(allocation).items()}
            locked = lock_invoices(source.organization_id, wanted)
            source = type(source).objects.select_for_update().get(pk=source.pk)
            mine = [i for i in locked.values() if i.customer_id == source.customer_id and i.is_open]
            mine.sort(key=lambda i: (i.due_date, i.issue_date, i.pk))
            plan = build_plan(mine, source.unapplied, source.currency, MANUAL, wanted)
            if not plan.ok:
                raise AllocationError(" ".join(plan.all_errors))
            amounts = plan.amounts()
        if isinstance(source, Payment) and source.reversed_at:
            raise AllocationError(_("This payment was reversed; it has nothing to apply."))
        if not amounts:
            raise AllocationError(_("Nothing to apply: enter an amount for at least one invoice."))
        return apply_many(source, amounts, actor=actor, effective_date=effective_date)


def apply_unapplied_credit(invoice: Invoice, actor=None, idempotency_key: str | None = None,
                           at: datetime | None = None, effective_date: date | None = None) -> list[Allocation]:
    """Apply the customer's unapplied payments and credit notes (oldest first) to this invoice,
    up to its amount due. Offered when an invoice is issued; returns the allocations made
    (none when there is no credit or nothing is due)."""
    with transaction.atomic():
        if idempotency_key is not None:
            claim_submission(invoice.organization_id, idempotency_key, "apply_credit", actor)
        lock_customer_payments(invoice.customer_id)
        invoice = lock_invoices(invoice.organization_id, [invoice.pk]).get(invoice.pk)
        if invoice is None or not invoice.is_open:
            return []
        due, made = invoice.amount_due, []
        for source in unapplied_sources(invoice.customer):
            if due <= 0:
                break
            source = type(source).objects.select_for_update().get(pk=source.pk)
            amount = min(due, source.unapplied)
            if amount <= 0:
                continue
            made += apply_many(source, {invoice.pk: amount}, actor=actor, effective_date=effective_date, at=at)
            due -= amount
        return made


def unapply_allocation(allocation: Allocation, reason: str, *, actor=None,
                       idempotency_key: str | None = None) -> Allocation:
    """Un-apply one allocation (a negative row pointing at it), e.g. money applied to the wrong invoice."""
    with transaction.atomic():
        if idempotency_key is not None:
            claim_submission(allocation.organization_id, idempotency_key, "unapply", actor)
        if not (reason or "").strip():
            raise AllocationError(_("Say why the application is undone."))
        return unapply(allocation, reason, actor)


@dataclass(frozen=True)
class RefundConversion:
    """A refund of money received in another currency, paid back in that currency at the day's rate."""
    paid: Decimal  # what leaves the account, in `currency` (the currency the payment was received in)
    currency: str
    rate: Decimal  # units of `currency` per unit of the customer's currency: the day's cross rate
    base_paid: Decimal  # what leaves, in the base currency at its rate of the day
    base_booked: Decimal  # the refunded credit's base value as the receipt booked it (the payment's own rate)


def convert_refund(org, payment: Payment, amount: Decimal, day: date) -> RefundConversion:
    """`amount` of a payment's unapplied credit (in the customer's currency) in the currency the money
    came in, at the day's cross rate (accounts.fx.cross_rate). PaymentError names a missing rate's
    currency and day; nothing is written."""
    from accounts import fx
    from accounts.money import round_money

    base, into = org.base_currency, payment.received_currency
    try:
        rate = fx.cross_rate(org, payment.currency, into, day)
        paid = round_money(amount * rate, into)
        base_paid = paid if into == base else round_money(paid * fx.rate_on(org, into, day), base)
    except fx.RateError as e:
        raise PaymentError(e.message) from e
    if paid <= 0:
        raise PaymentError(_("%(amount)s at %(rate)s is less than the smallest %(cur)s amount.")
                           % {"amount": format_money(amount, payment.currency), "rate": fx.rate_text(rate),
                              "cur": into})
    return RefundConversion(paid, into, rate, base_paid, _refunded_base(org, payment, amount))


def _refunded_base(org, payment: Payment, amount: Decimal) -> Decimal:
    """The base value the receipt booked for `amount` of its credit: at the payment's own rate, rounded
    once; a refund that spends the whole rest takes the rest of what the receipt booked (less what its
    allocations and earlier refunds took), so a payment paid back in full leaves no base remainder."""
    from accounts.money import round_money
    from payments.allocation import source_base_left

    if payment.currency == org.base_currency:
        return amount
    part = round_money(amount * payment.fx_rate, org.base_currency)
    if amount != payment.unapplied:
        return part
    rest = source_base_left(payment)
    return part if rest is None else rest


def _refund_lines(org, payment: Payment, account: Account, amount: Decimal,
                  paid_back: RefundConversion | None) -> list[Line]:
    """The refund entry, the receipt's mirror. In the account's currency: Dr AR / Cr the account paid from.
    Paid back in the currency received: Dr AR and Cr currency conversion in the account's currency (at the
    value the receipt booked), Dr currency conversion and Cr the account in the currency paid (at the day's
    rate), so the conversion account nets to zero in base; what paying back costs in base beyond what was
    booked is a realized exchange loss (less: a gain), posted here, through the ledger's one door."""
    from accounts.chart import conversion_account, realized_fx_account

    ar, customer = system_accounts(org)["ar"], payment.customer
    if paid_back is None:
        return [Line(ar, amount, customer), Line(account, -amount, currency=payment.currency)]
    p, conv = paid_back, conversion_account(org)
    lines = [Line(ar, amount, customer, base_amount=p.base_booked),
             Line(conv, -amount, currency=payment.currency, base_amount=-p.base_paid),
             Line(conv, p.paid, currency=p.currency, base_amount=p.base_paid),
             Line(account, -p.paid, currency=p.currency, base_amount=-p.base_paid)]
    difference = p.base_paid - p.base_booked  # paid back more than was booked: a loss (debit)
    if difference:
        lines.append(Line(realized_fx_account(org, gain=difference < 0), Decimal(0), None, p.currency,
                          base_amount=difference))
    return lines


def refund_payment(payment: Payment, *, amount: Decimal, refund_date: date, method: str, account: Account,
                   idempotency_key: str, reference: str = "", notes: str = "", actor=None) -> Refund:
    """Pay back (part of) a payment's unapplied amount: Dr AR (customer) / Cr account.
    The same idempotency key refunds once."""
    key = check_key(idempotency_key)
    with transaction.atomic():
        lock_customer_payments(payment.customer_id)
        payment = Payment.objects.select_for_update().select_related("customer", "organization").get(pk=payment.pk)
        done = Refund.objects.filter(organization_id=payment.organization_id, idempotency_key=key).first()
        if done is not None:
            return done
        org, customer = payment.organization, payment.customer
        if payment.reversed_at:
            raise PaymentError(_("This payment was reversed; there is nothing to refund."))
        amount = _check_money(amount, payment.currency, _("refund amount"))
        if amount > payment.unapplied:
            raise PaymentError(_("%(amount)s is more than this payment's unapplied credit (%(open)s).")
                               % {"amount": format_money(amount, payment.currency),
                                  "open": format_money(payment.unapplied, payment.currency)})
        _check_not_future(refund_date, _("refund date"))
        if refund_date < payment.received_date:
            raise PaymentError(_("A refund cannot be dated before the payment was received (%(d)s).")
                               % {"d": payment.received_date.isoformat()})
        _check_method(method)
        _check_account(org, account)
        reference, notes = (reference or "").strip()[:100], (notes or "").strip()[:500]
        paid_back = convert_refund(org, payment, amount, refund_date) if payment.is_cross_currency else None
        pk = _next_id(Refund)
        label = payment.reference or f"#{payment.pk}"
        change_amounts(payment, amount_refunded=amount)
        # The ledger head last (see the lock order above), then the refund row that names its entry.
        entry = ledger.post(
            org, _refund_lines(org, payment, account, amount, paid_back),
            effective_date=refund_date, idempotency_key=f"refund:{key}",
            memo=f"Refund of payment {label} to {customer.name}"[:500], actor=actor,
            source=("payments.refund", pk), source_label=(reference or f"refund {label}")[:100], reason=notes,
            # At the payment's own rate: refunding what it left unapplied clears its base value exactly.
            rates={payment.currency: payment.fx_rate} if payment.fx_rate is not None else None,
        )
        refund = Refund.objects.create(
            pk=pk, organization=org, payment=payment, customer=customer, amount=amount, currency=payment.currency,
            refund_date=refund_date, method=method, reference=reference, account=account, notes=notes,
            entry=entry, idempotency_key=key, created_by=actor,
            **({"paid_amount": paid_back.paid, "paid_currency": paid_back.currency, "cross_rate": paid_back.rate}
               if paid_back else {}),
        )
    return refund


def reverse_payment(payment: Payment, *, reason: str, actor=None, effective_date: date | None = None,
                    idempotency_key: str | None = None, at: datetime | None = None) -> Payment:
    """A bounced or mistaken payment: un-apply all its allocations (negative rows, the invoices
    reopen), post the mirror image of its receipt, and mark it reversed. Once only."""
    with transaction.atomic():
        if idempotency_key is not None:
            claim_submission(payment.organization_id, idempotency_key, "reverse", actor)
        lock_customer_payments(payment.customer_id)
        live = list(Allocation.objects.filter(payment_id=payment.pk, amount__gt=0, reversed_by__isnull=True)
                    .values_list("invoice_id", flat=True))
        lock_invoices(payment.organization_id, live)
        payment = Payment.objects.select_for_update().select_related("customer", "organization").get(pk=payment.pk)
        if payment.reversed_at:
            raise PaymentError(_("This payment was already reversed on %(d)s.")
                               % {"d": payment.reversed_at.astimezone(payment.organization.zone).date().isoformat()})
        reason = (reason or "").strip()
        if not reason:
            raise PaymentError(_("Say why the payment is reversed (e.g. the bank returned it)."))
        if payment.amount_refunded:
            raise PaymentError(_("%(amount)s of this payment was refunded; a refunded payment cannot bounce. "
                                 "Record a new charge instead.")
                               % {"amount": format_money(payment.amount_refunded, payment.currency)})
        day = effective_date or today_in()
        if day < payment.received_date:
            raise PaymentError(_("The reversal cannot be dated before the payment was received (%(d)s).")
                               % {"d": payment.received_date.isoformat()})
        _check_not_future(day, _("reversal date"))
        label = payment.reference or f"#{payment.pk}"
        for allocation in Allocation.objects.filter(payment=payment, amount__gt=0, reversed_by__isnull=True) \
                .select_related("invoice", "payment").order_by("pk"):
            unapply(allocation, reason, actor, kind="payment_reversed", effective_date=day, at=at,
                    message=_("Payment %(ref)s reversed (%(reason)s): %(amount)s no longer applied")
                    % {"ref": label, "reason": reason,
                       "amount": format_money(allocation.amount, payment.currency)})
        entry = JournalEntry.objects.get(pk=payment.entry_id)
        payment.reversed_at = at or timezone.now()
        payment.reversal_reason = reason[:500]
        payment.refresh_from_db(fields=["amount_allocated"])
        hooks.emit(payment.organization_id, "payment.reversed", payment_data(payment))
        # The ledger head last (see the lock order above), then the payment row that names the reversal.
        payment.reversal_entry = ledger.reverse(
            entry, reason=reason, actor=actor, effective_date=day, idempotency_key=f"payment:{payment.pk}:reversal",
            source=("payments.payment", payment.pk), source_label=label[:100],
        )
        payment.save(update_fields=["reversal_entry", "reversed_at", "reversal_reason"])
    return payment


def describe(source) -> str:
    return describe_source(source)
