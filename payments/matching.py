"""Suggestions for a bank line: which payment or invoices it is, how sure, and why.

A `MatchContext` loads, once for a batch of lines of one bank account, what matching reads: the
open invoices in the account's currency (indexed by normalised number, customer and amount due),
the customers (by normalised name, and by the payer IBANs of lines confirmed before), and the
recorded payments into the account that no bank line shows yet (by amount). Each line is then
matched with dictionary look-ups only, so N lines against M open invoices costs O(M + N·k).

Rules, strongest first (the score is out of 100 and is shown with the reason):
- a structured creditor reference (ISO 11649 RF) whose payload is an open invoice's number: 100;
- an invoice number in the remittance text: 95 when the credit equals its amount due (or the sum
  of the named invoices'); 80 when it is short by at most a bank fee; 70 partial;
  65 more than due (the rest stays as credit). "A bank fee" is invoicing.services.short_payment_tolerance,
  the rule that also decides whether the difference may be booked as a discount or a bank fee;
- a recorded payment not yet seen in the bank, same amount, dated within PAYMENT_DAYS: 90 minus
  a point per day apart, plus 5 when its reference appears in the text;
- the payer's IBAN (from an earlier confirmed line) or name identifies a customer: one open
  invoice of exactly the amount 85 (IBAN) / 75 (name); a combination of open invoices 80 / 70;
  otherwise a payment on account allocated oldest first 45 / 40, flagged partial. Two customers
  with the same name: each suggestion says so and loses 25 points;
- only the amount: the single open invoice of exactly that amount in the currency: 45.
Debits (money out) are matched to what took money out of the account in the books:
- a refund paid from this account, not yet on any bank line, same amount, within PAYMENT_DAYS:
  90 minus a point per day apart (+5 when its reference is in the text);
- a payment seen on an earlier credit line and reversed (bounced) within PAYMENT_DAYS of the debit:
  85 minus a point per day apart;
- a payment seen on an earlier credit line, not reversed, same amount, received within
  BOUNCE_DAYS before the debit: "the bank returned it", confirming records the bounce (the payment
  is reversed through the payments service) — 75 when the payer or the payment's reference is in
  the line, else 50 (flag `amount_only`).
Any debit can also be posted to an account (fees, transfers).
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from accounts.models import Customer
from accounts.money import format_money
from invoicing.models import Invoice
from invoicing.services import short_payment_tolerance
from payments.models import Payment

ZERO = Decimal(0)
PAYMENT_DAYS = 5
BOUNCE_DAYS = 30  # a returned transfer comes back within this many days of the receipt
COMBINATION_MAX = 12  # open invoices of one customer considered for combinations (oldest due first)
MAX_SUGGESTIONS = 5
_LEGAL = {"GMBH", "AG", "LTD", "LIMITED", "INC", "LLC", "SA", "SAS", "SARL", "BV", "NV", "PLC", "CO", "KG",
          "OHG", "SRL", "SPA", "AB", "AS", "OY", "THE", "AND", "UND", "ET"}


def norm_number(text: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def norm_name(text: str) -> str:
    words = re.findall(r"[A-Z0-9]+", (text or "").upper())
    return " ".join(w for w in words if w not in _LEGAL)


def text_candidates(text: str, max_join: int = 4) -> set[str]:
    """Every run of 1..max_join consecutive alphanumeric tokens, joined: 'INV 0007', 'INV-0007' and
    'INV0007' all give 'INV0007'."""
    tokens = re.findall(r"[A-Z0-9]+", (text or "").upper())
    out = set()
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + max_join) + 1):
            out.add("".join(tokens[i:j]))
    return out


class OpenInvoice(NamedTuple):
    """What matching reads of an open invoice: plain tuples, since building 50,000 model instances
    costs seconds where the tuples cost a tenth of that."""

    pk: int
    number: str
    customer_id: int
    amount_due: Decimal
    due_date: date
    issue_date: date


class Payer(NamedTuple):
    pk: int
    name: str
    code: str


@dataclass
class Suggestion:
    key: str
    kind: str  # "payment" | "invoices" | "customer" | "entry" (a refund or reversal) | "bounce"
    score: int
    reason: str
    customer: Payer | None = None  # confirm loads the Customer row itself
    payment: Payment | None = None
    allocation: dict = field(default_factory=dict)  # {invoice id: Decimal}
    invoices: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # partial, short, over, ambiguous, amount_only
    entry_id: int | None = None  # kind "entry": the refund's or reversal's journal entry

    @property
    def action(self) -> str:
        if self.kind == "bounce":
            return "bounce"
        return "link" if self.payment is not None or self.entry_id else "record"


def _money(amount, currency):
    return format_money(amount, currency)


def _numbers(invoices) -> str:
    return ", ".join(i.number for i in invoices)


def _oldest_first(invoices):
    return sorted(invoices, key=lambda i: (i.due_date, i.issue_date, i.pk))


def _allocate(invoices, amount) -> dict:
    left, out = amount, {}
    for inv in _oldest_first(invoices):
        if left <= 0:
            break
        part = min(left, inv.amount_due)
        out[inv.pk] = part
        left -= part
    return out


def subset_with_sum(invoices, target: Decimal, currency_quantum: Decimal = Decimal("0.01")):
    """Some invoices whose amounts due add up to exactly target (fewest first found), or None.
    A dynamic programme over amounts in minor units, bounded by COMBINATION_MAX invoices."""
    items = [(int(i.amount_due / currency_quantum), i) for i in _oldest_first(invoices)[:COMBINATION_MAX]]
    goal = int(target / currency_quantum)
    reach = {0: []}
    for cents, inv in items:
        for total, chosen in list(reach.items()):
            new = total + cents
            if new <= goal and new not in reach:
                reach[new] = chosen + [inv]
        if goal in reach:
            break
    found = reach.get(goal)
    return found if found and len(found) > 1 else None


class MatchContext:
    def __init__(self, bank_account, invoices, customers, payments, iban_customers, debits=None):
        self.bank_account = bank_account
        self.currency = bank_account.currency
        self.by_number = {}
        self.by_customer = defaultdict(list)
        self.by_amount = defaultdict(list)
        for inv in invoices:
            if inv.number:
                self.by_number[norm_number(inv.number)] = inv
            self.by_customer[inv.customer_id].append(inv)
            self.by_amount[inv.amount_due].append(inv)
        self.customers = {c.pk: c for c in customers}
        self.by_name = defaultdict(list)
        for c in customers:
            key = norm_name(c.name)
            if key:
                self.by_name[key].append(c)
        self.payments_by_amount = defaultdict(list)
        for p in payments:
            self.payments_by_amount[bank_amount(p)].append(p)
        self.iban_customers = iban_customers
        self.refunds_by_amount, self.reversed_by_amount, self.seen_by_amount = defaultdict(list), defaultdict(list), \
            defaultdict(list)
        for kind, row in debits or ():
            {"refund": self.refunds_by_amount, "reversed": self.reversed_by_amount,
             "seen": self.seen_by_amount}[kind][row.amount].append(row)

    @classmethod
    def for_lines(cls, bank_account, lines):
        """Load what matching the given lines of one bank account needs."""
        from payments.models_bank import BankLine

        org_id, cur = bank_account.organization_id, bank_account.currency
        invoices = [OpenInvoice(*row) for row in Invoice.objects.filter(organization_id=org_id, currency=cur).open()
                    .order_by().values_list("pk", "number", "customer_id", "amount_due", "due_date", "issue_date")]
        customers = [Payer(*row) for row in Customer.objects.filter(
            organization_id=org_id, currency=cur, archived_at__isnull=True).order_by()
            .values_list("pk", "name", "code")]
        days = [li.booking_date for li in lines]
        payments = []
        if days:
            seen = BankLine.objects.filter(organization_id=org_id, payment__isnull=False).values("payment_id")
            payments = list(Payment.objects.filter(
                in_bank_currency(cur), organization_id=org_id, deposit_account_id=bank_account.account_id,
                reversed_at__isnull=True, received_date__gte=min(days) - timedelta(days=PAYMENT_DAYS),
                received_date__lte=max(days) + timedelta(days=PAYMENT_DAYS)).exclude(pk__in=seen)
                .select_related("customer"))
        ibans = {li.counterparty_iban for li in lines if li.counterparty_iban}
        iban_customers = defaultdict(set)
        if ibans:
            for iban, customer_id in (BankLine.objects.filter(organization_id=org_id, counterparty_iban__in=ibans,
                                                              customer__isnull=False)
                                      .values_list("counterparty_iban", "customer_id").distinct()):
                iban_customers[iban].add(customer_id)
        debits = _debit_candidates(bank_account, [li.booking_date for li in lines if li.amount < 0])
        return cls(bank_account, invoices, customers, payments, iban_customers, debits)

    # --- the rules ---

    def suggest(self, line) -> list[Suggestion]:
        if line.amount < 0:
            return sorted(self._debit(line), key=lambda s: (-s.score, s.key))[:MAX_SUGGESTIONS]
        found: dict[str, Suggestion] = {}

        def add(s: Suggestion):
            if s.key not in found or found[s.key].score < s.score:
                found[s.key] = s

        for s in self._by_reference(line):
            add(s)
        for s in self._by_payment(line):
            add(s)
        for s in self._by_payer(line):
            add(s)
        if not found:
            for s in self._by_amount_only(line):
                add(s)
        return sorted(found.values(), key=lambda s: (-s.score, s.key))[:MAX_SUGGESTIONS]

    def _named_invoices(self, line) -> tuple[list, bool]:
        """Open invoices the line names: through its RF creditor reference (certain) or its text."""
        if line.creditor_reference:
            inv = self.by_number.get(norm_number(line.creditor_reference[4:]))
            if inv is not None:
                return [inv], True
        hits = {self.by_number[c].pk: self.by_number[c]
                for c in text_candidates(f"{line.remittance} {line.end_to_end_id}") if c in self.by_number}
        return list(hits.values()), False

    def _by_reference(self, line):
        named, certain = self._named_invoices(line)
        by_customer = defaultdict(list)
        for inv in named:
            by_customer[inv.customer_id].append(inv)
        cur, amount = self.currency, line.amount
        for customer_id, invoices in by_customer.items():
            customer = self.customers.get(customer_id)
            if customer is None:
                continue
            due = sum((i.amount_due for i in invoices), ZERO)
            what = (_("the structured creditor reference %(ref)s is invoice %(n)s")
                    % {"ref": line.creditor_reference, "n": _numbers(invoices)}) if certain else (
                _("invoice %(n)s is named in the remittance text") % {"n": _numbers(invoices)}
                if len(invoices) == 1 else
                _("invoices %(n)s are named in the remittance text") % {"n": _numbers(invoices)})
            key = "inv:" + ",".join(str(i.pk) for i in _oldest_first(invoices))
            base = dict(key=key, kind="invoices", customer=customer, invoices=_oldest_first(invoices))
            short = due - amount
            if short == 0:
                yield Suggestion(score=100 if certain else 95, allocation={i.pk: i.amount_due for i in invoices},
                                 reason=_("Exact: %(what)s (%(customer)s) and the amount due, %(due)s, equals the "
                                          "credit.") % {"what": what, "customer": customer.name,
                                                        "due": _money(due, cur)}, **base)
            elif 0 < short <= short_payment_tolerance(due, cur):
                yield Suggestion(score=80, allocation=_allocate(invoices, amount), flags=["short"],
                                 reason=_("Short by %(short)s: %(what)s (%(customer)s), amount due %(due)s; the "
                                          "difference looks like a bank fee or a discount taken. Confirm to leave "
                                          "%(short)s open, or to book it as a bank fee or a discount.")
                                 % {"short": _money(short, cur), "what": what, "customer": customer.name,
                                    "due": _money(due, cur)}, **base)
            elif short > 0:
                yield Suggestion(score=70, allocation=_allocate(invoices, amount), flags=["partial"],
                                 reason=_("Partial payment: %(what)s (%(customer)s), amount due %(due)s; the credit "
                                          "pays %(amount)s and leaves %(short)s open.")
                                 % {"what": what, "customer": customer.name, "due": _money(due, cur),
                                    "amount": _money(amount, cur), "short": _money(short, cur)}, **base)
            else:
                yield Suggestion(score=65, allocation={i.pk: i.amount_due for i in invoices}, flags=["over"],
                                 reason=_("More than due: %(what)s (%(customer)s), amount due %(due)s; the other "
                                          "%(over)s stays as unapplied credit.")
                                 % {"what": what, "customer": customer.name, "due": _money(due, cur),
                                    "over": _money(-short, cur)}, **base)

    def _by_payment(self, line):
        cur, text = self.currency, f"{line.remittance} {line.end_to_end_id} {line.creditor_reference}".upper()
        for p in self.payments_by_amount.get(line.amount, ()):
            days = abs((p.received_date - line.booking_date).days)
            if days > PAYMENT_DAYS:
                continue
            same_ref = bool(p.reference) and norm_number(p.reference) in text_candidates(text)
            when = _("the same day") if days == 0 else (_("%(n)s day(s) from the bank date") % {"n": days})
            reason = _("Recorded payment %(ref)s from %(customer)s of %(amount)s, received %(day)s (%(when)s), is not "
                       "yet seen in the bank.") % {"ref": p.reference or f"#{p.pk}", "customer": p.customer.name,
                                                   "amount": _money(bank_amount(p), cur), "day": p.received_date,
                                                   "when": when}
            if same_ref:
                reason += " " + _("Its reference appears in the bank text.")
            customer = Payer(p.customer.pk, p.customer.name, p.customer.code)
            yield Suggestion(key=f"pay:{p.pk}", kind="payment", score=90 - days + (5 if same_ref else 0),
                             reason=reason, customer=customer, payment=p)

    def _payer_customers(self, line) -> tuple[list, str]:
        ids = self.iban_customers.get(line.counterparty_iban) if line.counterparty_iban else None
        if ids:
            return [self.customers[i] for i in sorted(ids) if i in self.customers], "iban"
        key = norm_name(line.counterparty_name)
        return (list(self.by_name.get(key, [])), "name") if key else ([], "")

    def _by_payer(self, line):
        customers, how = self._payer_customers(line)
        cur, amount = self.currency, line.amount
        ambiguous = len(customers) > 1
        for customer in customers:
            who = (_("the payer's IBAN %(iban)s paid %(customer)s's invoices before")
                   % {"iban": line.counterparty_iban, "customer": customer.name}) if how == "iban" else (
                _("the payer name \u201c%(payer)s\u201d matches customer %(customer)s (%(code)s)")
                % {"payer": line.counterparty_name, "customer": customer.name, "code": customer.code})
            penalty, flags, note = 0, [], ""
            if ambiguous:
                penalty, flags = 25, ["ambiguous"]
                note = " " + _("Careful: %(n)s customers match this payer; check which one paid.") % {
                    "n": len(customers)}
            invoices = self.by_customer.get(customer.pk, [])
            exact = [i for i in invoices if i.amount_due == amount]
            if exact:
                inv = _oldest_first(exact)[0]
                yield Suggestion(key=f"inv:{inv.pk}", kind="invoices", customer=customer, invoices=[inv],
                                 allocation={inv.pk: amount}, flags=flags,
                                 score=(85 if how == "iban" else 75) - penalty,
                                 reason=_("By payer: %(who)s, and its open invoice %(n)s is due exactly %(amount)s.")
                                 % {"who": who, "n": inv.number, "amount": _money(amount, cur)} + note)
                continue
            combo = subset_with_sum(invoices, amount)
            if combo:
                parts = " + ".join(f"{i.number} ({_money(i.amount_due, cur)})" for i in _oldest_first(combo))
                yield Suggestion(key="inv:" + ",".join(str(i.pk) for i in _oldest_first(combo)), kind="invoices",
                                 customer=customer, invoices=_oldest_first(combo),
                                 allocation={i.pk: i.amount_due for i in combo}, flags=flags,
                                 score=(80 if how == "iban" else 70) - penalty,
                                 reason=_("By payer: %(who)s, and the credit equals %(parts)s.")
                                 % {"who": who, "parts": parts} + note)
                continue
            allocation = _allocate(invoices, amount)
            chosen = [i for i in _oldest_first(invoices) if i.pk in allocation]
            if chosen:
                rest = amount - sum(allocation.values(), ZERO)
                text = _("applied oldest first to %(n)s") % {"n": _numbers(chosen)}
                if rest:
                    text += _("; %(rest)s stays as credit") % {"rest": _money(rest, cur)}
            else:
                text = _("the customer has no open invoice; all of it stays as credit")
            yield Suggestion(key=f"cust:{customer.pk}", kind="customer", customer=customer, invoices=chosen,
                             allocation=allocation, flags=flags + ["partial"],
                             score=(45 if how == "iban" else 40) - penalty,
                             reason=_("On account: %(who)s, but no invoice or combination matches %(amount)s; "
                                      "%(text)s.") % {"who": who, "amount": _money(amount, cur), "text": text} + note)

    def _debit(self, line):
        cur, out = self.currency, -line.amount
        text = text_candidates(f"{line.remittance} {line.end_to_end_id} {line.bank_reference}")
        payer = norm_name(line.counterparty_name)
        for r in self.refunds_by_amount.get(out, ()):
            days = abs((r.day - line.booking_date).days)
            if days > PAYMENT_DAYS:
                continue
            same_ref = bool(r.reference) and norm_number(r.reference) in text
            reason = _("Refund %(ref)s to %(customer)s of %(amount)s, paid %(day)s (%(when)s) from this account, is "
                       "not yet seen in the bank.") % {"ref": r.reference or f"#{r.pk}", "customer": r.customer,
                                                       "amount": _money(out, cur), "day": r.day,
                                                       "when": _days(days)}
            if same_ref:
                reason += " " + _("Its reference appears in the bank text.")
            yield Suggestion(key=f"entry:{r.entry_id}", kind="entry", score=90 - days + (5 if same_ref else 0),
                             reason=reason, entry_id=r.entry_id)
        for p in self.reversed_by_amount.get(out, ()):
            days = abs((p.day - line.booking_date).days)
            if days > PAYMENT_DAYS:
                continue
            yield Suggestion(key=f"entry:{p.entry_id}", kind="entry", score=85 - days,
                             reason=_("Payment %(ref)s from %(customer)s of %(amount)s was seen in the bank and "
                                      "reversed on %(day)s (%(when)s): %(why)s. This debit is the bank taking it "
                                      "back.") % {"ref": p.reference or f"#{p.pk}", "customer": p.customer,
                                                  "amount": _money(out, cur), "day": p.day, "when": _days(days),
                                                  "why": p.why or "-"},
                             entry_id=p.entry_id)
        for p in self.seen_by_amount.get(out, ()):
            if not (p.day <= line.booking_date <= p.day + timedelta(days=BOUNCE_DAYS)):
                continue
            named = (bool(p.reference) and norm_number(p.reference) in text) or (
                bool(payer) and payer == norm_name(p.customer))
            yield Suggestion(key=f"bounce:{p.pk}", kind="bounce", score=75 if named else 50,
                             flags=[] if named else ["amount_only"],
                             reason=_("Returned payment? %(ref)s from %(customer)s of %(amount)s, received "
                                      "%(day)s, is in the bank%(named)s. Confirming records it as bounced: the "
                                      "payment is reversed and its invoices are open again.")
                             % {"ref": p.reference or f"#{p.pk}", "customer": p.customer,
                                "amount": _money(out, cur), "day": p.day,
                                "named": _(", and the debit names it") if named else _("; only the amount fits")})

    def _by_amount_only(self, line):
        same = self.by_amount.get(line.amount, [])
        if len(same) != 1:
            return
        inv = same[0]
        customer = self.customers.get(inv.customer_id)
        if customer is None:
            return
        yield Suggestion(key=f"inv:{inv.pk}", kind="invoices", customer=customer, invoices=[inv],
                         allocation={inv.pk: line.amount}, flags=["amount_only"], score=45,
                         reason=_("Only the amount matches: %(n)s of %(customer)s is the one open invoice due exactly "
                                  "%(amount)s; neither the payer nor the text names it.")
                         % {"n": inv.number, "customer": customer.name,
                            "amount": _money(line.amount, self.currency)})


class Outgoing(NamedTuple):
    """A refund, a reversed payment, or a payment seen in the bank (a debit may return it)."""

    pk: int
    amount: Decimal
    day: date
    reference: str
    customer: str
    entry_id: int | None
    why: str = ""


def _days(days: int) -> str:
    return _("the same day") if days == 0 else (_("%(n)s day(s) from the bank date") % {"n": days})


def _debit_candidates(bank_account, days) -> list[tuple[str, Outgoing]]:
    """What money out of the account could be, for debits booked on `days`: refunds paid from the
    account and reversals of payments seen on its lines, neither yet on a bank line; and live
    payments seen on its lines (a debit may be the bank returning one)."""
    if not days:
        return []
    from payments.models import Refund
    from payments.models_bank import BankLine

    org_id, cur, acc = bank_account.organization_id, bank_account.currency, bank_account.account_id
    low, high = min(days) - timedelta(days=BOUNCE_DAYS), max(days) + timedelta(days=PAYMENT_DAYS)
    linked = BankLine.objects.filter(organization_id=org_id, entry__isnull=False).values("entry_id")
    on_lines = BankLine.objects.filter(organization_id=org_id, bank_account=bank_account,
                                       payment__isnull=False).values("payment_id")
    out = [("refund", Outgoing(pk, amount, day, ref, name, entry))
           for pk, amount, day, ref, name, entry in Refund.objects.filter(
               refund_in_bank_currency(cur), organization_id=org_id, account_id=acc, refund_date__gte=low,
               refund_date__lte=high)
           .exclude(entry_id__in=linked).annotate(out=Coalesce("paid_amount", "amount"))
           .values_list("pk", "out", "refund_date", "reference", "customer__name", "entry_id")]
    payments = Payment.objects.filter(in_bank_currency(cur), organization_id=org_id, deposit_account_id=acc,
                                      pk__in=on_lines, received_date__gte=low - timedelta(days=BOUNCE_DAYS),
                                      received_date__lte=high).annotate(came_in=Coalesce("received_amount", "amount"))
    for pk, amount, ref, name, entry, reversal_day, why in payments.filter(
            reversal_entry__isnull=False).exclude(reversal_entry_id__in=linked).values_list(
            "pk", "came_in", "reference", "customer__name", "reversal_entry_id",
            "reversal_entry__effective_date", "reversal_reason"):
        out.append(("reversed", Outgoing(pk, amount, reversal_day, ref, name, entry, why)))
    out += [("seen", Outgoing(*row, None)) for row in payments.filter(reversed_at__isnull=True).values_list(
        "pk", "came_in", "received_date", "reference", "customer__name")]
    return out


def in_bank_currency(cur: str) -> Q:
    """Payments whose money reached a bank account in `cur`: received in the customer's currency `cur`,
    or received in `cur` for an account in another currency (issue 17, cross-currency receipts)."""
    return Q(currency=cur, received_currency="") | Q(received_currency=cur)


def refund_in_bank_currency(cur: str) -> Q:
    """Refunds whose money left in `cur`: in the account's currency `cur`, or paid back in `cur`."""
    return Q(currency=cur, paid_currency="") | Q(paid_currency=cur)


def bank_amount(payment: Payment) -> Decimal:
    """What a payment brought into the bank, in the currency it came in."""
    return payment.received_amount if payment.received_currency else payment.amount
