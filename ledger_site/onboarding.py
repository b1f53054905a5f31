"""The setup checklist of a new organization (issue 21 point 9): what its first invoice needs
(address, tax id, bank details, logo, tax rates for its country), then its first customer, first
invoice and reminders. Each step says in plain words why, and links to the page that does it.
A page of its own (the dashboard links to it while the address or tax id is missing, at no query
cost); it reads four apps, hence here, in the wiring."""

from dataclasses import dataclass

from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.models import Customer, Role
from accounts.permissions import org_view
from invoicing.models import Invoice, InvoiceSettings, InvoiceStatus, TaxRate
from reminders.models import ReminderPolicy, ReminderSettings


@dataclass
class Step:
    key: str
    title: str
    why: str
    done: bool
    url: str


def checklist(org) -> list[Step]:
    slug = org.slug
    inv = InvoiceSettings.objects.filter(organization=org).only("bank_details", "logo").first()
    reminders = ReminderSettings.objects.filter(organization=org).only("paused").first()
    return [
        Step("address", _("Your postal address"), _("Printed at the top of every invoice and statement."),
             bool(org.address.strip()), reverse("org_settings", args=[slug])),
        Step("tax_id", _("Your tax id (VAT number)"), _("Many customers cannot pay an invoice without it."),
             bool(org.tax_id.strip()), reverse("org_settings", args=[slug])),
        Step("bank", _("Your bank details"), _("So that customers know where to pay; printed on invoices."),
             bool(inv and inv.bank_details.strip()), reverse("invoice_settings", args=[slug])),
        Step("logo", _("Your logo"), _("Optional; shown on invoices, statements and receipts."),
             bool(inv and inv.logo), reverse("invoice_logo", args=[slug])),
        Step("tax_rates", _("Your country and its tax rates"),
             # xgettext:no-python-format
             _("A standard 20% rate is set up to start with: say which country you are in (Settings), then "
               "add the rates proposed for it on the Tax rates page."),
             bool(org.country) and TaxRate.objects.filter(organization=org).exists(),
             reverse("tax_rate_list", args=[slug])),
        Step("customer", _("Your first customer"), _("Invoices and payments belong to a customer."),
             Customer.objects.filter(organization=org).exists(), reverse("customer_create", args=[slug])),
        Step("invoice", _("Your first invoice"), _("Draft it, check the preview, then issue and e-mail it."),
             Invoice.objects.filter(organization=org, status=InvoiceStatus.ISSUED).exists(),
             reverse("invoice_create", args=[slug])),
        Step("reminders", _("Payment reminders"),
             _("Late payers get polite reminders automatically once a policy is on."),
             bool(reminders and not reminders.paused and ReminderPolicy.objects.filter(organization=org).exists()),
             reverse("reminder_policies", args=[slug])),
    ]


@org_view(Role.VIEWER)
def setup_checklist(request):
    steps = checklist(request.org)
    return render(request, "setup_checklist.html",
                  {"steps": steps, "done": sum(s.done for s in steps), "total": len(steps)})
