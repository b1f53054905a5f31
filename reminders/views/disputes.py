"""Disputes, staff side (issue 19 #2): the queue, one dispute's page (thread, assignee, resolve),
and raising one for an invoice. Under /o/<org_slug>/reminders/disputes/."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.forms_fields import NumberField
from accounts.models import Membership, Role
from accounts.permissions import can, org_view
from invoicing.models import Invoice, InvoiceKind
from reminders import attachments, disputes
from reminders.models_collections import (
    Dispute,
    DisputeAttachment,
    DisputeOutcome,
    DisputeReason,
    DisputeStatus,
    Source,
)
from reminders.views.reminders import _tabs

STATUS_FILTERS = {"active": ~Q(status=DisputeStatus.RESOLVED), "open": Q(status=DisputeStatus.OPEN),
                  "waiting": Q(status=DisputeStatus.WAITING), "resolved": Q(status=DisputeStatus.RESOLVED)}


def _staff(org):
    """Members who may own a dispute (finance and owners)."""
    ids = Membership.objects.filter(organization=org, role__in=[Role.FINANCE, Role.OWNER]).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("email")


class DisputeForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=DisputeReason.choices)
    lines = forms.TypedMultipleChoiceField(label=gettext_lazy("Disputed lines"), coerce=int, required=False,
                                           choices=(), widget=forms.CheckboxSelectMultiple)
    amount = NumberField(label=gettext_lazy("Or the disputed amount"), required=False, max_digits=18,
                         decimal_places=3, help_text=gettext_lazy("Empty with no lines: the whole amount due."))
    message = forms.CharField(label=gettext_lazy("What the customer says"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
    assignee = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None, required=False)

    def __init__(self, *args, invoice, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].choices = [(line.pk, f"{line.description} ({line.net_amount + line.tax_amount})")
                                        for line in invoice.lines.all()]
        self.fields["assignee"].queryset = _staff(org)


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=gettext_lazy("Outcome"), choices=DisputeOutcome.choices)
    note = forms.CharField(label=gettext_lazy("Note (required)"), max_length=2000, widget=forms.Textarea(
        attrs={"rows": 3}), help_text=gettext_lazy("What was decided and why; the customer's history keeps it."))


class ReplyForm(forms.Form):
    body = forms.CharField(label=gettext_lazy("Message"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None, required=False)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = _staff(org)


@org_view(Role.VIEWER)
def dispute_list(request):
    status = request.GET.get("status", "active")
    rows = (Dispute.objects.filter(organization=request.org)
            .filter(STATUS_FILTERS.get(status, STATUS_FILTERS["active"]))
            .select_related("invoice", "customer", "assignee").order_by("created_at", "pk"))
    mine = request.GET.get("owner")
    if mine == "me":
        rows = rows.filter(assignee=request.user)
    elif mine == "none":
        rows = rows.filter(assignee__isnull=True)
    today = request.org.today()
    zone = request.org.zone
    page = [{"d": d, "age": (today - d.created_at.astimezone(zone).date()).days} for d in rows[:500]]

    return render(request, "reminders/disputes.html", {
        "tabs": _tabs(request, "dispute_list"), "rows": page, "status": status, "owner": mine or "", "statuses": [
            ("active", _("Not resolved")), ("open", _("Open")), ("waiting", _("Waiting for customer")),
            ("resolved", _("Resolved"))]})


def _dispute(request, pk) -> Dispute:
    return get_object_or_404(Dispute.objects.filter(organization=request.org)
                             .select_related("invoice", "customer", "assignee", "resolved_by"), pk=pk)


@org_view(Role.VIEWER)
def dispute_detail(request, pk):
    d = _dispute(request, pk)
    lines = {line.pk: line for line in d.invoice.lines.all()}
    return render(request, "reminders/dispute_detail.html", {
        "d": d, "thread": d.messages.select_related("author"), "lines": [lines[i] for i in d.line_ids if i in lines],
        "history": Dispute.objects.filter(invoice=d.invoice).exclude(pk=d.pk).select_related("resolved_by"),
        "can_act": can(request, Role.FINANCE) and d.is_open,
        "attachments": attachments.listing(d.attachments.all()), "max_file": attachments.MAX_FILE_BYTES,
        "max_files": attachments.MAX_FILES,
        "resolve_form": ResolveForm(), "reply_form": ReplyForm(), "assign_form": AssignForm(
            org=request.org, initial={"assignee": d.assignee_id})})


@require_POST
@org_view(Role.FINANCE)
def dispute_resolve(request, pk):
    d = _dispute(request, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            disputes.resolve(d, outcome=form.cleaned_data["outcome"], note=form.cleaned_data["note"],
                             actor=request.user)
        except disputes.DisputeError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _("Dispute resolved."))
    else:
        messages.error(request, _("Resolving a dispute needs an outcome and a note saying what was decided."))
    return redirect("dispute_detail", org_slug=request.org.slug, pk=d.pk)


@require_POST
@org_view(Role.FINANCE)
def dispute_reply(request, pk):
    d = _dispute(request, pk)
    form = ReplyForm(request.POST)
    if form.is_valid() and d.is_open:
        disputes.add_message(d, form.cleaned_data["body"], from_customer=False, actor=request.user)
        messages.success(request, _("Message added; the dispute now waits for the customer."))
    else:
        messages.error(request, _("Write a message (a resolved dispute takes none)."))
    return redirect("dispute_detail", org_slug=request.org.slug, pk=d.pk)


@require_POST
@org_view(Role.FINANCE)
def dispute_assign(request, pk):
    d = _dispute(request, pk)
    form = AssignForm(request.POST, org=request.org)
    if form.is_valid():
        Dispute.objects.filter(pk=d.pk).update(assignee=form.cleaned_data["assignee"])
        messages.success(request, _("Owner changed."))
    return redirect("dispute_detail", org_slug=request.org.slug, pk=d.pk)


@require_POST
@org_view(Role.FINANCE)
def dispute_attach(request, pk):
    """Staff attach their own files (a signed delivery note, a photo of the goods) to an open dispute."""
    d = _dispute(request, pk)
    try:
        added = attachments.attach(d, request.FILES.getlist("files"), actor=request.user)
    except attachments.AttachmentError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, ngettext("%(n)d file attached.", "%(n)d files attached.", len(added))
                         % {"n": len(added)})
    return redirect(reverse("dispute_detail", kwargs={"org_slug": request.org.slug, "pk": d.pk}) + "#attachments")


@require_GET
@org_view(Role.VIEWER)
def dispute_attachment(request, pk, file_pk):
    """One file of this organization's dispute, as a download (another organization's: 404)."""
    found = get_object_or_404(DisputeAttachment.objects.filter(organization=request.org, dispute_id=pk), pk=file_pk)
    return attachments.response(found)


@org_view(Role.FINANCE)
def dispute_create(request, pk):
    invoice = get_object_or_404(Invoice.objects.filter(organization=request.org, kind=InvoiceKind.INVOICE)
                                .select_related("customer"), pk=pk)
    form = DisputeForm(request.POST or None, invoice=invoice, org=request.org)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            d = disputes.raise_dispute(invoice, reason=data["reason"], amount=data["amount"], line_ids=data["lines"],
                                       message=data["message"], source=Source.STAFF, actor=request.user,
                                       assignee=data["assignee"] or request.user)
        except disputes.DisputeError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, _("Dispute recorded; reminders skip the disputed part."))
            return redirect("dispute_detail", org_slug=request.org.slug, pk=d.pk)
    return render(request, "reminders/dispute_form.html", {
        "form": form, "invoice": invoice, "history": Dispute.objects.filter(invoice=invoice)})
