"""A customer's remittance advice: one receipt split over the invoices it names.

A customer pays 2,431.50 and sends a list ("INV-2026-00012 1,250.00 / INV-2026-00015 1,181.50").
Staff paste it (free text, one invoice per line, or CSV with ; , or tab) on the bank line; the
plan shows, per row, the invoice it found, what is due and what will be applied, and flags:

- short: the advice pays less than is due; the rest stays open (and is chased as usual);
- unknown / not open / another customer / listed twice / more than due: the row cannot be applied,
  and the plan cannot be confirmed until the advice is corrected (nothing is guessed);
- the advice's total against the bank line: less leaves the rest as unapplied credit on the
  payment (said so); more is refused.

Confirming records one payment through the payments service (the same door as a suggestion),
allocated as the plan says, with the plan computed again under the bank line's lock: an advice
that no longer fits (an invoice paid meanwhile) is refused, never half-applied.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import CharField, Func, Value
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from accounts.locale import NumberInputError, parse_number
from accounts.money import format_money, quantum
from invoicing.models import Invoice, InvoiceStatus

MAX_ROWS = 500
_NUMBER_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*\d[A-Za-z0-9\-/_.]*")
_EDGE = " \t;,|:"


def norm(number: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (number or "").upper())


@dataclass
class AdviceRow:
    n: int
    text: str
    number: str = ""
    amount: Decimal | None = None
    invoice: Invoice | None = None
    problem: str = ""
    short_by: Decimal = Decimal(0)


@dataclass
class SplitPlan:
    rows: list[AdviceRow] = field(default_factory=list)
    customer_id: int | None = None
    allocation: dict[int, Decimal] = field(default_factory=dict)
    advised: Decimal = Decimal(0)
    unapplied: Decimal = Decimal(0)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.allocation) and not self.problems and not any(r.problem for r in self.rows)

    @property
    def short_rows(self) -> list[AdviceRow]:
        """Rows paid short: what they leave open may be booked as a discount or a bank fee."""
        return [r for r in self.rows if r.short_by and not r.problem]


def _split_row(text: str, locale: str) -> tuple[str, Decimal | None, str]:
    """(invoice number as written, amount, problem) from one line of the advice."""
    tokens = list(_NUMBER_TOKEN.finditer(text))
    if not tokens:
        return "", None, _("no invoice number on this line")
    # The invoice number is the first token with a letter in it ("INV-7" before "1,250.00"),
    # or, for numbers without letters, the first one.
    token = next((t for t in tokens if any(c.isalpha() for c in t.group(0))), tokens[0])
    number = token.group(0).rstrip(".")
    rest = (text[:token.start()] + " " + text[token.end():]).strip(_EDGE)
    rest = re.sub(r"^[A-Za-z€$£¥₹]{1,3}\s*|\s*[A-Za-z€$£¥₹]{1,3}$", "", rest).strip(_EDGE)  # a currency beside it
    if not rest:
        return number, None, _("no amount on this line")
    try:
        amount = parse_number(rest, locale)
    except NumberInputError as e:
        return number, None, _("“%(text)s” is not an amount: %(why)s") % {"text": rest, "why": e}
    return number, amount, ""


def parse_advice(text: str, locale: str) -> list[AdviceRow]:
    rows = []
    for n, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line or not any(c.isdigit() for c in line):
            continue  # blank lines and a header row ("Invoice;Amount")
        number, amount, problem = _split_row(line, locale)
        rows.append(AdviceRow(n=n, text=line[:200], number=number, amount=amount, problem=problem))
    return rows


def _invoices_named(org, numbers: list[str]):
    """The organization's invoices an advice names, written as in the books or with other separators
    and case ("inv 2026/00012"): compared without them, in the database, never by loading every
    invoice. Exact spellings are found through the number's index first."""
    wanted = {norm(n) for n in numbers} - {""}
    columns = ("pk", "number", "status", "amount_due", "currency", "customer_id", "customer__name")
    base = Invoice.objects.filter(organization=org).select_related("customer").only(*columns)
    exact = list(base.filter(number__in=numbers))
    missing = wanted - {norm(inv.number) for inv in exact}
    if not missing:
        return exact
    stripped = Func(Upper("number"), Value("[^A-Z0-9]"), Value(""), Value("g"), function="regexp_replace",
                    output_field=CharField())
    return exact + list(base.annotate(plain=stripped).filter(plain__in=missing))


def plan_split(org, line_amount: Decimal, currency: str, text: str, locale: str) -> SplitPlan:
    """What confirming the advice would do (nothing is written)."""
    plan = SplitPlan(rows=parse_advice(text, locale))
    if not plan.rows:
        plan.problems.append(_("Paste at least one line with an invoice number and an amount."))
        return plan
    if len(plan.rows) > MAX_ROWS:
        plan.problems.append(_("An advice of at most %(n)s lines, please.") % {"n": MAX_ROWS})
        return plan
    found = {norm(inv.number): inv for inv in _invoices_named(org, [r.number for r in plan.rows if r.number])}
    money = quantum(currency)
    seen = set()
    for row in plan.rows:
        if row.problem:
            continue
        inv = found.get(norm(row.number))
        if inv is None:
            row.problem = _("no invoice %(n)s in this organization") % {"n": row.number}
        elif inv.pk in seen:
            row.problem = _("%(n)s is listed twice") % {"n": inv.number}
        elif inv.status != InvoiceStatus.ISSUED or inv.amount_due <= 0:
            row.problem = _("%(n)s has nothing left to pay") % {"n": inv.number}
        elif inv.currency != currency:
            row.problem = _("%(n)s is in %(c)s, the bank line in %(l)s") % {"n": inv.number, "c": inv.currency,
                                                                            "l": currency}
        elif row.amount <= 0 or row.amount != row.amount.quantize(money):
            row.problem = _("the amount must be more than zero, in %(c)s's minor units") % {"c": currency}
        elif row.amount > inv.amount_due:
            row.problem = _("%(a)s is more than the %(d)s due on %(n)s") % {
                "a": format_money(row.amount, currency), "d": format_money(inv.amount_due, currency), "n": inv.number}
        row.invoice = inv
        if inv is not None:
            seen.add(inv.pk)
        if row.problem:
            continue
        if plan.customer_id is None:
            plan.customer_id = inv.customer_id
        elif inv.customer_id != plan.customer_id:
            row.problem = _("%(n)s belongs to %(c)s: one receipt pays one customer's invoices") % {
                "n": inv.number, "c": inv.customer.name}
            continue
        row.short_by = inv.amount_due - row.amount
        plan.allocation[inv.pk] = row.amount
        plan.advised += row.amount
    if plan.advised > line_amount:
        plan.problems.append(_("The advice applies %(a)s but the bank line brought %(l)s.") % {
            "a": format_money(plan.advised, currency), "l": format_money(line_amount, currency)})
    plan.unapplied = max(line_amount - plan.advised, Decimal(0)).quantize(money)
    return plan
