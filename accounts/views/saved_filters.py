"""Save and delete a list's saved filters (accounts.saved_filters). Any member may keep their own
(a personal preference, like the interface language); sharing needs finance staff or an owner."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import saved_filters
from accounts.models import Role, SavedFilter
from accounts.permissions import org_view


def _list_url(request, list_name: str, query: str = "") -> str:
    name = SavedFilter.LISTS.get(list_name, "customer_list")
    base = reverse(name, kwargs={"org_slug": request.org.slug})
    return f"{base}?{query}" if query else base


@require_POST
@org_view(Role.VIEWER)
def saved_filter_save(request):
    list_name = request.POST.get("list", "")
    query = saved_filters.clean_query(request.POST.get("query", ""))
    try:
        saved = saved_filters.save(request.org, request.user, request.membership, list_name,
                                   request.POST.get("name", ""), query, request.POST.get("shared") == "1")
    except saved_filters.SavedFilterError as e:
        messages.error(request, " ".join(e.messages))
        return redirect(_list_url(request, list_name, query))
    messages.success(request, (_("Saved “%(name)s”, shared with the organization.") if saved.shared
                               else _("Saved “%(name)s” for you.")) % {"name": saved.name})
    return redirect(_list_url(request, list_name, saved.query))


@require_POST
@org_view(Role.VIEWER)
def saved_filter_delete(request, pk):
    list_name = request.POST.get("list", "")
    try:
        saved = saved_filters.delete(request.org, request.user, request.membership, pk)
    except saved_filters.SavedFilterError as e:
        messages.error(request, " ".join(e.messages))
    else:
        messages.success(request, _("Deleted the saved filter “%(name)s”.") % {"name": saved.name})
        list_name = saved.list_name
    return redirect(_list_url(request, list_name))
