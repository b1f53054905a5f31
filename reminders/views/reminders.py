"""Reminder pages: upcoming, the sent log, policies, holds, "send reminder", worker health."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.ledger import new_idempotency_key
from accounts.locale import DOCUMENT_LANGUAGES, organization_language
from accounts.models import Customer, Role
from accounts.models_org import today_in
from accounts.money import format_money
from accounts.permissions import can, org_view
from accounts.views.audit import history
from invoicing.models import Invoice, InvoiceEvent, InvoiceKind
from invoicing.models_documents import EmailDelivery
from ledger_site.queue import queue_health, recent_failures
from reminders import activity, holds, portal
from reminders.forms import (
    LANGUAGE_NAMES,
    CustomerReminderForm,
    ManualSendForm,
    PolicyForm,
    PromiseForm,
    ReminderSettingsForm,
    StepFormSet,
)
from reminders.late_fees import step_fee
from reminders.models import (
    CustomerReminderSettings,
    OutboxKind,
    OutboxStatus,
    PromiseToPay,
    ReminderMessage,
    ReminderPolicy,
    ReminderStep,
)
from reminders.models_collections import BalanceAssertion, PortalAction
from reminders.models_plans import PaymentPlan
from reminders.outbox import deliver, queue_manual, render_message
from reminders.policy import PLACEHOLDERS, missing_languages, points
from reminders.policy import render as render_template
from reminders.reply_address import send_verification
from reminders.scheduler import local_today, next_step_id, upcoming
from reminders.setup import ensure_setup
from reminders.views.plans import call_form_context

HOLD_LABELS = {"disputed": gettext_lazy("disputed"), "promise": gettext_lazy("promise to pay"),
               "do_not_remind": gettext_lazy("do not remind"), "plan": gettext_lazy("in a payment plan"),
               "held": gettext_lazy("held until a day")}


def _settings(request):
    return ensure_setup(request.org)


def _tabs(request, current):
    tabs = [("reminder_list", _("Upcoming")), ("dispute_list", _("Disputes")), ("reminder_log", _("Sent log")),
            ("reminder_batches", _("Customer e-mails")), ("reminder_policies", _("Policies"))]
    if can(request, Role.FINANCE):
        tabs.insert(0, ("worklist", _("Today")))
    if can(request, Role.OWNER):
        tabs += [("reminder_settings", _("Settings")), ("reminder_health", _("Sending status"))]
    return [{"name": name, "label": label, "current": name == current} for name, label in tabs]


# --- Upcoming ---------------------------------------------------------------------------

@org_view(Role.VIEWER)
def reminder_list(request):
    settings = _settings(request)
    now = timezone.now()
    items, total = upcoming(request.org.pk, now, days=7)
    return render(request, "reminders/upcoming.html", {
        "tabs": _tabs(request, "reminder_list"), "items": items, "total": total, "settings": settings,
        "today": local_today(now, settings), "hold_labels": HOLD_LABELS,
    })


@require_POST
@org_view(Role.FINANCE)
def reminder_skip(request):
    """Skip one upcoming point: it is recorded as skipped, so the scan never sends it."""
    try:
        invoice_pk, offset = int(request.POST.get("invoice", "")), int(request.POST.get("offset", ""))
    except ValueError:
        messages.error(request, _("Choose a reminder to skip."))
        return redirect("reminder_list", org_slug=request.org.slug)
    invoice = get_object_or_404(Invoice.objects.filter(organization=request.org), pk=invoice_pk)
    step_pk = request.POST.get("step", "")
    step = ReminderStep.objects.filter(organization=request.org, pk=int(step_pk)).first() if step_pk.isdigit() else None
    settings = _settings(request)
    due_at = datetime.combine(invoice.due_date + timedelta(days=offset), time(settings.send_hour),
                              tzinfo=settings.zone)
    row, created = ReminderMessage.objects.get_or_create(
        invoice=invoice, offset_days=offset, kind=OutboxKind.SCHEDULED,
        defaults={"organization": request.org, "customer_id": invoice.customer_id, "status": OutboxStatus.SKIPPED,
                  "step": step, "tone": step.tone if step else "friendly", "due_at": due_at,
                  "result": _("Skipped by %(user)s.") % {"user": request.user}, "created_by": request.user})
    if created:
        messages.success(request, _("The day %(d)+d reminder for %(n)s will not be sent.") % {
            "d": offset, "n": invoice.number})
    else:
        messages.info(request, _("That reminder was already %(status)s.") % {"status": row.get_status_display()})
    return redirect("reminder_list", org_slug=request.org.slug)


# --- Sent log -----------------------------------------------------------------------------

@org_view(Role.VIEWER)
def reminder_log(request):
    rows = (ReminderMessage.objects.filter(organization=request.org)
            .select_related("invoice", "customer").order_by("-due_at", "-pk"))
    status = request.GET.get("status", "")
    if status in OutboxStatus.values:
        rows = rows.filter(status=status)
    kind = request.GET.get("kind", "")
    if kind in OutboxKind.values:
        rows = rows.filter(kind=kind)
    q = request.GET.get("q", "").strip()
    if q:
        rows = rows.filter(Q(invoice__number__icontains=q) | Q(customer__name__icontains=q)
                           | Q(to_emails__icontains=q))
    date_from, date_to = request.GET.get("from", ""), request.GET.get("to", "")
    try:
        if date_from:
            rows = rows.filter(due_at__date__gte=datetime.strptime(date_from, "%Y-%m-%d").date())
        if date_to:
            rows = rows.filter(due_at__date__lte=datetime.strptime(date_to, "%Y-%m-%d").date())
    except ValueError:
        messages.error(request, _("Dates are written YYYY-MM-DD."))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    return render(request, "reminders/log.html", {
        "tabs": _tabs(request, "reminder_log"), "page": page, "status": status, "kind": kind, "q": q,
        "date_from": date_from, "date_to": date_to, "statuses": OutboxStatus.choices, "kinds": OutboxKind.choices,
    })


@require_POST
@org_view(Role.FINANCE)
def reminder_retry(request, pk):
    """Try a waiting or failed message again now (a failed one gets one more attempt)."""
    row = get_object_or_404(ReminderMessage.objects.filter(organization=request.org), pk=pk)
    org_id = request.org.pk
    if row.batch_id is not None and row.status == OutboxStatus.PENDING and row.customer.email_list:
        # Waiting in the customer's one e-mail of the day: that e-mail is tried now.
        waiting = EmailDelivery.objects.filter(pk=row.batch.email_id, status=OutboxStatus.PENDING)
        waiting.update(next_attempt_at=timezone.now())
        transaction.on_commit(lambda: deliver(org_id))
        messages.success(request, _("Trying again now."))
    elif row.status in (OutboxStatus.PENDING, OutboxStatus.FAILED) and row.customer.email_list:
        # A failed row of a consolidated e-mail is tried again on its own, as its own message.
        alone = {"batch": None, "message_id": ""} if row.batch_id else {}
        ReminderMessage.objects.filter(pk=row.pk, status=row.status).update(
            status=OutboxStatus.PENDING, next_attempt_at=timezone.now(), attempts=min(row.attempts, 6), **alone)
        transaction.on_commit(lambda: deliver(org_id, ids=[row.pk]))
        messages.success(request, _("Trying again now."))
    else:
        messages.error(request, _("Only a waiting or failed message with an address can be retried."))
    return redirect("reminder_log", org_slug=request.org.slug)


# --- Policies -----------------------------------------------------------------------------

@org_view(Role.VIEWER)
def reminder_policies(request):
    _settings(request)
    policies = ReminderPolicy.objects.filter(organization=request.org).prefetch_related("steps")
    return render(request, "reminders/policies.html", {
        "tabs": _tabs(request, "reminder_policies"), "policies": policies,
        "can_edit": can(request, Role.FINANCE),
    })


def _sample_schedule(org, policy, steps, settings):
    """The schedule for a sample invoice of 1,250.00 due a week from today: date, tone, subject, fee."""
    today = today_in(org)
    due = today + timedelta(days=7)
    amount = Decimal("1250.00")
    rows = []
    for point in points(policy, steps):
        on = point.on(due)
        fee = step_fee(point, org, org.base_currency, amount, today)[0]
        values = {**PLACEHOLDERS, "amount_due": format_money(amount, org.base_currency),
                  "due_date": due.isoformat(), "days_overdue": str(max(0, (on - due).days)),
                  "organization": org.name, "late_fee": format_money(fee, org.base_currency) if fee else ""}
        try:
            subject = render_template(point.subject, values)
        except ValueError:
            subject = point.subject
        rows.append({"point": point, "on": on, "subject": subject,
                     "fee": format_money(fee, org.base_currency) if fee else ""})
    return {"due": due, "amount": format_money(amount, org.base_currency), "rows": rows,
            "currency": org.base_currency}


@org_view(Role.FINANCE)
def reminder_policy_edit(request, pk=None):
    settings = _settings(request)
    policy = get_object_or_404(ReminderPolicy.objects.filter(organization=request.org), pk=pk) if pk else None
    form = PolicyForm(request.POST or None, instance=policy, org=request.org)
    formset = StepFormSet(request.POST or None, instance=policy or ReminderPolicy(organization=request.org),
                          prefix="steps", form_kwargs={"currency": request.org.base_currency,
                                                        "language": organization_language(request.org)})
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.organization = request.org
            if saved.is_default:
                ReminderPolicy.objects.filter(organization=request.org, is_default=True).exclude(
                    pk=saved.pk).update(is_default=False)
            saved.save()
            formset.instance = saved
            steps = formset.save(commit=False)
            for obj in formset.deleted_objects:
                obj.delete()
            # Two steps may swap days: clear the changed offsets first so the unique key never trips.
            changed = [s for s in steps if s.pk]
            for n, s in enumerate(changed):
                ReminderStep.objects.filter(pk=s.pk).update(offset_days=1000 + n)
            for s in steps:
                s.organization, s.policy = request.org, saved
                s.save()
            for step_form in formset.forms:  # each kept step's fees per currency, once the step has its row
                if step_form.instance.pk and step_form not in formset.deleted_forms:
                    step_form.save_currency_fees(step_form.instance)
        messages.success(request, _("Policy “%(name)s” saved.") % {"name": saved.name})
        return redirect("reminder_policy", org_slug=request.org.slug, pk=saved.pk)
    preview = None
    if policy is not None:
        preview = _sample_schedule(request.org, policy, list(policy.steps.all()), settings)
    return render(request, "reminders/policy_form.html", {
        "tabs": _tabs(request, "reminder_policies"), "form": form, "formset": formset, "policy": policy,
        "preview": preview, "placeholders": list(PLACEHOLDERS), "settings": settings,
    })


@org_view(Role.VIEWER)
def reminder_policy(request, pk):
    settings = _settings(request)
    policy = get_object_or_404(ReminderPolicy.objects.filter(organization=request.org), pk=pk)
    steps = list(policy.steps.all())
    customers = CustomerReminderSettings.objects.filter(organization=request.org, policy=policy).count()
    language = organization_language(request.org)
    others = [lang for lang in DOCUMENT_LANGUAGES if lang != language]
    missing = {s.pk: [str(LANGUAGE_NAMES[lang]) for lang in missing_languages(s, language, others)] for s in steps}
    return render(request, "reminders/policy_detail.html", {
        "tabs": _tabs(request, "reminder_policies"), "policy": policy, "steps": steps,
        "missing": missing, "default_language": LANGUAGE_NAMES.get(language, language),
        "preview": _sample_schedule(request.org, policy, steps, settings), "settings": settings,
        "customers": customers, "can_edit": can(request, Role.FINANCE),
        "history": history(request.org, Q(table_name="reminders_reminderpolicy", object_id=policy.pk)
                           | Q(table_name="reminders_reminderstep", after__policy_id=policy.pk)
                           | Q(table_name="reminders_reminderstep", before__policy_id=policy.pk)),
        "history_filter": "kind=reminders_reminderpolicy",
    })


# --- Settings, customers, promises ----------------------------------------------------------

@org_view(Role.OWNER)
def reminder_settings(request):
    settings = _settings(request)
    form = ReminderSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        new_reply = "reply_to" in form.changed_data
        saved = form.save()
        if new_reply:  # a new address is not verified until its link is opened
            saved.reply_to_verified_at = None
            saved.save(update_fields=["reply_to_verified_at"])
        if new_reply and saved.reply_to:
            saved.organization = request.org
            transaction.on_commit(lambda: send_verification(saved, request.org.name))
            messages.info(request, _("We e-mailed a link to %(a)s: replies go there once it is confirmed.")
                          % {"a": saved.reply_to})
        messages.success(request, _("Reminder settings saved."))
        return redirect("reminder_settings", org_slug=request.org.slug)
    return render(request, "reminders/settings.html", {
        "tabs": _tabs(request, "reminder_settings"), "form": form,
        "history": history(request.org, Q(table_name="reminders_remindersettings")),
        "history_filter": "kind=reminders_remindersettings",
    })


@org_view(Role.FINANCE)
def reminder_customer(request, pk):
    customer = get_object_or_404(Customer.objects.filter(organization=request.org), pk=pk)
    instance = CustomerReminderSettings.objects.filter(customer=customer).first() or CustomerReminderSettings(
        organization=request.org, customer=customer)
    form = CustomerReminderForm(request.POST or None, instance=instance, org=request.org)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Reminder settings for %(name)s saved.") % {"name": customer.name})
        return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)
    return render(request, "reminders/customer_form.html", {"form": form, "customer": customer})


def customer_panel(request, customer):
    """The Reminders box on the customer page (accounts.views.customers.CUSTOMER_DETAIL_PANELS)."""
    return "reminders/_customer_panel.html", {
        "customer": customer,
        "settings": CustomerReminderSettings.objects.filter(customer=customer).select_related("policy").first(),
        "default_policy": ReminderPolicy.objects.filter(organization_id=customer.organization_id,
                                                        is_default=True).first(),
        "can_edit": can(request, Role.FINANCE),
        **_customer_activity(customer),
        **_customer_plans(customer),
    }


def _customer_plans(customer) -> dict:
    """Payment plans (live ones and the last ended), the call form and the latest activity (issue 19 #6, #7)."""

    plans = list(PaymentPlan.objects.filter(customer=customer).prefetch_related("instalments")[:3])
    recent, more = activity.page_of(customer, 1, size=5)
    return {"plans": plans, "recent": recent, "more_activity": more, **call_form_context(customer)}


def _customer_activity(customer) -> dict:
    """The customer's timeline of what they did on their link (issue 19), and the latest balance
    they confirmed or contested with whether the ledger still says it (a fixed number of queries)."""

    assertion = BalanceAssertion.objects.filter(customer=customer).first()
    return {"activity": list(PortalAction.objects.filter(customer=customer).select_related("invoice")[:10]),
            "assertion": assertion, "assertion_holds": assertion is not None and portal.recheck(assertion)}


def _open_invoice(request, pk):
    return get_object_or_404(Invoice.objects.filter(organization=request.org, kind=InvoiceKind.INVOICE)
                             .select_related("customer"), pk=pk)


@org_view(Role.FINANCE)
def reminder_promise(request, pk):
    invoice = _open_invoice(request, pk)
    settings = _settings(request)
    form = PromiseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            holds.promise_to_pay(invoice, form.cleaned_data["until"], form.cleaned_data["promised_by"],
                                 form.cleaned_data["note"], actor=request.user, today=local_today(
                                     timezone.now(), settings))
        except holds.HoldError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, _("Promise recorded: no reminders until %(d)s.") % {
                "d": form.cleaned_data["until"]})
            return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)
    promises = PromiseToPay.objects.filter(invoice=invoice).select_related("created_by")
    return render(request, "reminders/promise_form.html", {
        "form": form, "invoice": invoice, "promises": promises, "today": local_today(timezone.now(), settings)})


@require_POST
@org_view(Role.FINANCE)
def reminder_promise_cancel(request, pk):
    promise = get_object_or_404(PromiseToPay.objects.filter(organization=request.org), pk=pk)
    holds.cancel_promise(promise, actor=request.user)
    messages.success(request, _("Promise withdrawn; reminders resume."))
    return redirect("reminder_promise", org_slug=request.org.slug, pk=promise.invoice_id)


# --- Send reminder now ----------------------------------------------------------------------

def next_step(invoice, settings, now):
    """The step the schedule would use next for this invoice (the default choice to send by hand):
    what the scheduler decides (reminders.scheduler.next_step_id), never re-derived here."""
    step_id = next_step_id(invoice, now)
    return ReminderStep.objects.filter(organization_id=invoice.organization_id, pk=step_id).first() if step_id else None


@org_view(Role.FINANCE)
def reminder_send(request, pk):
    invoice = _open_invoice(request, pk)
    settings = _settings(request)
    now = timezone.now()
    if request.method == "POST":
        form = ManualSendForm(request.POST, org=request.org)
        if form.is_valid():
            try:
                row, created = queue_manual(invoice, form.cleaned_data["step"], request.user,
                                            form.cleaned_data["key"], now=now)
            except ValueError as e:
                messages.error(request, str(e))
                return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)
            if created:
                org_id, row_id = request.org.pk, row.pk
                # Sent right after this request's transaction commits; if the mail server is down the
                # row stays in the outbox and the worker retries it with backoff.
                transaction.on_commit(lambda: deliver(org_id, ids=[row_id]))
                messages.success(request, _("Reminder for %(n)s is being sent to %(to)s.") % {
                    "n": invoice.number, "to": ", ".join(invoice.customer.email_list)})
            else:
                messages.info(request, _("This reminder was already sent (the form was submitted twice)."))
            return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)
    else:
        default = next_step(invoice, settings, now)
        form = ManualSendForm(request.GET or None, org=request.org,
                              initial={"step": default.pk if default else None, "key": new_idempotency_key()})
        if request.GET:
            form.is_valid()
    step = form.cleaned_data.get("step") if hasattr(form, "cleaned_data") else None
    step = step or next_step(invoice, settings, now)
    subject = body = ""
    problems = []
    if step is not None:
        subject, body = render_message(invoice, step, local_today(now, settings))
    if holds.not_open_reason(invoice):
        problems.append(holds.not_open_reason(invoice))
    problems += holds.active_holds(invoice, local_today(now, settings), settings)
    key = request.POST.get("key") or request.GET.get("key") or new_idempotency_key()
    recent = (ReminderMessage.objects.filter(invoice=invoice).exclude(status=OutboxStatus.SKIPPED)
              .order_by("-due_at")[:5])
    events = InvoiceEvent.objects.filter(invoice=invoice, kind="reminder").order_by("-at")[:5]
    return render(request, "reminders/send.html", {
        "invoice": invoice, "form": form, "step": step, "subject": subject, "body": body, "key": key,
        "emails": invoice.customer.email_list, "problems": problems, "recent": recent, "events": events,
    })


# --- Worker health ---------------------------------------------------------------------------

@org_view(Role.OWNER)
def reminder_health(request):
    settings = _settings(request)
    now = timezone.now()
    # The queue's tables are the worker's (issue 22 #9): counts, the scan's next run and the
    # names and times of failed tasks only, through ledger_queue_health / ledger_task_failures.
    depth, waiting, next_scan = queue_health("reminders.tasks.run_scan")
    failures = recent_failures("reminders.")
    outbox = {s: ReminderMessage.objects.filter(organization=request.org, status=s).count()
              for s in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)}
    stale = settings.last_scan_at is None or now - settings.last_scan_at > timedelta(minutes=35)
    return render(request, "reminders/health.html", {
        "tabs": _tabs(request, "reminder_health"), "settings": settings, "next_scan": next_scan,
        "queue_depth": depth, "queue_waiting": waiting, "failures": failures, "outbox": outbox,
        "stale": stale, "retrying": ReminderMessage.objects.filter(
            organization=request.org, status=OutboxStatus.PENDING, attempts__gt=0).select_related("invoice")[:10],
    })
