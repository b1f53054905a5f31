"""A customer's credit limit and payment terms (accounts.credit_terms): finance proposes, an owner
approves or rejects (or changes them directly); every proposal and decision is listed."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts import credit_terms
from accounts.models import CreditTermsProposal, Customer, ProposalStatus, Role
from accounts.permissions import can, org_view


class TermsForm(forms.Form):
    credit_limit = forms.CharField(label=gettext_lazy("Credit limit (0 means no limit)"), max_length=30)
    payment_terms_days = forms.CharField(label=gettext_lazy("Payment terms (days)"), max_length=5)
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=1000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


@org_view(Role.FINANCE)
def credit_terms_page(request, pk):
    customer = get_object_or_404(Customer.objects.filter(organization=request.org), pk=pk)
    is_owner = can(request, Role.OWNER)
    initial = {"credit_limit": customer.credit_limit, "payment_terms_days": customer.payment_terms_days}
    form = TermsForm(request.POST or None, initial=initial)
    if is_owner:
        del form.fields["reason"]  # an owner's change is logged; a reason is asked of proposals
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                if is_owner:
                    credit_terms.change(customer, actor=request.user, credit_limit=data["credit_limit"],
                                        payment_terms_days=data["payment_terms_days"])
                    messages.success(request, _("Credit terms changed."))
                else:
                    credit_terms.propose(customer, actor=request.user, credit_limit=data["credit_limit"],
                                         payment_terms_days=data["payment_terms_days"], reason=data.get("reason"))
                    messages.success(request, _("Proposed. The owners are told by e-mail; nothing changes until "
                                                "one approves."))
                return redirect("credit_terms", org_slug=request.org.slug, pk=customer.pk)
            except credit_terms.CreditTermsError as e:
                form.add_error(None, str(e))
        status = 400
    proposals = (CreditTermsProposal.objects.filter(organization=request.org, customer=customer)
                 .select_related("proposed_by", "decided_by")[:50])
    pending = next((p for p in proposals if p.status == ProposalStatus.PENDING), None)
    return render(request, "accounts/credit_terms.html", {
        "customer": customer, "form": form, "is_owner": is_owner, "proposals": proposals, "pending": pending,
    }, status=status)


@require_POST
@org_view(Role.OWNER)
def credit_terms_decide(request, pk, proposal_pk):
    proposal = get_object_or_404(CreditTermsProposal.objects.filter(organization=request.org, customer_id=pk),
                                 pk=proposal_pk)
    action, note = request.POST.get("action"), request.POST.get("note", "")[:1000]
    try:
        if action == "approve":
            credit_terms.approve(proposal, actor=request.user, note=note)
            messages.success(request, _("Approved: the customer's credit terms are changed."))
        elif action == "reject":
            credit_terms.reject(proposal, actor=request.user, note=note)
            messages.success(request, _("Rejected; nothing changed."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except credit_terms.CreditTermsError as e:
        messages.error(request, str(e))
    return redirect("credit_terms", org_slug=request.org.slug, pk=pk)


@org_view(Role.OWNER)
def credit_terms_pending(request):
    proposals = (CreditTermsProposal.objects.filter(organization=request.org, status=ProposalStatus.PENDING)
                 .select_related("customer", "proposed_by").order_by("proposed_at", "pk"))
    return render(request, "accounts/credit_terms_pending.html", {"proposals": proposals})
