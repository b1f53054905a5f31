"""The customer portal on the signed link (issue 19): what the customer sees and may do.

The link is invoicing's (invoicing.public): one invoice's token, which names the organization and
so sets the tenant; the portal is scoped to that invoice's customer. Every query here filters by
that customer (and RLS by the organization), so an id of another customer or organization typed
into a request finds nothing. Every action:

* is switched on by the organization (ReminderSettings.portal_*);
* is rate limited per link and client address (PORTAL_ACTIONS_PER_HOUR);
* carries the form's one-time key: a PortalAction row with a unique (organization, key) is written
  in the same transaction as what the action does, so a double submit does it once;
* is recorded with time and address (PortalAction; the customer's activity on their page).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts import ratelimit
from accounts.ledger import customer_balance
from accounts.models import JournalLine
from accounts.money import format_money
from invoicing.models import Invoice, InvoiceKind
from invoicing.models_documents import PublicLink
from reminders import attachments, disputes, holds, notifications
from reminders.models import ReminderSettings
from reminders.models_collections import BalanceAssertion, DisputeAttachment, PortalAction, PortalActionKind, Source

RECENT_DAYS = 90
KEY_RE = re.compile(r"^[0-9a-f]{32}$")
MARKUP_RE = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")


class PortalError(ValueError):
    pass


class AlreadyDone(Exception):
    """The same form was submitted before: nothing more is done."""


def switches(org_id: int) -> ReminderSettings:
    found = ReminderSettings.objects.filter(organization_id=org_id).first()
    return found or ReminderSettings(organization_id=org_id)


def open_invoices(customer_id: int):
    return (Invoice.objects.open().filter(customer_id=customer_id, kind=InvoiceKind.INVOICE)
            .order_by("due_date", "pk"))


def invoice_of(link: PublicLink, invoice_id) -> Invoice | None:
    """An open invoice of the link's customer, or None (whatever id was sent)."""
    try:
        invoice_id = int(invoice_id)
    except (TypeError, ValueError):
        return None
    return open_invoices(link.invoice.customer_id).filter(pk=invoice_id).first()


@dataclass
class Movement:
    day: date
    kind: str
    reference: str
    amount: Decimal


def recent_movements(customer_id: int, today: date) -> list[Movement]:
    """Payments and credits of the last RECENT_DAYS days (the customer's AR lines that credit it)."""
    rows = (JournalLine.objects.filter(customer_id=customer_id, effective_date__gte=today - timedelta(days=RECENT_DAYS),
                                       amount__lt=0)
            .select_related("entry").order_by("-effective_date", "-entry__seq")[:50])
    out = []
    for line in rows:
        entry = line.entry
        if entry.source_type == "payments.payment":
            kind = _("Payment")
        elif entry.source_type == "invoicing.creditnote" or entry.idempotency_key.startswith("credit_note:"):
            kind = _("Credit note")
        else:
            continue  # write-offs and reversals are the organization's bookkeeping, not the customer's money
        out.append(Movement(line.effective_date, kind, entry.source_label, -line.amount))
    return out


def check_text(text: str, limit: int = 2000) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise PortalError(_("The message is too long: at most %(n)s characters.") % {"n": limit})
    if MARKUP_RE.search(text):
        raise PortalError(_("Please write plain text: the message contains HTML or script tags."))
    return text


def allow(link: PublicLink, ip: str | None) -> bool:
    """Rate limit per link and client address: another customer (another link) is never locked out."""
    return ratelimit.hit("portal-action", f"{link.pk}:{ip}", limit=django_settings.PORTAL_ACTIONS_PER_HOUR,
                         window_seconds=3600)


def _record(link: PublicLink, kind: str, key: str, ip, invoice=None, summary: str = "") -> PortalAction:
    """The action's row; AlreadyDone when this form's key was used (inside the caller's transaction)."""
    if not KEY_RE.match(key or ""):
        raise PortalError(_("The form has expired; please reload the page and try again."))
    try:
        with transaction.atomic():
            return PortalAction.objects.create(organization_id=link.organization_id,
                                               customer_id=link.invoice.customer_id, invoice=invoice,
                                               link_id=link.pk, kind=kind, key=key, ip=ip, summary=summary[:500])
    except IntegrityError as exc:
        raise AlreadyDone from exc


@transaction.atomic
def dispute(link: PublicLink, *, invoice: Invoice, reason: str, amount: Decimal | None, line_ids, message: str,
            key: str, ip, files=()) -> PortalAction:
    """`files`: the uploaded attachments, all checked before anything is stored and stored with the
    dispute under the form's one-time key (a double submit stores them once)."""
    message = check_text(message)
    try:
        checked = attachments.check(files)
    except attachments.AttachmentError as e:
        raise PortalError(str(e)) from e
    action = _record(link, PortalActionKind.DISPUTE, key, ip, invoice,
                     _("Disputed %(number)s") % {"number": invoice.number})
    try:
        d = disputes.raise_dispute(invoice, reason=reason, amount=amount, line_ids=line_ids, message=message,
                                   source=Source.PORTAL, ip=ip)
    except disputes.DisputeError as e:
        raise PortalError(str(e)) from e
    attachments.store(d, checked, link_id=link.pk, ip=ip)
    action.summary = _("Disputed %(amount)s of %(number)s: %(reason)s") % {
        "amount": format_money(d.amount, invoice.currency), "number": invoice.number, "reason": d.get_reason_display()}
    action.save(update_fields=["summary"])
    notifications.notify_staff(
        link.organization_id, "dispute", _("%(customer)s disputed %(amount)s of %(number)s") % {
            "customer": invoice.customer.name, "amount": format_money(d.amount, invoice.currency),
            "number": invoice.number},
        url=reverse("dispute_detail", kwargs={"org_slug": invoice.organization.slug, "pk": d.pk}),
        key=f"dispute:{d.pk}", assignee_id=d.assignee_id)
    return action


@transaction.atomic
def promise(link: PublicLink, *, invoice: Invoice, until: date, amount: Decimal, note: str, key: str, ip,
            today: date) -> PortalAction:
    note = check_text(note, 500)
    action = _record(link, PortalActionKind.PROMISE, key, ip, invoice)
    try:
        p = holds.promise_to_pay(invoice, until, invoice.customer.name, note, today=today, amount=amount,
                                 source=Source.PORTAL, ip=ip)
    except holds.HoldError as e:
        raise PortalError(str(e)) from e
    action.summary = _("Promised to pay %(amount)s of %(number)s by %(date)s") % {
        "amount": format_money(p.amount, invoice.currency), "number": invoice.number, "date": p.until}
    action.save(update_fields=["summary"])
    return action


@transaction.atomic
def assert_balance(link: PublicLink, *, confirmed: bool, as_of: date, balance: Decimal, note: str, key: str,
                   ip) -> BalanceAssertion:
    """The customer confirms (or contests) the balance they were shown as of a date. Refused when the
    ledger no longer says that balance for that date (the page was stale): they confirm what is true."""
    note = check_text(note, 1000)
    customer = link.invoice.customer
    if balance != customer_balance(customer, as_of):
        raise PortalError(_("Your balance has changed since this page was loaded; please check it again."))
    kind = PortalActionKind.CONFIRM if confirmed else PortalActionKind.CONTEST
    _record(link, kind, key, ip, summary=(_("Confirmed the balance of %(b)s %(c)s as of %(d)s") if confirmed else
                                          _("Contested the balance of %(b)s %(c)s as of %(d)s"))
            % {"b": balance, "c": customer.currency, "d": as_of})
    return BalanceAssertion.objects.create(organization_id=link.organization_id, customer=customer, as_of=as_of,
                                           balance=balance, currency=customer.currency, confirmed=confirmed,
                                           note=note, ip=ip)


def attachment_of(link: PublicLink, attachment_id: int) -> DisputeAttachment | None:
    """A file on a dispute of the link's customer, or None (whatever id was sent)."""
    return DisputeAttachment.objects.filter(pk=attachment_id, dispute__customer_id=link.invoice.customer_id).first()


def recheck(assertion: BalanceAssertion) -> bool:
    """Does the ledger still say the asserted balance for that date (nothing back-dated since)?"""
    return customer_balance(assertion.customer, assertion.as_of) == assertion.balance


def record_statement(link: PublicLink, ip) -> None:
    PortalAction.objects.create(organization_id=link.organization_id, customer_id=link.invoice.customer_id,
                                link_id=link.pk, kind=PortalActionKind.STATEMENT, ip=ip,
                                summary=_("Downloaded the statement"))


COPIES_PER_INVOICE_PER_DAY = 3


def proposed_plans(customer_id: int):
    from reminders.models_plans import PaymentPlan, PlanStatus

    return (PaymentPlan.objects.filter(customer_id=customer_id, status=PlanStatus.PROPOSED)
            .prefetch_related("instalments", "covered__invoice").order_by("pk"))


@transaction.atomic
def accept_plan(link: PublicLink, *, plan_id, key: str, ip, today: date) -> PortalAction:
    """The customer accepts a payment plan proposed to them (only their own: another id finds nothing)."""
    from reminders import plans
    from reminders.models_plans import PaymentPlan

    try:
        plan = PaymentPlan.objects.get(pk=int(plan_id), customer_id=link.invoice.customer_id)
    except (TypeError, ValueError, PaymentPlan.DoesNotExist) as e:
        raise PlanNotFound from e
    action = _record(link, PortalActionKind.PLAN, key, ip, summary=_("Accepted the payment plan of %(amount)s") % {
        "amount": format_money(plan.amount, plan.currency)})
    try:
        plans.accept(plan, today=today, via="portal", ip=ip)
    except plans.AlreadyAccepted as e:
        raise AlreadyDone from e
    except plans.PlanError as e:
        raise PortalError(str(e)) from e
    return action


class PlanNotFound(Exception):
    pass


@transaction.atomic
def ask_for_copy(link: PublicLink, *, invoice: Invoice, key: str, ip, base_url: str) -> PortalAction:
    """Queue the invoice's PDF e-mail to the customer's billing address on file (never an address typed
    on the page): at most COPIES_PER_INVOICE_PER_DAY per invoice, recorded on the invoice's timeline."""
    from django.utils import timezone

    from invoicing.mail import draft_message, queue_invoice_email
    from invoicing.services import record_event

    customer = invoice.customer
    to = customer.email_list
    if not to:
        raise PortalError(_("We have no e-mail address on file for you; please contact %(org)s.") % {
            "org": invoice.organization.name})
    recent = PortalAction.objects.filter(invoice=invoice, kind=PortalActionKind.COPY,
                                         at__gte=timezone.now() - timedelta(days=1)).count()
    if recent >= COPIES_PER_INVOICE_PER_DAY:
        raise PortalError(_("A copy of this invoice was sent several times today; please check your inbox (and spam "
                            "folder) or try again tomorrow."))
    action = _record(link, PortalActionKind.COPY, key, ip, invoice,
                     _("Asked for a copy of %(number)s") % {"number": invoice.number})
    message = draft_message(invoice)
    queue_invoice_email(invoice, to, message["subject"], message["body"], base_url=base_url)
    record_event(invoice, "email", _("The customer asked for a copy on their link (%(ip)s); e-mailed to %(to)s")
                 % {"ip": ip or "?", "to": ", ".join(to)})
    return action
