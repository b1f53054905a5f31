"""The customer portal pages (/p/<token>/account/...): no login; the token sets the tenant.

GET the account page; POST an action (dispute, promise, balance) then back to the page
(post/redirect/get) with what happened in the query string. See reminders.portal for the rules.
"""

import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from django import forms
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.auth import client_ip
from accounts.forms_fields import NumberField
from accounts.ledger import customer_balance
from accounts.money import quantum
from invoicing.hooks import STATEMENT_PDF
from invoicing.views.documents import gone_when_expired, is_member, pdf_response, public_headers, public_link
from ledger_site.tenancy import tenant_context
from reminders import attachments, portal, reply_address
from reminders.models_collections import Dispute, DisputeAttachment, DisputeReason, DisputeStatus

DONE = {
    "dispute": gettext_lazy("Thank you: your dispute has been sent. We will look into it and answer you."),
    "promise": gettext_lazy("Thank you: your promise to pay has been recorded."),
    "confirm": gettext_lazy("Thank you for confirming your balance."),
    "contest": gettext_lazy("Thank you: we have noted that you do not agree with the balance and will be in touch."),
    "again": gettext_lazy("This was already sent; nothing more was done."),
    "plan": gettext_lazy("Thank you: your payment plan is agreed. We will remind you of each instalment."),
    "copy": gettext_lazy("A copy is on its way to the e-mail address we have on file for you."),
}


def money_field(label, required=True) -> NumberField:
    """An amount as the customer types it, read by the one parser (accounts.locale) in the
    organization's number format: "1,250.00" (en_GB), "1.250,00" (de_DE)."""
    return NumberField(label=label, required=required, max_digits=18, decimal_places=3)


class MachineAmountField(forms.CharField):
    """An amount the page itself wrote into a hidden input (str(Decimal), "1234.56"), never typed
    by a person, so not read with the organization's number format."""

    def clean(self, value):
        value = super().clean(value)
        try:
            amount = Decimal(value)
        except InvalidOperation as e:
            raise forms.ValidationError(_("The page was changed; reload it.")) from e
        if not amount.is_finite():
            raise forms.ValidationError(_("The page was changed; reload it."))
        return amount


class DisputeForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)
    reason = forms.ChoiceField(label=gettext_lazy("Reason"), choices=DisputeReason.choices)
    lines = forms.TypedMultipleChoiceField(label=gettext_lazy("Lines in question"), coerce=int, required=False,
                                           choices=(), widget=forms.CheckboxSelectMultiple)
    amount = money_field(gettext_lazy("Or the amount in question"), required=False)
    message = forms.CharField(label=gettext_lazy("Message"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invoice is not None:
            self.fields["lines"].choices = [(line.pk, line.description) for line in invoice.lines.all()]


class PromiseForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)
    until = forms.DateField(label=gettext_lazy("I will pay by"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = money_field(gettext_lazy("Amount"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=500)


class BalanceForm(forms.Form):
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)
    as_of = forms.DateField(widget=forms.HiddenInput)
    balance = MachineAmountField(widget=forms.HiddenInput, max_length=30)
    answer = forms.ChoiceField(choices=[("confirm", "confirm"), ("contest", "contest")])
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=1000)


class PlanAcceptForm(forms.Form):
    plan = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)


class CopyForm(forms.Form):
    invoice = forms.IntegerField(widget=forms.HiddenInput)
    key = forms.CharField(widget=forms.HiddenInput, max_length=32)


def _key() -> str:
    return uuid.uuid4().hex


def _page(request, token, link, *, error=None, status=200):
    invoice = link.invoice
    customer, org = invoice.customer, invoice.organization
    today = invoice.today
    switches = portal.switches(org.pk)
    invoices = list(portal.open_invoices(customer.pk).prefetch_related("lines"))
    open_disputes = {}
    files = Prefetch("attachments", queryset=attachments.listing(DisputeAttachment.objects.all()))
    for d in (Dispute.objects.filter(customer_id=customer.pk).exclude(status=DisputeStatus.RESOLVED)
              .prefetch_related(files)):
        open_disputes.setdefault(d.invoice_id, []).append(d)
    retry = _dispute_retry(request)
    rows = [{"invoice": i, "overdue": i.is_overdue_on(today), "disputes": open_disputes.get(i.pk, []),
             "dispute_again": retry if retry and retry["invoice"] == str(i.pk) else None,
             "lines": [(line, line.net_amount + line.tax_amount) for line in i.lines.all()],
             "dispute_key": _key(), "promise_key": _key(), "copy_key": _key(),
             # The promise form suggests what is not in dispute, in the currency's minor units.
             "promise_default": (i.amount_due - i.disputed_part_on(today)).quantize(quantum(i.currency))}
            for i in invoices]
    balance = customer_balance(customer, today)
    response = render(request, "public/account.html", {
        "token": token, "seller": org, "customer": customer, "rows": rows, "today": today,
        "movements": portal.recent_movements(customer.pk, today), "balance": balance,
        "currency": customer.currency, "switches": switches, "reasons": DisputeReason.choices,
        "key": _key(), "error": error, "done": DONE.get(request.GET.get("done", "")),
        "statement": switches.portal_statement and "customer" in STATEMENT_PDF,
        "plans": [(p, _key()) for p in portal.proposed_plans(customer.pk)],
        "max_file": attachments.MAX_FILE_BYTES, "max_files": attachments.MAX_FILES,
    }, status=status)
    response = public_headers(response)
    # The page posts forms to itself: "no-referrer" would make the browser send "Origin: null" and fail
    # the CSRF origin check. "same-origin" still never sends the token-bearing URL to another site.
    response["Referrer-Policy"] = "same-origin"
    return response


def _dispute_retry(request) -> dict | None:
    """A refused dispute's form comes back open with what was typed (a browser never keeps chosen files)."""
    if request.method != "POST" or request.resolver_match.url_name != "portal_dispute":
        return None
    post = request.POST
    return {"invoice": post.get("invoice", ""), "reason": post.get("reason", ""), "amount": post.get("amount", ""),
            "message": post.get("message", ""), "lines": post.getlist("lines")}


def _back(token, done):
    return redirect(reverse("portal_account", kwargs={"token": token}) + f"?done={done}")


@gone_when_expired
@require_GET
def account(request, token):
    with public_link(token) as link:
        return _page(request, token, link)


def _act(request, token, form_class, switch, run):
    """The shared shape of an action: the link, the switch, the rate limit, the form, the key."""
    with public_link(token) as link:
        if switch and not getattr(portal.switches(link.organization_id), switch):
            raise Http404
        ip = client_ip(request)
        invoice = None
        if "invoice" in form_class.base_fields:
            invoice = portal.invoice_of(link, request.POST.get("invoice"))
            if invoice is None:
                raise Http404  # not an open invoice of this customer: someone else's, or made up
        form = form_class(request.POST, **({"invoice": invoice} if form_class is DisputeForm else {}))
        if not form.is_valid():
            error = "; ".join(f"{form.fields[f].label or f}: {' '.join(e)}" if f in form.fields else " ".join(e)
                              for f, e in form.errors.items())
            return _page(request, token, link, error=error, status=400)
        if not is_member(request, link.organization_id) and not portal.allow(link, ip):
            return _page(request, token, link, error=_("Too many requests from your address; please try again in an "
                                                          "hour."), status=429)
        try:
            done = run(link, form.cleaned_data, invoice, ip)
        except portal.PlanNotFound as e:
            raise Http404 from e
        except portal.AlreadyDone:
            done = "again"
        except portal.PortalError as e:
            return _page(request, token, link, error=str(e), status=400)
    return _back(token, done)


@gone_when_expired
@require_POST
def dispute(request, token):
    def run(link, data, invoice, ip):
        portal.dispute(link, invoice=invoice, reason=data["reason"], amount=data["amount"],
                       line_ids=data["lines"], message=data["message"], key=data["key"], ip=ip,
                       files=request.FILES.getlist("files"))
        return "dispute"
    return _act(request, token, DisputeForm, "portal_disputes", run)


@gone_when_expired
@require_POST
def promise(request, token):
    def run(link, data, invoice, ip):
        portal.promise(link, invoice=invoice, until=data["until"], amount=data["amount"], note=data["note"],
                       key=data["key"], ip=ip, today=invoice.today)
        return "promise"
    return _act(request, token, PromiseForm, "portal_promises", run)


@gone_when_expired
@require_POST
def balance(request, token):
    def run(link, data, invoice, ip):
        if data["as_of"] > link.invoice.today or data["as_of"] < date(2000, 1, 1):
            raise portal.PortalError(_("That date is not one we showed you."))
        portal.assert_balance(link, confirmed=data["answer"] == "confirm", as_of=data["as_of"],
                              balance=data["balance"], note=data["note"], key=data["key"], ip=ip)
        return data["answer"]
    return _act(request, token, BalanceForm, "portal_balance", run)


@gone_when_expired
@require_POST
def plan_accept(request, token):
    """Accept a payment plan proposed by the organization (reminders.plans.accept)."""
    def run(link, data, invoice, ip):
        portal.accept_plan(link, plan_id=data["plan"], key=data["key"], ip=ip, today=link.invoice.today)
        return "plan"
    return _act(request, token, PlanAcceptForm, None, run)


@gone_when_expired
@require_POST
def copy(request, token):
    """Ask for a copy of an invoice: e-mailed to the billing address on file (portal.ask_for_copy)."""
    def run(link, data, invoice, ip):
        portal.ask_for_copy(link, invoice=invoice, key=data["key"], ip=ip, base_url=request.build_absolute_uri("/"))
        return "copy"
    return _act(request, token, CopyForm, None, run)


@gone_when_expired
@require_GET
def attachment(request, token, pk):
    """A file on one of the customer's disputes, as a download; another customer's: 404."""
    with public_link(token) as link:
        found = portal.attachment_of(link, pk)
        if found is None:
            raise Http404
        return public_headers(attachments.response(found))


@gone_when_expired
@require_GET
def statement_pdf(request, token):
    with public_link(token) as link:
        if not portal.switches(link.organization_id).portal_statement or "customer" not in STATEMENT_PDF:
            raise Http404
        pdf = STATEMENT_PDF["customer"](link.invoice.customer, link.invoice.today)
        if not is_member(request, link.organization_id):
            portal.record_statement(link, client_ip(request))
        response: HttpResponse = pdf_response(request, pdf, download=True)
    return public_headers(response)


@require_GET
def reply_to_verify(request, token):
    """The link e-mailed to an organization's new reply address (reminders.reply_address)."""

    parsed = reply_address.parse(token)
    if parsed is None:
        raise Http404
    with tenant_context(parsed[0]):
        ok = reply_address.verify(*parsed)
    if not ok:
        raise Http404
    return public_headers(HttpResponse(_("Thank you: %(a)s now receives replies to reminders.") % {"a": parsed[1]},
                                       content_type="text/plain; charset=utf-8"))
