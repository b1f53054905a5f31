"""Staff pages for payment plans (issue 19 #7), logging a call, and a customer's activity log (#6)."""

import uuid

from django import forms
from django.contrib import messages
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Customer, Role
from accounts.money import format_money
from accounts.permissions import can, org_view
from invoicing.models import InvoiceKind
from reminders import activity, plans, portal
from reminders.models_plans import CallOutcome, ContactKind, ContactLog, PaymentPlan, PlanStatus


class PlanForm(forms.Form):
    invoices = forms.TypedMultipleChoiceField(label=gettext_lazy("Invoices in the plan"), coerce=int,
                                              widget=forms.CheckboxSelectMultiple)
    count = forms.IntegerField(label=gettext_lazy("Number of instalments"), min_value=1,
                               max_value=plans.MAX_INSTALMENTS, initial=3)
    first = forms.DateField(label=gettext_lazy("First instalment on"), widget=forms.DateInput(attrs={"type": "date"}))
    every_days = forms.IntegerField(label=gettext_lazy("Then every (days)"), min_value=1, max_value=92, initial=30)
    grace_days = forms.IntegerField(label=gettext_lazy("Days of grace per instalment"), min_value=0, max_value=30,
                                    initial=3)
    propose = forms.BooleanField(label=gettext_lazy("Propose it to the customer on their link (they accept it "
                                                    "there); unticked: agreed now"), required=False, initial=True)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)

    def __init__(self, *args, open_invoices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["invoices"].choices = [
            (i.pk, f"{i.number} · {format_money(i.amount_due, i.currency)} · {i.due_date}") for i in open_invoices]


class CallForm(forms.Form):
    kind = forms.ChoiceField(choices=ContactKind.choices, initial=ContactKind.CALL, required=False)
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=[("", "—")] + CallOutcome.choices,
                                required=False)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=1000)
    follow_up = forms.DateField(label=gettext_lazy("Follow up on"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))
    key = forms.CharField(widget=forms.HiddenInput, max_length=32, required=False)
    next = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or ContactKind.CALL
        data["kind"] = kind
        if kind == ContactKind.CALL and not data.get("outcome"):
            self.add_error("outcome", _("Say how the call went."))
        if kind == ContactKind.NOTE:
            data["outcome"] = ""
            if not (data.get("note") or "").strip():
                self.add_error("note", _("A note needs some text."))
        if data.get("note"):
            try:
                data["note"] = portal.check_text(data["note"], 1000)
            except portal.PortalError as e:
                self.add_error("note", str(e))
        return data


def _customer(request, pk):
    return get_object_or_404(Customer.objects.filter(organization=request.org), pk=pk)


def call_form_context(customer) -> dict:
    return {"call_form": CallForm(initial={"key": uuid.uuid4().hex}), "call_outcomes": CallOutcome.choices,
            "call_key": uuid.uuid4().hex, "call_customer": customer}


@org_view(Role.FINANCE)
def plan_create(request, pk):
    customer = _customer(request, pk)
    open_invoices = list(portal.open_invoices(customer.pk).filter(organization=request.org, kind=InvoiceKind.INVOICE))
    today = request.org.today()
    form = PlanForm(request.POST or None, open_invoices=open_invoices, initial={"first": today})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen = [i for i in open_invoices if i.pk in set(data["invoices"])]
        try:
            if len({i.currency for i in chosen}) > 1:
                raise plans.PlanError(_("The invoices of one plan must be in one currency."))
            total = sum((i.amount_due for i in chosen), plans.ZERO)
            amounts = plans.split(total, chosen[0].currency, data["count"])
            days = plans.schedule(data["first"], data["every_days"], data["count"])
            plan = plans.create_plan(customer, data["invoices"], list(zip(days, amounts, strict=True)),
                                     actor=request.user, propose=data["propose"], today=today, note=data["note"],
                                     grace_days=data["grace_days"])
        except plans.PlanError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, (_("Payment plan proposed: the customer sees it on their link.") if
                                       plan.status == PlanStatus.PROPOSED else
                                       _("Payment plan agreed: step reminders pause for its invoices.")))
            return redirect("customer_detail", org_slug=request.org.slug, pk=customer.pk)
    return render(request, "reminders/plan_form.html", {"form": form, "customer": customer})


@require_POST
@org_view(Role.FINANCE)
def plan_cancel(request, pk):
    plan = get_object_or_404(PaymentPlan.objects.filter(organization=request.org), pk=pk)
    plans.cancel(plan, actor=request.user, note=request.POST.get("note", ""))
    messages.success(request, _("Payment plan cancelled; normal reminders resume."))
    return redirect("customer_detail", org_slug=request.org.slug, pk=plan.customer_id)


@require_POST
@org_view(Role.FINANCE)
def call_log(request, pk):
    """Log a call (outcome, note, optional follow-up date) or a note; one per form key."""
    customer = _customer(request, pk)
    form = CallForm(request.POST)
    back = request.POST.get("next", "")
    if not back.startswith(f"/o/{request.org.slug}/") or "//" in back[1:]:
        back = ""
    if not form.is_valid():
        messages.error(request, "; ".join(" ".join(e) for e in form.errors.values()))
    else:
        data = form.cleaned_data
        # One form key per page, made unique per customer: a page lists several customers' forms.
        key = f"{data['key']}:{customer.pk}" if portal.KEY_RE.match(data["key"] or "") else None
        try:
            with transaction.atomic():
                ContactLog.objects.create(organization=request.org, customer=customer, kind=data["kind"],
                                          outcome=data["outcome"], note=data["note"].strip(),
                                          follow_up=data["follow_up"], created_by=request.user, key=key)
        except IntegrityError:
            messages.info(request, _("Already logged."))
        else:
            messages.success(request, _("Call logged.") if data["kind"] == ContactKind.CALL else _("Note added."))
    return redirect(back or reverse("customer_detail", kwargs={"org_slug": request.org.slug, "pk": customer.pk}))


@org_view(Role.VIEWER)
def customer_activity(request, pk):
    customer = _customer(request, pk)
    try:
        page = max(1, min(10_000, int(request.GET.get("page", "1"))))
    except ValueError:
        page = 1
    items, more = activity.page_of(customer, page)
    can_log = can(request, Role.FINANCE)
    return render(request, "reminders/activity.html", {
        "customer": customer, "items": items, "page": page, "more": more, "can_log": can_log,
        **call_form_context(customer)})
