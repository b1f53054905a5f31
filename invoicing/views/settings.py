"""Owner settings: tax rates and invoice settings (numbering, layout, payment instructions, e-mail)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.models_org import today_in
from accounts.permissions import org_view
from invoicing import tax_proposals
from invoicing.forms import InvoiceSettingsForm, TaxRateForm, next_number_example, tax_rate_label
from invoicing.models import InvoiceSettings, NumberSeries, TaxRate
from invoicing.sample import sample_invoice_pdf


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def tax_rate_list(request):
    form = TaxRateForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        rate = form.save()
        messages.success(request, _("Tax rate “%(name)s” added.") % {"name": tax_rate_label(rate)})
        return redirect("tax_rate_list", org_slug=request.org.slug)
    rates = TaxRate.objects.filter(organization=request.org)
    return render(request, "invoicing/tax_rates.html", {
        "form": form, "rates": rates.order_by("archived", "percent", "name"), "active": "tax_rate_list",
        "proposal": tax_proposals.proposal(request.org),
    })


@require_POST
@org_view(Role.OWNER)
def tax_rate_propose(request):
    """Add the rates proposed for the organization's country (invoicing.tax_proposals)."""
    added = tax_proposals.add_proposed(request.org)
    if added:
        messages.success(request, _("Added: %(names)s.") % {"names": ", ".join(added)})
    elif tax_proposals.proposal(request.org) is None:
        messages.error(request, _("Set your country in the organization settings first; there is nothing to propose."))
    else:
        messages.info(request, _("Every proposed rate is already in use."))
    return redirect("tax_rate_list", org_slug=request.org.slug)


@org_view(Role.OWNER)
def invoice_sample_pdf(request):
    """A sample invoice as customers will receive it, with today's settings (nothing is saved)."""

    response = HttpResponse(sample_invoice_pdf(request.org), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="sample-invoice.pdf"'
    return response


@require_POST
@org_view(Role.OWNER)
def tax_rate_archive(request, pk):
    rate = get_object_or_404(TaxRate, organization=request.org, pk=pk)
    archive = request.POST.get("archive", "1") == "1"
    rate.archived = archive
    rate.save(update_fields=["archived"])
    messages.success(request, (_("“%(name)s” archived: it is no longer offered on new lines.") if archive
                               else _("“%(name)s” restored.")) % {"name": tax_rate_label(rate)})
    return redirect("tax_rate_list", org_slug=request.org.slug)


@require_http_methods(["GET", "POST"])
@org_view(Role.OWNER)
def invoice_settings(request):
    settings = InvoiceSettings.objects.get(organization=request.org)
    form = InvoiceSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Invoice settings saved."))
        return redirect("invoice_settings", org_slug=request.org.slug)
    saved = InvoiceSettings.objects.get(organization=request.org)
    return render(request, "invoicing/invoice_settings.html", {
        "form": form, "active": "invoice_settings",
        "next_invoice": next_number_example(request.org, saved, "invoice"),
        "next_credit_note": next_number_example(request.org, saved, "credit_note"),
        "series": _series(request.org), "year": today_in(request.org).year,
    })


def _series(org) -> dict:
    """The next counter value per kind, for a yearly and for a continuous series (the live example)."""
    year = today_in(org).year
    last = {(s.kind, s.year): s.last_number for s in NumberSeries.objects.filter(organization=org, year__in=[0, year])}
    return {kind: {"yearly": last.get((kind, year), 0) + 1, "continuous": last.get((kind, 0), 0) + 1}
            for kind in ("invoice", "credit_note")}
