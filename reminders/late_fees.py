"""Late fees: their own document, posted once per invoice and schedule point.

A fee is an Invoice of kind "late_fee" that points at the overdue invoice (related_invoice), with
one line, issued through invoicing.services.issue_invoice: it gets a number from the late-fee
series and posts AR (customer) debit / late-fee income credit. The overdue invoice itself is never
edited. The fee is then aged and paid like any invoice.

Idempotent per (invoice, point): the overdue invoice is locked, an existing LateFeeCharge is
returned as is, and a unique constraint on (invoice, offset) backs that up; the ledger posting
has its own idempotency key besides.

Rule: a fee is charged only together with the reminder that announces it (reminders/outbox.py
posts it in the transaction that marks the message sent). A point skipped by the catch-up rule,
cancelled by a hold, or never sendable (no e-mail address) charges nothing.

Currency (issue 17): a policy's amounts are in the organization's base currency. An invoice in another
currency gets the step's fee for that currency (StepCurrencyFee: a fixed fee, a percentage's cap), or
else the base amounts converted at the day's rate (accounts.fx) and rounded to the currency's minor
unit. Only a missing rate leaves it without a fee (currency_mismatch says why, naming the currency
and the day; the outbox records it).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import fx
from accounts.locale import document_language, in_language
from accounts.money import round_money
from invoicing.models import Invoice, InvoiceKind, InvoiceLine
from invoicing.services import issue_invoice, new_draft, recompute_totals
from reminders.models import FeeType, LateFeeCharge, StepCurrencyFee


def step_fee(step, org, currency: str, amount_due: Decimal, day: date) -> tuple[Decimal, str | None]:
    """The fee a step (or a policy point with fee_type/fee_value/fee_cap and, for a step, its
    currency_fees) charges on `amount_due` in `currency` on `day`, and why it is zero when a rate is missing."""
    if step.fee_type == FeeType.NONE or not step.fee_value:
        return Decimal(0), None
    if currency == org.base_currency:
        return fee_amount(step.fee_type, step.fee_value, step.fee_cap, amount_due, currency, currency), None
    own = (StepCurrencyFee.objects.filter(step_id=step.pk, currency=currency).first()
           if getattr(step, "pk", None) else None)
    value, cap = step.fee_value, step.fee_cap
    if own is not None and (own.fee_value if step.fee_type == FeeType.FIXED else own.fee_cap):
        value = own.fee_value if step.fee_type == FeeType.FIXED else value
        cap = own.fee_cap if step.fee_type == FeeType.PERCENT else None
    else:
        try:
            rate = fx.rate_on(org, currency, day)  # base units per one `currency`
        except fx.MissingRate as e:
            return Decimal(0), _("No late fee: %(why)s") % {"why": e.message}
        if step.fee_type == FeeType.FIXED:
            value = round_money(value / rate, currency) or None
        if cap is not None:
            cap = round_money(cap / rate, currency)
    if not value:
        return Decimal(0), None
    return fee_amount(step.fee_type, value, cap, amount_due, currency, currency), None


def currency_fees_text(step) -> str:
    """A step's own per-currency fees as the policy editor shows them: "USD 45.00", one a line, in the
    reader's number format; the fixed fee, or a percentage fee's cap."""
    from accounts.locale import format_input

    lines = []
    for row in StepCurrencyFee.objects.filter(step_id=step.pk).order_by("currency"):
        value = (row.fee_cap if step.fee_type == FeeType.PERCENT else row.fee_value) or row.fee_value or row.fee_cap
        if value:
            lines.append(f"{row.currency} {format_input(round_money(value, row.currency), grouped=False)}")
    return "\n".join(lines)


def parse_currency_fees(text: str, base_currency: str | None) -> dict[str, Decimal]:
    """{currency: amount} from the editor's text ("USD 45", one currency a line, amounts in the reader's
    number format), or ValueError naming the line: an unknown or withdrawn code, the base currency (its
    amounts are the step's own), a currency twice, an amount not above zero or finer than its minor unit."""
    from accounts import currencies
    from accounts.locale import NumberInputError, parse_number
    from accounts.money import MoneyError, check_exact

    fees: dict[str, Decimal] = {}
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        code, _sep, amount_text = line.partition(" ")
        where = _("Line %(n)s (“%(line)s”)") % {"n": n, "line": line[:40]}
        try:
            code = currencies.validate_code(code)
        except currencies.UnknownCurrency as e:
            raise ValueError(f"{where}: {e}") from None
        if code == base_currency:
            raise ValueError(_("%(where)s: %(code)s is the organization's currency; its fee is the step's own.")
                             % {"where": where, "code": code})
        if code in fees:
            raise ValueError(_("%(where)s: %(code)s is listed twice.") % {"where": where, "code": code})
        try:
            amount = parse_number(amount_text.strip())
        except NumberInputError as e:
            raise ValueError(f"{where}: {e}") from None
        if amount is None or amount <= 0:
            raise ValueError(_("%(where)s: write the code and an amount above zero, e.g. “USD 45”.")
                             % {"where": where})
        try:
            fees[code] = check_exact(amount, code)
        except MoneyError as e:
            raise ValueError(f"{where}: {e}") from None
    return fees


def set_currency_fees(step, fees: dict[str, Decimal]) -> None:
    """Replace a saved step's per-currency fees: the fixed fee, or a percentage fee's cap."""
    with transaction.atomic():
        StepCurrencyFee.objects.filter(step_id=step.pk).exclude(currency__in=list(fees)).delete()
        for code, amount in fees.items():
            StepCurrencyFee.objects.update_or_create(
                step_id=step.pk, currency=code,
                defaults={"organization_id": step.organization_id,
                          "fee_value": None if step.fee_type == FeeType.PERCENT else amount,
                          "fee_cap": amount if step.fee_type == FeeType.PERCENT else None})


def currency_mismatch(step, org, currency: str, day: date) -> str | None:
    """Why a step's fee cannot be charged on an invoice in `currency` on `day`, or None if it can."""
    return step_fee(step, org, currency, Decimal(1), day)[1]


def fee_amount(fee_type: str, value: Decimal | None, cap: Decimal | None, amount_due: Decimal,
               currency: str, base_currency: str) -> Decimal:
    """The fee for an amount due in `currency`, with `value`/`cap` in that same currency, rounded once
    to its minor unit (accounts.money rule). Zero when the amounts are in another currency: step_fee
    converts them first."""
    if fee_type == FeeType.NONE or currency != base_currency:
        return Decimal(0)
    if fee_type == FeeType.FIXED and value:
        return round_money(value, currency)
    if fee_type == FeeType.PERCENT and value:
        fee = round_money(amount_due * value / Decimal(100), currency)
        if cap is not None:
            fee = min(fee, round_money(cap, currency))
        return fee
    return Decimal(0)


@transaction.atomic
def charge_late_fee(invoice: Invoice, offset_days: int, amount: Decimal, on: date, actor=None) -> LateFeeCharge:
    """Issue the late-fee document for (invoice, offset) unless it exists; return its charge row."""
    invoice = Invoice.objects.select_for_update().select_related("customer", "organization").get(pk=invoice.pk)
    existing = LateFeeCharge.objects.filter(invoice=invoice, offset_days=offset_days).first()
    if existing is not None:
        return existing
    draft = new_draft(invoice.organization, invoice.customer, actor=actor, kind=InvoiceKind.LATE_FEE,
                      related_invoice=invoice, issue_date=on, due_date=on, terms="", notes="",
                      reference=invoice.number or "")
    days = (on - invoice.due_date).days
    with in_language(document_language(invoice.customer, invoice.organization)):  # printed for the customer
        description = _("Late fee on invoice %(number)s (%(days)s days overdue)") % {"number": invoice.number,
                                                                                     "days": days}
    InvoiceLine.objects.create(
        organization=invoice.organization, invoice=draft, position=1, quantity=Decimal(1), unit_price=amount,
        description=description,
    )
    recompute_totals(draft)
    fee_invoice = issue_invoice(draft, actor=actor)
    return LateFeeCharge.objects.create(organization=invoice.organization, invoice=invoice,
                                        offset_days=offset_days, fee_invoice=fee_invoice, amount=fee_invoice.total)
