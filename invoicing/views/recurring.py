"""Recurring schedules: the list, the editor (with a preview of the next runs), the schedule's
page (its runs and the next twelve), pause/resume and "bill what is due now"."""

from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ledger import LedgerError
from accounts.models import Role
from accounts.money import minor_units
from accounts.permissions import org_view
from invoicing.forms import LineFormSet, active_tax_rates, check_preview, preview_totals
from invoicing.forms_recurring import ScheduleForm
from invoicing.items import items_by_id
from invoicing.models import Invoice
from invoicing.models_quotes import Quote
from invoicing.models_recurring import RecurringSchedule
from invoicing.recurring import day_note, line_dicts, org_today, preview, run_schedule, save_schedule, set_paused
from invoicing.totals import sum_lines
from invoicing.views.editor import PREFIX, _plain, default_tax_rate


@require_GET
@org_view(Role.VIEWER)
def schedule_list(request):
    schedules = (RecurringSchedule.objects.filter(organization=request.org).select_related("customer")
                 .annotate(billed=Count("runs"), last_run=Max("runs__period_date")).order_by("name", "pk"))
    today = org_today(request.org.pk)
    rows = []
    for s in schedules:
        upcoming = preview(s, [], today, count=1) if not s.is_paused else []
        rows.append((s, upcoming[0].date if upcoming else None))
    return render(request, "invoicing/schedule_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def schedule_create(request):
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def schedule_edit(request, pk):
    return _editor(request, get_object_or_404(RecurringSchedule, organization=request.org, pk=pk))


def _editor(request, schedule):
    org = request.org
    keep = set(schedule.lines.exclude(tax_rate=None).values_list("tax_rate_id", flat=True)) if schedule else set()
    rates = list(active_tax_rates(org, keep))
    upcoming, totals = None, None
    if request.method == "POST":
        form = ScheduleForm(request.POST, org=org, instance=schedule)
        formset = LineFormSet(request.POST, prefix=PREFIX, tax_rates=rates)
        if form.is_valid() and formset.is_valid():
            customer = form.cleaned_data["customer"]
            check = preview_totals(formset.lines(), Decimal(0), customer.currency)
            if check_preview(check, formset):
                known = items_by_id(org, [li.get("item") for li in formset.lines()])
                lines = [{**{k: li[k] for k in ("description", "quantity", "unit", "unit_price", "discount_percent",
                                                 "tax_rate")}, "item": known.get(li.get("item"))}
                         for li in formset.lines()]
                if request.POST.get("do") == "save":
                    try:
                        saved = save_schedule(org, schedule, form.schedule_fields(), lines, actor=request.user)
                    except LedgerError as e:
                        form.add_error(None, " ".join(e.messages))
                    else:
                        messages.success(request, _("Schedule saved. The next runs are listed below."))
                        return redirect("schedule_detail", org_slug=org.slug, pk=saved.pk)
                draft = RecurringSchedule(organization=org, **form.schedule_fields())
                upcoming = preview(draft, lines, org_today(org.pk))
                totals = check.totals
    else:
        form, formset = _initial(request, org, schedule, rates)
    currency = _currency(form, schedule)
    return render(request, "invoicing/schedule_form.html", {
        "schedule": schedule, "form": form, "formset": formset, "rows": [(f, None) for f in formset.forms],
        "tax_options": formset.tax_options(), "has_rates": bool(rates), "currency": currency,
        "minor_units": minor_units(currency) if currency else 2, "max_lines": 500, "upcoming": upcoming,
        "totals": totals, "item_lookup_url": reverse("item_lookup", kwargs={"org_slug": org.slug}),
        "creating": schedule is None,
    })


def _initial(request, org, schedule, rates):
    if schedule is not None:
        form = ScheduleForm(org=org, instance=schedule)
        rows = [li.editor_row(_plain) for li in schedule.lines.all()]
    else:
        initial = {"start_date": org_today(org.pk), "day_of_month": 1}
        rows = []
        source = request.GET.get("from_invoice", "")
        invoice = Invoice.objects.filter(organization=org, pk=source).select_related("customer").first() \
            if source.isdigit() else None
        if invoice is not None:
            initial.update({"customer": invoice.customer_id, "name": _("%(customer)s monthly") % {
                "customer": invoice.customer.name}, "reference": invoice.reference, "notes": invoice.notes,
                "payment_terms_days": max(0, (invoice.due_date - invoice.issue_date).days),
                "day_of_month": invoice.issue_date.day})
            rows = [li.editor_row(_plain) for li in invoice.lines.all()]
        form = ScheduleForm(org=org, initial=initial)
    default = rows[-1]["tax_rate"] if rows else default_tax_rate(org)
    rows += [{"tax_rate": default, "discount_percent": "0"} for _ in range(1 if rows else 2)]
    return form, LineFormSet(prefix=PREFIX, initial=rows, tax_rates=rates)


def _currency(form, schedule):
    customer = None
    if form.is_bound:
        customer = getattr(form, "cleaned_data", {}).get("customer")
    else:
        customer = form.fields["customer"].customer_for(form.initial.get("customer"))
    if customer is not None:
        return customer.currency
    return schedule.customer.currency if schedule else None


@require_GET
@org_view(Role.VIEWER)
def schedule_detail(request, pk):
    schedule = get_object_or_404(RecurringSchedule.objects.select_related("customer"), organization=request.org,
                                 pk=pk)
    lines = line_dicts(schedule)
    totals = preview_totals(lines, Decimal(0), schedule.customer.currency).totals if lines else sum_lines([])
    today = org_today(request.org.pk)
    upcoming = [] if schedule.is_paused else preview(schedule, lines, today)
    return render(request, "invoicing/schedule_detail.html", {
        "schedule": schedule, "lines": schedule.lines.select_related("tax_rate"), "totals": totals,
        "runs": schedule.runs.select_related("invoice").order_by("-period_date")[:200],
        "upcoming": upcoming, "today": today, "day_note": day_note(schedule),
        "due_now": bool(upcoming) and upcoming[0].date <= today,
        "source_quote": Quote.objects.filter(organization=request.org, schedule=schedule).first(),
    })


@require_POST
@org_view(Role.FINANCE)
def schedule_pause(request, pk):
    schedule = get_object_or_404(RecurringSchedule, organization=request.org, pk=pk)
    pause = request.POST.get("pause", "1") == "1"
    set_paused(schedule, pause)
    messages.success(request, _("Paused: nothing is billed until you resume.") if pause
                     else _("Resumed. Periods that fell due while paused are skipped."))
    return redirect("schedule_detail", org_slug=request.org.slug, pk=pk)


@require_POST
@org_view(Role.FINANCE)
def schedule_run(request, pk):
    """Bill what is due now (what the hourly run would do), for this schedule only."""
    schedule = get_object_or_404(RecurringSchedule, organization=request.org, pk=pk)
    made = run_schedule(schedule.pk, org_today(request.org.pk))
    if made:
        messages.success(request, _("%(n)s period(s) billed.") % {"n": len(made)})
    else:
        messages.info(request, _("Nothing is due; nothing was billed."))
    return redirect("schedule_detail", org_slug=request.org.slug, pk=pk)
