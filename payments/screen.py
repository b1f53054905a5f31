"""The allocation screen's invoice rows, rendered in Python.

A customer can have a thousand open invoices. With a Django template loop each row cost about
half a millisecond (two dozen variable lookups, filters and tags), and format_html's lazy-aware
escaping about a third of that, so the rows are built here with f-strings; every value that
is text (invoice number, typed amount, messages, labels) goes through html.escape, the rest are
numbers and formatted amounts. The columns are the table head's in
templates/payments/_allocation_table.html; keep the two in step.
"""

import functools
from datetime import date
from html import escape

from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from accounts.locale import active_locale, format_day, format_input
from accounts.models_org import today_in
from accounts.money import format_money, quantum
from payments.templatetags.payment_tags import INVOICE_STATUS

DISPUTED, OVERDUE = ' data-disputed="1"', ' data-overdue="1"'


@functools.lru_cache(maxsize=4096)
def _day(day: date, locale: str) -> str:
    return escape(format_day(day, locale))


@functools.lru_cache(maxsize=64)
def _badge(status: str, language: str) -> str:
    label, css = INVOICE_STATUS.get(status, (status, ""))
    return f'<span class="badge {css}" data-status="{escape(status)}">{escape(str(label))}</span>'


def allocation_rows(org, plan, currency: str, typed=None) -> SafeString:
    """<tr> rows of the plan; `typed` (the POSTed form, manual mode) shows amounts as typed."""
    today, language, locale = today_in(org), translation.get_language(), active_locale()
    invoices_url = escape(reverse("invoice_detail", kwargs={"org_slug": org.slug, "pk": 0})[:-2])  # …/invoices/
    q = quantum(currency)
    issued, apply_to = escape(_("issued")), escape(_("Amount to apply to"))
    hold = (f' <span class="badge badge-warn" title="{escape(_("On dispute hold: automatic allocation skips it"))}">'
            f'{escape(_("Disputed"))}</span>')
    out = []
    for row in plan.rows:
        invoice = row.invoice
        pk, number = invoice.pk, escape(invoice.number or "")
        disputed = invoice.is_disputed_on(today)
        if typed is not None:
            value = escape(typed.get(f"alloc-{pk}", "")[:40])
        else:
            # in the organization's marks, as a person would type it (accounts.locale)
            value = escape(format_input(row.amount.quantize(q), locale, grouped=False)) if row.amount else ""
        error = f'<small class="error" role="alert">{escape(str(row.error))}</small>' if row.error else ""
        due_plain = str(invoice.amount_due.quantize(q))
        flags = (DISPUTED if disputed else "") + (OVERDUE if invoice.due_date < today else "")
        out.append(
            f'<tr class="alloc-row{" has-error" if row.error else ""}" data-pk="{pk}" data-due="{due_plain}"{flags}>'
            f'<td><a href="{invoices_url}{pk}/" target="_blank" rel="noopener">{number}</a>{hold if disputed else " "}'
            f'<span class="muted small alloc-issued">{issued} {_day(invoice.issue_date, locale)}</span></td>'
            f'<td class="nowrap">{_day(invoice.due_date, locale)}</td>'
            f'<td>{_badge(invoice.display_status, language)}</td>'
            f'<td class="num">{format_money(invoice.amount_due, currency)}</td>'
            f'<td class="num alloc-input"><label class="sr-only" for="alloc-{pk}">{apply_to} {number}</label>'
            f'<input type="text" inputmode="decimal" autocomplete="off" id="alloc-{pk}" name="alloc-{pk}" '
            f'value="{value}" placeholder="0">{error}</td>'
            f'<td class="num alloc-new">{format_money(row.new_due, currency)}</td>'
            f'<td class="alloc-after">{_badge(row.new_status, language)}</td></tr>\n'
        )
    return mark_safe("".join(out))  # noqa: S308 - every text value above is escaped
