"""`day` and `moment`: the one way pages, PDFs and e-mails show a date (and a time), in the
organization's locale (accounts.locale.format_day; issue 21 point 6). A template builtin
(settings.TEMPLATES), so every template has them without a {% load %}. Machine contexts
(input values, URLs, exports) keep |date:'Y-m-d'."""

from datetime import datetime

from django import template
from django.utils import timezone

from accounts.locale import format_day

register = template.Library()


@register.filter
def day(value):
    return format_day(value)


@register.filter
def moment(value):
    """A date and time, e.g. 7 Dec 2026 14:05 (en_GB), in the current time zone."""
    if not isinstance(value, datetime):
        return format_day(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_day(local.date())} {local:%H:%M}"


@register.simple_tag(takes_context=True)
def sort_header(context, key, label, css=""):
    """A sortable column head: a link to ?sort=key (or -key when already sorted by key), keeping
    the other query parameters; aria-sort says the current order (keys: ledger_site.sorting)."""
    from django.utils.html import format_html

    request = context["request"]
    current = context.get("sort") or ""
    query = request.GET.copy()
    query.pop("page", None)
    query["sort"] = f"-{key}" if current == key else key
    state = "ascending" if current == key else "descending" if current == f"-{key}" else "none"
    arrow = " ▲" if state == "ascending" else " ▼" if state == "descending" else ""
    return format_html('<th class="{}" aria-sort="{}"><a href="?{}">{}{}</a></th>', css, state, query.urlencode(),
                       label, arrow)


@register.inclusion_tag("includes/saved_filters.html", takes_context=True)
def saved_filters(context, list_name, query=""):
    """A list's saved filters (yours and the shared ones) and "Save this view" (issue 21): one query."""
    from accounts.saved_filters import clean_query, url_of, visible

    request = context["request"]
    membership = getattr(request, "membership", None)
    rows = list(visible(request.org, request.user, list_name)) if membership is not None else []
    for row in rows:
        row.organization = request.org  # url_of needs its slug: no query per row
        row.url = url_of(row)
    query = clean_query(query)
    return {"org": request.org, "request": request, "list_name": list_name, "saved": rows,
            "query": query, "current": next((r for r in rows if r.query == query), None),
            "can_share": membership is not None and membership.has_role("finance"),
            "csrf_token": context.get("csrf_token")}
