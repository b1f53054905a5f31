"""The payments importer: money already received, and the invoices it paid.

One row per payment. Each is recorded through payments.services.record_payment (the screen's own
door: its checks, its ledger posting Dr deposit account / Cr AR, its allocation), with an
idempotency key derived from the organization and the row's content (customer, date, amount,
currency, reference, and the how-manieth identical row of the file it is), so importing the same
file again records nothing new.

Allocation: the `invoices` column lists invoice numbers, each optionally with an amount
(`INV-1=100.00; INV-2`); a number without an amount takes what is left of the payment, in the
order given. An empty cell allocates oldest due first, as the payment screen's automatic mode;
`none` leaves the whole payment unapplied (the customer's credit). The dry run follows every
explicit allocation against what each invoice still owes, counting the rows above it in the file.
"""

import hashlib
from decimal import Decimal

from accounts.imports import Field, Importer, Record, register
from accounts.imports.base import OpenPeriod
from accounts.imports.lookup import CUSTOMER_CODE, customers_by_code, find_customer
from accounts.imports.parsing import ParseError, parse_number
from accounts.money import MoneyError, check_exact
from invoicing.models import Invoice, InvoiceStatus
from payments.bulk import PaymentIn, record_many
from payments.models import Payment, PaymentMethod
from payments.services import AUTO, NONE, deposit_accounts, future_limit

METHODS = {**{m.value: m.value for m in PaymentMethod}, **{str(m.label).lower(): m.value for m in PaymentMethod},
           "transfer": "bank_transfer", "bank": "bank_transfer", "check": "cheque", "credit card": "card"}
ACCOUNT_FOR_METHOD = {"cash": "cash", "card": "card"}
BATCH = 5000


@register
class PaymentImporter(Importer):
    kind = "payments"
    label = "Payments"
    fields = (
        CUSTOMER_CODE,
        Field("received_date", "Date received", "date", required=True, aliases=("date", "received", "paid on")),
        Field("amount", "Amount", "number", required=True),
        Field("currency", "Currency", "code", max_length=3, help="Empty: the customer's currency."),
        Field("method", "Method", max_length=30, help="Bank transfer, card, cash, cheque or other; empty: "
                                                      "bank transfer.", aliases=("payment method",)),
        Field("reference", "Reference", max_length=100, aliases=("ref", "payment reference")),
        Field("invoices", "Invoices paid", max_length=2000,
              help="Invoice numbers separated by ; each optionally =amount. Empty: oldest due first; "
                   "“none”: left unapplied.",
              aliases=("invoice", "invoice numbers", "applied to")),
    )

    def begin(self, org, actor):
        today = org.today()
        invoices = {}
        for pk, number, customer_id, due, status in Invoice.objects.filter(
                organization=org, number__isnull=False).values_list("pk", "number", "customer_id", "amount_due",
                                                                    "status"):
            invoices[number] = [pk, customer_id, due if status == InvoiceStatus.ISSUED else Decimal(0)]
        return {"org": org, "actor": actor, "today": today, "latest": future_limit(),

                "period": OpenPeriod(org, today),
                "customers": customers_by_code(org),
                "keys": set(Payment.objects.filter(organization=org, idempotency_key__startswith="imp-")
                            .values_list("idempotency_key", flat=True)),
                "invoices": invoices, "occurrences": {},
                "accounts": {a.system_key: a for a in deposit_accounts(org)}}

    def check(self, state, rows):
        row = rows[0]
        v, errors = row.values, []
        customer, missing = find_customer(state["customers"], row)
        if customer is None:
            return None, missing
        if customer.is_archived:
            errors.append(row.error("customer_code", f"{customer.name} is archived; restore it first."))
        currency = (v.get("currency") or customer.currency).upper()
        if currency != customer.currency:
            errors.append(row.error("currency", f"{customer.name} pays in {customer.currency}, not {currency}."))
        amount = v["amount"]
        try:
            amount = check_exact(amount, customer.currency)
            if amount <= 0:
                errors.append(row.error("amount", "The amount must be more than zero (import refunds separately)."))
        except MoneyError as e:
            errors.append(row.error("amount", str(e)))
        day = v["received_date"]
        if day > state["latest"]:
            errors.append(row.error("received_date", f"The date is after {state['latest']}, too far in the future."))
        if too_old := state["period"].too_old(day):
            errors.append(row.error("received_date", too_old))
        if closed := state["period"].refuse(day):
            errors.append(row.error("received_date", closed))
        method = METHODS.get((v.get("method") or "bank_transfer").strip().lower())
        if method is None:
            errors.append(row.error("method", "Unknown method; use bank transfer, card, cash, cheque or other."))
        if errors:
            return None, errors
        reference = (v.get("reference") or "").strip()
        identity = f"{state['org'].pk}|{customer.code}|{day}|{amount}|{currency}|{reference}"
        n = state["occurrences"][identity] = state["occurrences"].get(identity, 0) + 1
        key = "imp-" + hashlib.sha256(f"{identity}|{n}".encode()).hexdigest()[:40]
        if key in state["keys"]:
            return Record(key=reference or key, rows=[row.number], data=None, exists=True), []
        allocation, errors = self._allocation(state, row, customer, amount)
        if errors:
            return None, errors
        account = state["accounts"][ACCOUNT_FOR_METHOD.get(method, "bank")]
        data = {"customer": customer, "amount": amount, "currency": currency, "received_date": day,
                "method": method, "deposit_account": account, "idempotency_key": key, "reference": reference,
                "allocation": allocation}
        return Record(key=reference or key, rows=[row.number], data=data, currency=currency, amount=amount,
                      day=day), []

    def _allocation(self, state, row, customer, amount):
        text = (row.values.get("invoices") or "").strip()
        if not text:
            return AUTO, []
        if text.lower() == "none":
            return NONE, []
        wanted, left, errors = {}, amount, []
        for part in [p.strip() for p in text.replace(",", ";").split(";") if p.strip()]:
            number, _, raw = part.partition("=")
            number = number.strip()
            found = state["invoices"].get(number)
            if found is None or found[1] != customer.pk:
                errors.append(row.error("invoices", f"{customer.name} has no invoice {number} in this organization."))
                continue
            pk, _customer, due = found
            if raw.strip():
                try:
                    share = check_exact(parse_number(raw.strip()), customer.currency)
                except (ParseError, MoneyError) as e:
                    errors.append(row.error("invoices", f"{number}: {e}"))
                    continue
            else:
                share = min(left, due)
            if share <= 0 or share > due:
                errors.append(row.error("invoices", f"{number} still owes {due}; {share} cannot be applied to it."))
                continue
            if share > left:
                errors.append(row.error("invoices", f"The amounts applied add up to more than the payment ({amount})."))
                continue
            left -= share
            wanted[pk] = wanted.get(pk, Decimal(0)) + share
            found[2] = due - share
        return wanted, errors

    def write(self, state, records, progress):
        # The payment screen's rules, written set-based (payments.bulk.record_many): one batch of a
        # few statements instead of some fourteen per payment.
        done = 0
        for start in range(0, len(records), BATCH):
            batch = records[start:start + BATCH]
            record_many(state["org"], [PaymentIn(**r.data) for r in batch], actor=state["actor"])
            done += len(batch)
            progress(len(batch))
        return {"payments": done}


def _payment_rows(org):
    """Payments not reversed, net of refunds, with what they pay: the customer's balance and each
    invoice's amount due come out the same when the rows are imported elsewhere."""
    from django.db.models import Sum

    from invoicing.importers import plain
    from payments.models import Allocation

    yield [f.name for f in PaymentImporter.fields]
    applied: dict = {}
    for payment_id, number, amount in (Allocation.objects.filter(organization=org, payment__isnull=False)
                                       .values_list("payment_id", "invoice__number")
                                       .annotate(net=Sum("amount")).order_by("payment_id", "invoice__number")):
        if amount > 0:
            applied.setdefault(payment_id, []).append(f"{number}={plain(amount)}")
    payments = (Payment.objects.filter(organization=org, reversed_at__isnull=True).select_related("customer")
                .order_by("received_date", "pk"))
    for p in payments:
        net = p.amount - p.amount_refunded
        if net <= 0:
            continue
        yield [p.customer.code, p.received_date.isoformat(), plain(net), p.currency, p.method, p.reference,
               "; ".join(applied.get(p.pk, [])) or "none"]


PaymentImporter.export_rows = staticmethod(_payment_rows)
