"""Payment plans (issue 19 #7): an overdue balance split into instalments agreed with the customer.

* `create_plan()`: staff choose open invoices of one customer; the instalments' amounts sum exactly
  to what is due on them (`split()` for an even split in the currency's minor unit, the remainder on
  the last). Agreed at once (staff) or *proposed* and accepted by the customer on their link
  (`accept()`, with time and address; a second accept does nothing).
* While a plan is active its invoices are held (reminders.holds: the one home for "held"): the scan
  writes no step reminders for them. Instead `queue_reminders()` (called by the scan) writes one
  outbox row per instalment on its own date (kind "instalment", once per instalment by its key).
* `decide()` is the rule, a pure function: instalment n is kept when the payments applied to the
  covered invoices from the day the plan was agreed to its date plus the plan's grace reach the sum of
  instalments 1..n; an un-application counts against the allocation it undoes, whenever it happened
  (reminders.promises.paid_towards, the same rule as promises). `check_plans()` applies it on the first
  scan of each local day: a missed instalment breaks the plan (normal chasing resumes by itself: the
  hold is gone, and the catch-up rule sends one message), goes on each invoice's timeline and notifies
  the plan's assignee; all kept completes it.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import document_language, format_day, in_language, reader_date_locale
from accounts.money import MoneyError, check_exact, format_money, quantum
from invoicing.models import Invoice, InvoiceKind
from invoicing.services import record_event
from reminders import notifications
from reminders.holds import not_open_reason
from reminders.models import CustomerReminderSettings, OutboxKind, OutboxStatus, ReminderMessage, Tone
from reminders.models_plans import LIVE_STATUSES, Instalment, PaymentPlan, PaymentPlanInvoice, PlanStatus
from reminders.promises import Applied, applied_to, paid_towards

ZERO = Decimal(0)
KEPT, MISSED = "kept", "missed"
MAX_INSTALMENTS = 36
MAX_DAYS_AHEAD = 3 * 366
RECHECK_DAYS = 60  # a completed plan is re-checked this long after its last deadline (a bounced payment)
KEY_PREFIX = "instalment:"


class PlanError(ValueError):
    pass


class AlreadyAccepted(Exception):
    pass


# --- The rule -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    day: date
    amount: Decimal


def decide(instalments: list[Due], start: date, grace_days: int, applied: list[Applied], today: date) -> list[str]:
    """Per instalment: "" while its date plus grace has not passed; then kept when what was paid towards
    the plan from `start` to that deadline (still applied) reaches the instalments due so far; else missed."""
    out, cumulative = [], ZERO
    for inst in instalments:
        cumulative += inst.amount
        deadline = inst.day + timedelta(days=grace_days)
        if today <= deadline:
            out.append("")
        else:
            out.append(KEPT if paid_towards(start, deadline, applied) >= cumulative else MISSED)
    return out


def split(amount: Decimal, currency: str, count: int) -> list[Decimal]:
    """`count` amounts in the currency's minor unit summing exactly to `amount`; the remainder on the last."""
    if count < 1 or count > MAX_INSTALMENTS:
        raise PlanError(_("A plan has from 1 to %(n)s instalments.") % {"n": MAX_INSTALMENTS})
    base = (amount / count).quantize(quantum(currency), rounding=ROUND_DOWN)
    if base <= 0:
        raise PlanError(_("The amount is too small for %(n)s instalments.") % {"n": count})
    return [base] * (count - 1) + [amount - base * (count - 1)]


def schedule(first: date, every_days: int, count: int) -> list[date]:
    if every_days < 1 or every_days > 92:
        raise PlanError(_("Instalments are from 1 to 92 days apart."))
    return [first + timedelta(days=every_days * n) for n in range(count)]


# --- Making and agreeing ------------------------------------------------------------------------

def live_plan_of(invoice_id: int) -> PaymentPlan | None:
    return (PaymentPlan.objects.filter(covered__invoice_id=invoice_id, status__in=LIVE_STATUSES)
            .order_by("-pk").first())


@transaction.atomic
def create_plan(customer, invoice_ids, instalments: list[tuple[date, Decimal]], *, actor=None, propose: bool,
                today: date, note: str = "", grace_days: int | None = None, assignee_id: int | None = None
                ) -> PaymentPlan:
    """A plan over open invoices of `customer`; `propose`: waits for the customer's acceptance."""
    ids = sorted({int(i) for i in invoice_ids})
    if not ids:
        raise PlanError(_("Choose at least one open invoice."))
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=ids, customer_id=customer.pk,
                                                                 kind=InvoiceKind.INVOICE).order_by("due_date", "pk"))
    if len(invoices) != len(ids) or any(not_open_reason(i) for i in invoices):
        raise PlanError(_("Only open invoices of this customer can be in a plan."))
    if len({i.currency for i in invoices}) != 1:
        raise PlanError(_("The invoices of one plan must be in one currency."))
    taken = [i.number for i in invoices if live_plan_of(i.pk) is not None]
    if taken:
        raise PlanError(_("Already in a payment plan: %(n)s.") % {"n": ", ".join(taken)})
    currency = invoices[0].currency
    total = sum((i.amount_due for i in invoices), ZERO)
    if not instalments or len(instalments) > MAX_INSTALMENTS:
        raise PlanError(_("A plan has from 1 to %(n)s instalments.") % {"n": MAX_INSTALMENTS})
    days = [d for d, _a in instalments]
    if days != sorted(set(days)):
        raise PlanError(_("Each instalment needs its own date, in order."))
    if days[0] < today:
        raise PlanError(_("The first instalment must be today or later."))
    if (days[-1] - today).days > MAX_DAYS_AHEAD:
        raise PlanError(_("A plan may run for at most three years."))
    try:
        amounts = [check_exact(a, currency) for _d, a in instalments]
    except MoneyError as e:
        raise PlanError(_("An instalment has more decimals than %(c)s allows.") % {"c": currency}) from e
    if any(a <= 0 for a in amounts):
        raise PlanError(_("Every instalment must be more than zero."))
    if sum(amounts, ZERO) != total:
        raise PlanError(_("The instalments add up to %(sum)s, not the %(total)s due on the chosen invoices.") % {
            "sum": format_money(sum(amounts, ZERO), currency), "total": format_money(total, currency)})
    if grace_days is None:
        from reminders.models import ReminderSettings

        settings = ReminderSettings.objects.filter(organization_id=customer.organization_id).first()
        grace_days = settings.promise_grace_days if settings else 3
    now = timezone.now()
    plan = PaymentPlan.objects.create(
        organization_id=customer.organization_id, customer=customer, currency=currency, amount=total,
        status=PlanStatus.PROPOSED if propose else PlanStatus.ACTIVE, grace_days=grace_days, note=note.strip()[:500],
        assignee_id=assignee_id or getattr(actor, "pk", None), created_by=actor,
        accepted_at=None if propose else now, accepted_on=None if propose else today,
        accepted_via="" if propose else "staff")
    PaymentPlanInvoice.objects.bulk_create([PaymentPlanInvoice(organization_id=plan.organization_id, plan=plan,
                                                               invoice=i, amount=i.amount_due) for i in invoices])
    Instalment.objects.bulk_create([Instalment(organization_id=plan.organization_id, plan=plan, number=n,
                                               due_date=d, amount=a)
                                    for n, (d, a) in enumerate(zip(days, amounts, strict=True), start=1)])
    what = (_("Payment plan proposed to the customer: %(total)s in %(n)s instalments from %(first)s")
            if propose else _("Payment plan agreed: %(total)s in %(n)s instalments from %(first)s; step reminders "
                              "pause"))
    for i in invoices:
        record_event(i, "plan", what % {"total": format_money(total, currency), "n": len(days), "first": days[0]},
                     actor)
    return plan


@transaction.atomic
def accept(plan: PaymentPlan, *, today: date, via: str = "portal", ip=None, actor=None) -> PaymentPlan:
    """The customer (or staff on their behalf) agrees to a proposed plan: it becomes active."""
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == PlanStatus.ACTIVE:
        raise AlreadyAccepted
    if plan.status != PlanStatus.PROPOSED:
        raise PlanError(_("This payment plan can no longer be accepted."))
    first = plan.instalments.order_by("number").first()
    if first is None or first.due_date < today:
        raise PlanError(_("This proposal has expired: its first instalment date has passed. Please ask us for "
                          "a new one."))
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=plan.covered.values("invoice_id")))
    if any(not_open_reason(i) for i in invoices) or sum((i.amount_due for i in invoices), ZERO) != plan.amount:
        raise PlanError(_("What is due has changed since this plan was proposed. Please ask us for a new one."))
    plan.status, plan.accepted_at, plan.accepted_on = PlanStatus.ACTIVE, timezone.now(), today
    plan.accepted_via, plan.accepted_ip = via, ip
    plan.save(update_fields=["status", "accepted_at", "accepted_on", "accepted_via", "accepted_ip"])
    for i in invoices:
        record_event(i, "plan", (_("Payment plan accepted by the customer on their link (%(ip)s); step reminders "
                                   "pause") % {"ip": ip or "?"}) if via == "portal" else
                     _("Payment plan agreed; step reminders pause"), actor)
    if via == "portal":
        notifications.notify_staff(
            plan.organization_id, "plan_accepted",
            _("%(customer)s accepted the payment plan of %(total)s") % {
                "customer": plan.customer.name, "total": format_money(plan.amount, plan.currency)},
            url=_customer_url(plan), key=f"plan-accepted:{plan.pk}", assignee_id=plan.assignee_id)
    return plan


@transaction.atomic
def cancel(plan: PaymentPlan, *, actor=None, note: str = "") -> PaymentPlan:
    plan = PaymentPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status in LIVE_STATUSES:
        plan.status, plan.ended_at, plan.end_note = PlanStatus.CANCELLED, timezone.now(), note.strip()[:300]
        plan.save(update_fields=["status", "ended_at", "end_note"])
        for i in _invoices(plan):
            record_event(i, "plan", _("Payment plan cancelled; normal reminders resume"), actor)
    return plan


def _invoices(plan: PaymentPlan) -> list[Invoice]:
    return list(Invoice.objects.filter(pk__in=plan.covered.values("invoice_id")).select_related("organization")
                .order_by("due_date", "pk"))


def _customer_url(plan: PaymentPlan) -> str:
    return reverse("customer_detail", kwargs={"org_slug": plan.customer.organization.slug, "pk": plan.customer_id})


# --- Checking -------------------------------------------------------------------------------------

def applied_to_plan(plan: PaymentPlan) -> list[Applied]:
    out = []
    for invoice in _invoices(plan):
        out += applied_to(invoice)
    return out


def dues(plan: PaymentPlan) -> list[Due]:
    return [Due(i.due_date, i.amount) for i in plan.instalments.order_by("number")]


def check_plans(org, today: date | None = None) -> dict[str, int]:
    """Decide the instalments of active plans (and re-check recently completed ones); break or complete."""
    today = today or org.today()
    counts = {"broken": 0, "completed": 0}
    plans = PaymentPlan.objects.filter(organization=org, status__in=[PlanStatus.ACTIVE, PlanStatus.COMPLETED],
                                       accepted_on__isnull=False).select_related("customer__organization")
    for plan in plans:
        if plan.status == PlanStatus.COMPLETED and plan.ended_at and (
                today - timezone.localtime(plan.ended_at, org.zone).date()).days > RECHECK_DAYS:
            continue
        result = _check(plan, today)
        if result:
            counts[result] += 1
    return counts


@transaction.atomic
def _check(plan: PaymentPlan, today: date) -> str | None:
    plan = PaymentPlan.objects.select_for_update().select_related("customer__organization").get(pk=plan.pk)
    if plan.status not in (PlanStatus.ACTIVE, PlanStatus.COMPLETED):
        return None
    instalments = list(plan.instalments.order_by("number"))
    outcomes = decide([Due(i.due_date, i.amount) for i in instalments], plan.accepted_on, plan.grace_days,
                      applied_to_plan(plan), today)
    now = timezone.now()
    for inst, result in zip(instalments, outcomes, strict=True):
        if result and result != inst.outcome:
            Instalment.objects.filter(pk=inst.pk).update(outcome=result, decided_at=now)
            inst.outcome = result
    # Everything covered is settled (paid, even late, or credited): nothing left to chase, the plan is done.
    settled = all(i.amount_due <= 0 for i in _invoices(plan))
    missed = [i for i in instalments if i.outcome == MISSED]
    if missed and not settled:
        return _break(plan, missed[0], now)
    if plan.status == PlanStatus.ACTIVE and (settled or all(i.outcome == KEPT for i in instalments)):
        plan.status, plan.ended_at = PlanStatus.COMPLETED, now
        plan.save(update_fields=["status", "ended_at"])
        for i in _invoices(plan):
            record_event(i, "plan", _("Payment plan completed: every instalment kept"))
        return "completed"
    return None


def _break(plan: PaymentPlan, missed: Instalment, now) -> str:
    plan.status, plan.ended_at = PlanStatus.BROKEN, now
    plan.end_note = (_("Instalment %(n)s of %(amount)s due %(date)s was missed") % {
        "n": missed.number, "amount": format_money(missed.amount, plan.currency), "date": missed.due_date})[:300]
    plan.save(update_fields=["status", "ended_at", "end_note"])
    for i in _invoices(plan):
        record_event(i, "plan", _("Payment plan broken: %(why)s; normal reminders resume") % {"why": plan.end_note})
    notifications.notify_staff(
        plan.organization_id, "plan_broken",
        _("%(customer)s broke their payment plan: %(why)s") % {"customer": plan.customer.name, "why": plan.end_note},
        url=_customer_url(plan), key=f"plan-broken:{plan.pk}", assignee_id=plan.assignee_id)
    return "broken"


# --- Reminding each instalment on its own date (the scan calls this; the outbox sends) --------------

def queue_reminders(org_id: int, day: date, now) -> int:
    """For each active plan, the latest instalment due by `day` that is not yet paid for gets one outbox
    row (kind instalment, key "instalment:<id>": once, whatever the number of scans). Earlier instalments
    caught up after a pause are not reminded separately (the catch-up rule)."""
    made = 0
    quiet = CustomerReminderSettings.objects.filter(organization_id=org_id, do_not_remind=True).values("customer_id")
    # Each plan's latest instalment due by `day`, and whether it was reminded already: one query, so a
    # scan every 15 minutes costs nothing per plan whose current instalment has its row.
    latest = Instalment.objects.filter(plan=OuterRef("pk"), due_date__lte=day).order_by("-number")
    plans = (PaymentPlan.objects.filter(organization_id=org_id, status=PlanStatus.ACTIVE)
             .exclude(customer_id__in=quiet)
             .annotate(latest_id=Subquery(latest.values("pk")[:1]))
             .filter(latest_id__isnull=False)
             .annotate(reminded=Exists(ReminderMessage.objects.filter(
                 organization_id=org_id,
                 idempotency_key=Concat(Value(KEY_PREFIX), Cast(OuterRef("latest_id"), CharField())))))
             .filter(reminded=False))
    for plan in plans:
        inst = Instalment.objects.get(pk=plan.latest_id)
        key = f"{KEY_PREFIX}{inst.pk}"
        if owed_now(plan, inst, day) <= 0:
            continue
        invoices = _invoices(plan)
        invoice = next((i for i in invoices if i.amount_due > 0), invoices[0])
        try:
            with transaction.atomic():
                ReminderMessage.objects.create(
                    organization_id=org_id, invoice=invoice, customer_id=plan.customer_id,
                    kind=OutboxKind.INSTALMENT, status=OutboxStatus.PENDING, tone=Tone.FRIENDLY,
                    offset_days=max(-32768, min(32767, (inst.due_date - invoice.due_date).days)),
                    due_at=now, created_at=now, next_attempt_at=now, idempotency_key=key)
                made += 1
        except IntegrityError:
            pass  # another scan wrote it
    return made


def owed_now(plan: PaymentPlan, inst: Instalment, day: date) -> Decimal:
    """What is still missing for instalments 1..inst as of `day`."""
    cumulative = sum((i.amount for i in plan.instalments.filter(number__lte=inst.number)), ZERO)
    return cumulative - paid_towards(plan.accepted_on, day, applied_to_plan(plan))


def instalment_of(row: ReminderMessage) -> Instalment | None:
    key = row.idempotency_key or ""
    if not key.startswith(KEY_PREFIX):
        return None
    return Instalment.objects.select_related("plan__customer").filter(pk=key[len(KEY_PREFIX):]).first()


def why_not_send(row: ReminderMessage, today: date) -> str | None:
    """The sender's last check for an instalment row (None: send it)."""
    inst = instalment_of(row)
    if inst is None or inst.plan.status != PlanStatus.ACTIVE:
        return _("the payment plan is no longer active")
    if owed_now(inst.plan, inst, today) <= 0:
        return _("the instalment is paid")
    return None


def render_reminder(row: ReminderMessage, today: date) -> tuple[str, str]:
    """Subject and body of an instalment reminder (and the amount it asks for, set on the row), in the
    customer's language with its amounts and dates (issue 17, as every other reminder)."""
    inst = instalment_of(row)
    plan, org = inst.plan, row.invoice.organization
    owed = owed_now(plan, inst, today)
    row.amount_due = owed
    count = plan.instalments.count()
    with in_language(document_language(plan.customer, org)):
        values = {"n": inst.number, "count": count, "amount": format_money(owed, plan.currency),
                  "date": format_day(inst.due_date, reader_date_locale() or org.locale),
                  "organization": org.name, "customer": plan.customer.name}
        subject = _("Instalment %(n)s of %(count)s of your payment plan: %(amount)s") % values
        when = (_("is due today") if inst.due_date == today else _("was due on %(date)s") % values)
        lines = [_("Dear %(customer)s,") % values, "",
                 _("Instalment %(n)s of %(count)s of the payment plan you agreed with %(organization)s %(when)s. "
                   "%(amount)s is still to be paid for it.") % {**values, "when": when}, "",
                 _("The plan covers:")]
        lines += [f"- {i.number}: {format_money(i.amount_due, i.currency)}" for i in _invoices(plan)
                  if i.amount_due > 0]
        lines += ["", _("If you have already paid, thank you, and please ignore this message."), "", org.name]
    return subject, "\n".join(lines)
