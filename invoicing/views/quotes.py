"""Quote pages (/o/<org>/invoices/quotes/) and the customer's signed page (/p/q/<token>/)."""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.ledger import LedgerError
from accounts.locale import in_language
from accounts.models import Role
from accounts.money import minor_units
from accounts.permissions import org_view
from invoicing.forms import LineFormSet, active_tax_rates, check_preview, preview_totals
from invoicing.forms_quotes import QuoteForm
from invoicing.items import items_by_id
from invoicing.models_quotes import Quote, with_expired
from invoicing.pdf import language_of
from invoicing.quotes import (
    QuoteError,
    convert_to_invoice,
    convert_to_schedule,
    decide,
    draft_quote_message,
    find,
    link_path,
    parse_token,
    queue_quote_email,
    render_quote_pdf,
    save_quote,
    send_quote,
)
from invoicing.views.documents import SendInvoiceForm
from invoicing.views.editor import PREFIX, _plain, default_tax_rate
from ledger_site.tenancy import tenant_context

LINE_KEYS = ("description", "quantity", "unit", "unit_price", "discount_percent", "tax_rate")


@require_GET
@org_view(Role.VIEWER)
def quote_list(request):
    quotes = Quote.objects.filter(organization=request.org).select_related("customer", "invoice")
    status = request.GET.get("status", "")
    if status in ("draft", "sent", "accepted", "declined"):
        quotes = quotes.filter(status=status)
    page = Paginator(with_expired(quotes, request.org.today()), 50).get_page(request.GET.get("page"))
    return render(request, "invoicing/quote_list.html", {"page": page, "status": status})


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def quote_create(request):
    return _editor(request, None)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def quote_edit(request, pk):
    quote = get_object_or_404(Quote, organization=request.org, pk=pk)
    if quote.status != "draft":
        messages.error(request, _("Quote %(number)s is sent and can no longer be edited.") % {"number": quote.number})
        return redirect("quote_detail", org_slug=request.org.slug, pk=pk)
    return _editor(request, quote)


def _editor(request, quote):
    org = request.org
    keep = set(quote.lines.exclude(tax_rate=None).values_list("tax_rate_id", flat=True)) if quote else set()
    rates = list(active_tax_rates(org, keep))
    totals = None
    if request.method == "POST":
        form = QuoteForm(request.POST, org=org, instance=quote)
        formset = LineFormSet(request.POST, prefix=PREFIX, tax_rates=rates)
        if form.is_valid() and formset.is_valid():
            check = preview_totals(formset.lines(), Decimal(0), form.cleaned_data["customer"].currency)
            if check_preview(check, formset):
                totals = check.totals
                if request.POST.get("do") == "save":
                    known = items_by_id(org, [li.get("item") for li in formset.lines()])
                    lines = [{**{k: li[k] for k in LINE_KEYS}, "item": known.get(li.get("item"))}
                             for li in formset.lines()]
                    try:
                        saved = save_quote(org, quote, form.quote_fields(), lines, actor=request.user)
                    except LedgerError as e:
                        form.add_error(None, " ".join(e.messages))
                    else:
                        messages.success(request, _("Quote saved."))
                        return redirect("quote_detail", org_slug=org.slug, pk=saved.pk)
    else:
        today = org.today()
        if quote is not None:
            form = QuoteForm(org=org, instance=quote)
            rows = [li.editor_row(_plain) for li in quote.lines.all()]
        else:
            initial = {"issue_date": today, "valid_until": today + timezone.timedelta(days=30)}
            customer = request.GET.get("customer", "")
            if customer.isdigit():
                initial["customer"] = int(customer)
            form = QuoteForm(org=org, initial=initial)
            rows = []
        default = rows[-1]["tax_rate"] if rows else default_tax_rate(org)
        rows += [{"tax_rate": default, "discount_percent": "0"} for _ in range(1 if rows else 3)]
        formset = LineFormSet(prefix=PREFIX, initial=rows, tax_rates=rates)
    currency = None
    if form.is_bound and getattr(form, "cleaned_data", {}).get("customer"):
        currency = form.cleaned_data["customer"].currency
    elif not form.is_bound:
        chosen = form.fields["customer"].customer_for(form.initial.get("customer"))
        currency = chosen.currency if chosen else (quote.currency if quote else None)
    return render(request, "invoicing/quote_form.html", {
        "quote": quote, "form": form, "formset": formset, "rows": [(f, None) for f in formset.forms],
        "tax_options": formset.tax_options(), "currency": currency, "totals": totals,
        "minor_units": minor_units(currency) if currency else 2, "max_lines": 500, "creating": quote is None,
        "item_lookup_url": reverse("item_lookup", kwargs={"org_slug": org.slug}),
    })


@require_GET
@org_view(Role.VIEWER)
def quote_detail(request, pk):
    quote = get_object_or_404(Quote.objects.select_related("customer", "invoice", "schedule"),
                              organization=request.org, pk=pk)
    link = request.build_absolute_uri(link_path(quote)) if quote.nonce else ""
    return render(request, "invoicing/quote_detail.html", {
        "quote": quote, "expired": quote.is_expired_on(request.org.today()),
        "lines": quote.lines.select_related("tax_rate"), "link": link,
        "deliveries": quote.email_deliveries.order_by("-created_at")[:20]})


@require_POST
@org_view(Role.FINANCE)
def quote_send(request, pk):
    quote = get_object_or_404(Quote, organization=request.org, pk=pk)
    try:
        quote = send_quote(quote, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Quote %(number)s is ready to send: copy its link or download its PDF.")
                         % {"number": quote.number})
    return redirect("quote_detail", org_slug=request.org.slug, pk=pk)


@require_POST
@org_view(Role.FINANCE)
def quote_convert(request, pk):
    quote = get_object_or_404(Quote, organization=request.org, pk=pk)
    try:
        invoice, created = convert_to_invoice(quote, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("quote_detail", org_slug=request.org.slug, pk=pk)
    messages.success(request, _("Draft invoice created from the quote; check it and issue it.") if created
                     else _("This quote became this invoice already."))
    return redirect("invoice_detail", org_slug=request.org.slug, pk=invoice.pk)


@require_POST
@org_view(Role.FINANCE)
def quote_schedule(request, pk):
    """One click: an accepted quote becomes a recurring schedule (monthly, drafts for review), once."""
    quote = get_object_or_404(Quote, organization=request.org, pk=pk)
    try:
        schedule, created = convert_to_schedule(quote, actor=request.user)
    except LedgerError as e:
        messages.error(request, " ".join(e.messages))
        return redirect("quote_detail", org_slug=request.org.slug, pk=pk)
    messages.success(request, _("Recurring schedule created from the quote: monthly from today, each run creating a "
                                "draft for review. Change its frequency, start or action here.") if created
                     else _("This quote became this schedule already."))
    return redirect("schedule_detail", org_slug=request.org.slug, pk=schedule.pk)


@require_http_methods(["GET", "POST"])
@org_view(Role.FINANCE)
def quote_email(request, pk):
    """E-mail a sent quote: its PDF attached and its link in the text, through the delivery log."""

    quote = get_object_or_404(Quote.objects.select_related("customer", "organization"), organization=request.org,
                              pk=pk)
    if not quote.nonce:
        messages.error(request, _("Number the quote and get its link before e-mailing it."))
        return redirect("quote_detail", org_slug=request.org.slug, pk=pk)
    form = SendInvoiceForm(request.POST or None, initial=draft_quote_message(quote))
    form.fields["body"].help_text = _("{link} becomes the customer's link to the quote. The PDF is attached.")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            queue_quote_email(quote, data["recipients"], data["subject"], data["body"], actor=request.user,
                              base_url=request.build_absolute_uri("/"))
        except LedgerError as e:
            form.add_error(None, " ".join(e.messages))
        else:
            messages.success(request, _("Quote %(number)s is on its way to %(to)s.")
                             % {"number": quote.number, "to": ", ".join(data["recipients"])})
            return redirect("quote_detail", org_slug=request.org.slug, pk=pk)
    return render(request, "invoicing/quote_email.html", {"quote": quote, "form": form})


@require_GET
@org_view(Role.VIEWER)
def quote_pdf(request, pk):
    quote = get_object_or_404(Quote.objects.select_related("customer", "organization"), organization=request.org,
                              pk=pk)
    return _pdf(quote)


def _pdf(quote):
    response = HttpResponse(render_quote_pdf(quote), content_type="application/pdf")
    name = (quote.number or f"quote-draft-{quote.pk}").replace("/", "-")
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


# --- the customer's page ---------------------------------------------------------------------

def _headers(response):
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def _public(token):
    parsed = parse_token(token)
    if parsed is None:
        raise Http404
    return parsed


@csrf_exempt  # the customer has no session, and the page's no-referrer policy sends "Origin: null";
# the unguessable signed token in the URL is the credential (as for the invoice link's "seen" post)
@require_http_methods(["GET", "POST"])
def public_quote(request, token):
    """The quote with Accept / Decline. The decision is recorded once (time and IP); a second
    click or tab shows the first decision."""
    org_id, quote_id, nonce = _public(token)
    with tenant_context(org_id):
        quote = find(quote_id, nonce)
        if quote is None:
            raise Http404

        with in_language(language_of(quote)):  # the customer's language (issue 17)
            response = _quote_page(request, token, quote)
    return _headers(response)


def _quote_page(request, token, quote):
    error, answered_before = None, False
    if request.method == "POST":
        choice = request.POST.get("decision")
        if choice not in ("accept", "decline"):
            error = _("Choose Accept or Decline.")
        else:
            try:
                quote, changed = decide(quote, choice == "accept", request.META.get("REMOTE_ADDR"))
            except QuoteError as e:
                error = " ".join(e.messages)
            else:
                if not changed:
                    answered_before = True
                    error = _("This quote was answered already; nothing was changed.")
    org = quote.organization
    response = render(request, "public/quote.html", {
        "quote": quote, "lines": quote.lines.all(), "org_name": org.name, "token": token,
        "error": error, "expired": quote.is_expired_on(org.today())}, status=400 if error and request.method == "POST"
        and not answered_before else 200)
    return response


@require_GET
def public_quote_pdf(request, token):
    org_id, quote_id, nonce = _public(token)
    with tenant_context(org_id):
        quote = find(quote_id, nonce)
        if quote is None:
            raise Http404
        response = _pdf(quote)  # rendered in the customer's language (invoicing.quotes)
    return _headers(response)
