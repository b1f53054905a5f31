"""Customer statements, in two styles, as a page, a PDF and an e-mail.

* Balance forward: the balance owed before the period (the customer's AR balance the day before
  it starts), every receivable posting in the period with a running balance, and the closing
  balance. Read from the journal, so opening + Σ lines = closing = the customer's balance as of
  the end date, always.
* Open item: what is still open at the end date — each invoice with its amount open and its
  age, the unapplied payments and credit notes, and an aging summary; it totals to the same
  closing balance.

The PDF carries the organization's branding (name, address, tax id, logo, payment details) and
is rendered with the invoice renderer's restricted URL fetcher; e-mails go through the invoice
e-mail machinery (invoicing.mail: EmailDelivery log, django-q2 task, retries).
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.ledger import customer_balance
from accounts.locale import document_language, format_day, in_language
from accounts.models import JournalLine
from accounts.models_org import today_in
from accounts.money import format_money
from invoicing import outgoing
from invoicing.models import Invoice
from invoicing.models_documents import DeliveryKind, DocumentKind
from reports.aging import bucket_of, make_buckets
from reports.asof import ZERO, open_items
from reports.models import AgingBasis, ReportSettings

BALANCE_FORWARD, OPEN_ITEM = "balance_forward", "open_item"
STYLES = {BALANCE_FORWARD: gettext_lazy("Balance forward"), OPEN_ITEM: gettext_lazy("Open item")}
TEMPLATE_VERSION = "1"


@dataclass
class StatementLine:
    day: date
    kind: str  # invoice, payment, credit, write-off, refund, reversal, void, adjustment
    reference: str
    description: str
    debit: Decimal
    credit: Decimal
    balance: Decimal
    entry_id: int
    source_type: str = ""
    source_id: int | None = None
    due_date: date | None = None


@dataclass
class Statement:
    customer: object
    style: str
    start: date
    end: date
    currency: str
    opening: Decimal = ZERO
    closing: Decimal = ZERO
    lines: list[StatementLine] = field(default_factory=list)
    items: list = field(default_factory=list)  # open item style: OpenItem rows
    aging: list[tuple[str, Decimal]] = field(default_factory=list)
    aging_limits: list[int] = field(default_factory=list)  # the labels are made in the reader's language
    last_entry_id: int = 0

    @property
    def total_debits(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credits(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)

    @property
    def open_invoices(self):
        return [it for it in self.items if it.kind == "i"]

    @property
    def unapplied(self):
        return [it for it in self.items if it.kind != "i"]

    @property
    def unapplied_total(self) -> Decimal:
        return sum((it.amount for it in self.unapplied), ZERO)

    @property
    def item_rows(self) -> list[dict]:
        return [{"item": it, "days_overdue": max(0, (self.end - it.due_date).days) if it.due_date else 0}
                for it in self.items]

    @property
    def overdue(self) -> Decimal:
        return sum((it.amount for it in self.open_invoices if it.due_date and it.due_date < self.end), ZERO)

    @property
    def style_label(self) -> str:
        return str(STYLES.get(self.style, self.style))


def _kind(line, entry) -> str:
    source = entry.source_type
    if entry.reverses_id:
        return "void" if source == "invoicing.invoice" else "reversal"
    if source == "invoicing.invoice":
        return "invoice" if line.amount > 0 else "write-off"
    if source == "payments.payment":
        return "payment"
    if source == "payments.refund":
        return "refund"
    if entry.idempotency_key.startswith("credit_note:") or entry.memo.startswith("Credit note"):
        return "credit"
    return "adjustment"


KIND_LABELS = {
    "invoice": gettext_lazy("Invoice"), "payment": gettext_lazy("Payment"), "credit": gettext_lazy("Credit note"),
    "write-off": gettext_lazy("Write-off"), "refund": gettext_lazy("Refund"),
    "reversal": gettext_lazy("Payment reversed"), "void": gettext_lazy("Invoice voided"),
    "adjustment": gettext_lazy("Adjustment"),
}


def build(customer, style: str, start: date, end: date) -> Statement:
    st = Statement(customer=customer, style=style, start=start, end=end, currency=customer.currency)
    st.opening = customer_balance(customer, start - timedelta(days=1))
    running = st.opening
    rows = (JournalLine.objects.filter(customer=customer, currency=customer.currency,
                                       effective_date__gte=start, effective_date__lte=end)
            .select_related("entry").order_by("effective_date", "entry__seq", "line_no"))
    invoice_ids = set()
    for line in rows:
        entry = line.entry
        running += line.amount
        kind = _kind(line, entry)
        st.lines.append(StatementLine(
            day=line.effective_date, kind=kind, reference=entry.source_label or f"#{entry.seq}",
            description=entry.memo, debit=max(line.amount, ZERO), credit=max(-line.amount, ZERO), balance=running,
            entry_id=entry.pk, source_type=entry.source_type, source_id=entry.source_id,
        ))
        st.last_entry_id = max(st.last_entry_id, entry.pk)
        if kind == "invoice" and entry.source_id:
            invoice_ids.add(entry.source_id)
    if invoice_ids:
        due = dict(Invoice.objects.filter(pk__in=invoice_ids).values_list("pk", "due_date"))
        for line in st.lines:
            if line.kind == "invoice":
                line.due_date = due.get(line.source_id)
    st.closing = running
    if style == OPEN_ITEM:
        st.items = open_items(customer.organization, end, [customer.pk], currency=customer.currency)
        buckets = make_buckets(ReportSettings.for_org(customer.organization).limits, AgingBasis.DUE)
        amounts = [ZERO] * len(buckets)
        for it in st.open_invoices:
            amounts[bucket_of(it.age(end), buckets)] += it.amount
        st.aging = [(b.label, a) for b, a in zip(buckets, amounts, strict=True)]
        st.aging_limits = list(ReportSettings.for_org(customer.organization).limits)
    return st


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


# --- PDF ---------------------------------------------------------------------------------------

def render_html(st: Statement, brand: dict | None = None) -> str:
    brand = brand or outgoing.branding(st.customer.organization)
    # In the customer's language (issue 17): texts, amounts and dates.
    with in_language(language_of(st)):
        aging = st.aging
        if st.aging_limits:
            labels = [b.label for b in make_buckets(st.aging_limits, AgingBasis.DUE)]
            aging = [(label, amount) for label, (_old, amount) in zip(labels, st.aging, strict=True)]
        return render_to_string("reports/pdf/statement.html", {
            "st": st, "brand": brand, "org": brand["org"], "customer": st.customer,
            "lines": [(line, kind_label(line.kind)) for line in st.lines], "aging": aging,
            "style_label": str(STYLES.get(st.style, st.style)),
            "generated": today_in(),
        })


def language_of(st: Statement) -> str:
    return document_language(st.customer, st.customer.organization)


def render_pdf(st: Statement) -> bytes:
    brand = outgoing.branding(st.customer.organization)
    return outgoing.render_pdf(render_html(st, brand), brand["logo_path"])


def state_key(st: Statement) -> str:
    state = {"v": TEMPLATE_VERSION, "customer": st.customer.pk, "style": st.style, "start": str(st.start),
             "end": str(st.end), "closing": str(st.closing), "opening": str(st.opening),
             "lines": len(st.lines), "last": st.last_entry_id,
             "items": [[it.kind, it.item_id, str(it.amount)] for it in st.items]}
    if language_of(st) != "en":  # English keeps the key it had before statements had a language
        state["lang"] = language_of(st)
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def filename(st: Statement) -> str:
    code = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in st.customer.code)
    return f"statement-{code}-{st.end.isoformat()}.pdf"


def stored_pdf(st: Statement):
    """The statement's PDF as a StoredDocument (kind statement), rendered once per state."""
    return outgoing.store_pdf(st.customer.organization_id, DocumentKind.STATEMENT, state_key(st),
                              lambda: render_pdf(st), filename=filename(st), customer=st.customer)


# --- e-mail --------------------------------------------------------------------------------------

class StatementError(ValueError):
    pass


def default_message(st: Statement) -> dict:
    org = st.customer.organization
    with in_language(language_of(st)):  # the customer's language, its amounts and dates
        values = {"customer": st.customer.name, "organization": org.name,
                  "balance": format_money(st.closing, st.currency), "end": format_day(st.end)}
        subject = _("Statement of account from %(organization)s") % values
        body = _("Dear %(customer)s,\n\nPlease find attached your statement of account as of %(end)s. "
                 "The balance is %(balance)s.\n\nIf anything looks wrong, just reply to this e-mail.\n\n"
                 "Kind regards,\n%(organization)s") % values
    return {"recipients": ", ".join(st.customer.email_list), "subject": subject, "body": body}


def email_statement(st: Statement, *, recipients: list[str] | None = None, subject: str | None = None,
                    body: str | None = None, actor=None):
    """Store the PDF, log an e-mail (kind statement) and queue it on commit (invoicing.outgoing)."""
    draft = default_message(st)
    recipients = recipients if recipients is not None else st.customer.email_list
    if not recipients:
        raise StatementError(_("%(name)s has no billing e-mail address.") % {"name": st.customer.name})
    doc = stored_pdf(st)
    delivery = outgoing.queue_email(
        st.customer.organization_id, DeliveryKind.STATEMENT, customer=st.customer, document=doc,
        recipients=recipients, subject=subject or draft["subject"], body=body or draft["body"], actor=actor)
    return delivery


def portal_statement_pdf(customer, today: date):
    """invoicing.hooks.STATEMENT_PDF: the open-item statement of the last 90 days, as the customer's
    portal offers it."""
    return stored_pdf(build(customer, OPEN_ITEM, today - timedelta(days=90), today))
