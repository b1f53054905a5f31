"""The audit log's pages (accounts.audit): the organization-wide list with filters and CSV export,
and the panel on each customer's page."""


from django import forms
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import AuditEvent, Customer, Membership, Role
from accounts.permissions import org_view
from ledger_site.exports import csv_bytes, download

KINDS = {"accounts_customer": gettext_lazy("Customer"), "accounts_organization": gettext_lazy("Organization"),
         "accounts_membership": gettext_lazy("Member"), "invoicing_invoicesettings": gettext_lazy("Invoice settings"),
         "accounts_credittermsproposal": gettext_lazy("Credit-terms proposal"),
         "payments_bankaccount": gettext_lazy("Bank account"), "invoicing_taxrate": gettext_lazy("Tax rate"),
         "reminders_reminderpolicy": gettext_lazy("Reminder policy"),
         "reminders_reminderstep": gettext_lazy("Reminder step and late fee"),
         "accounts_apikey": gettext_lazy("API key"), "reminders_remindersettings": gettext_lazy("Reminder settings"),
         "reminders_customerremindersettings": gettext_lazy("Customer reminder settings")}
# Bookkeeping columns not worth showing as changes.
QUIET = {"id", "organization_id", "created_at", "updated_at"}


class AuditFilter(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("What"), required=False,
                             choices=[("", gettext_lazy("Everything"))] + list(KINDS.items()))
    customer = forms.IntegerField(label=gettext_lazy("Customer"), required=False, widget=forms.Select)
    actor = forms.IntegerField(label=gettext_lazy("Who"), required=False, widget=forms.Select)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def describe(event: AuditEvent) -> list[tuple[str, str, str]]:
    """(column, before, after) for each changed column worth showing."""
    rows = []
    for column in event.changed:
        if column in QUIET:
            continue
        before = (event.before or {}).get(column)
        after = (event.after or {}).get(column)
        if event.action != "update" and (before if after is None else after) in (None, ""):
            continue  # a new or deleted row: its empty fields say nothing
        rows.append((column, "" if before is None else str(before), "" if after is None else str(after)))
    return rows


def of_customer(customer_id: int) -> Q:
    """The customer's own row, its credit-terms proposals (accounts.credit_terms) and its reminder
    settings (its policy and hold; a deleted row has only a before)."""
    return (Q(table_name="accounts_customer", object_id=customer_id)
            | Q(table_name="accounts_credittermsproposal", after__customer_id=customer_id)
            | Q(table_name="reminders_customerremindersettings", after__customer_id=customer_id)
            | Q(table_name="reminders_customerremindersettings", before__customer_id=customer_id))


def history(org, what: Q, limit: int = 10) -> list:
    """A page's History section: the latest `limit` events matching `what`, newest first, as
    (event, kind, changes). Template: accounts/_history.html, which links to the audit page."""
    events = AuditEvent.objects.filter(organization=org).filter(what).select_related("actor").order_by("-at", "-pk")
    return [(e, KINDS.get(e.table_name, e.table_name), describe(e)) for e in events[:limit]]


def filtered(org, data):
    form = AuditFilter(data or None)
    events = AuditEvent.objects.filter(organization=org).select_related("actor")
    if form.is_valid():
        d = form.cleaned_data
        if d["kind"]:
            events = events.filter(table_name=d["kind"])
        if d["customer"]:
            events = events.filter(of_customer(d["customer"]))
        if d["actor"]:
            events = events.filter(actor_id=d["actor"])
        if d["since"]:
            events = events.filter(at__date__gte=d["since"])
        if d["until"]:
            events = events.filter(at__date__lte=d["until"])
    return form, events


@org_view(Role.OWNER)
def audit_log(request):
    org = request.org
    form, events = filtered(org, request.GET)
    if request.GET.get("format") == "csv":
        rows = [["at", "who", "ip", "user agent", "what", "id", "action", "field", "before", "after"]]
        for event in events.iterator(chunk_size=1000):
            for column, before, after in describe(event) or [("", "", "")]:
                rows.append([event.at.isoformat(), event.actor.email if event.actor else "", event.ip,
                             event.user_agent, event.table_name, event.object_id, event.action, column,
                             before, after])
        return download(csv_bytes(rows, bom=False), "text/csv; charset=utf-8", f"audit-{org.slug}.csv")
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    form.fields["customer"].widget.choices = [("", _("Any customer"))] + list(
        Customer.objects.filter(organization=org).order_by("name").values_list("pk", "name"))
    form.fields["actor"].widget.choices = [("", _("Anyone"))] + list(
        Membership.objects.filter(organization=org).order_by("user__email").values_list("user_id", "user__email"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "accounts/audit_log.html", {
        "form": form, "page": page, "rows": [(e, KINDS.get(e.table_name, e.table_name), describe(e)) for e in page],
        "query": query.urlencode(),
    })


def customer_audit_panel(request, customer):
    # The customer row's own changes (an approved proposal is one of them) and its reminder settings.
    events = list(AuditEvent.objects.filter(organization=request.org).filter(
        Q(table_name="accounts_customer", object_id=customer.pk)
        | Q(table_name="reminders_customerremindersettings", after__customer_id=customer.pk)
        | Q(table_name="reminders_customerremindersettings", before__customer_id=customer.pk)
    ).select_related("actor").order_by("-at", "-pk")[:10])
    return "accounts/_customer_audit_panel.html", {
        "customer": customer, "rows": [(e, describe(e)) for e in events],
    }
