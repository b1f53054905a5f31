"""Saved filters of the lists (issue 21): save the list's current filters and sort under a name,
for yourself or, for finance staff and owners, shared with everyone in the organization.

The query string is stored re-encoded (QueryDict) and without `page`, so a saved filter only ever
opens its own list with parameters the list reads anyway (each list validates them as usual).
"""

from django.db import transaction
from django.db.models import Q
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.ledger import LedgerError
from accounts.models import Role, SavedFilter

MAX_PER_LIST = 30


class SavedFilterError(LedgerError):
    pass


def clean_query(raw: str) -> str:
    query = QueryDict(raw or "", mutable=True)
    query.pop("page", None)
    return query.urlencode()


def visible(org, user, list_name: str):
    """The person's own filters of this list, then the organization's shared ones."""
    return (SavedFilter.objects.filter(organization=org, list_name=list_name)
            .filter(Q(user=user) | Q(shared=True)).select_related("user").order_by("name", "pk"))


def url_of(saved: SavedFilter) -> str:
    base = reverse(SavedFilter.LISTS[saved.list_name], kwargs={"org_slug": saved.organization.slug})
    return f"{base}?{saved.query}" if saved.query else base


@transaction.atomic
def save(org, user, membership, list_name: str, name: str, raw_query: str, shared: bool) -> SavedFilter:
    """Save (or, under a name the person already used on this list, replace) a filter."""
    if list_name not in SavedFilter.LISTS:
        raise SavedFilterError(_("This list has no saved filters."))
    name = " ".join((name or "").split())
    if not name:
        raise SavedFilterError(_("Give the filter a name."))
    if len(name) > 60:
        raise SavedFilterError(_("A filter name has at most 60 characters."))
    query = clean_query(raw_query)
    if not query:
        raise SavedFilterError(_("Filter or sort the list first; there is nothing to save yet."))
    if len(query) > 1000:
        raise SavedFilterError(_("These filters are too long to save."))
    if shared and not membership.has_role(Role.FINANCE):
        raise SavedFilterError(_("Only finance staff and owners can share a filter with the organization."))
    mine = SavedFilter.objects.filter(organization=org, user=user, list_name=list_name)
    existing = mine.filter(name=name).first()
    if existing is None and mine.count() >= MAX_PER_LIST:
        raise SavedFilterError(_("You have %(n)s saved filters on this list; delete one first.") % {"n": MAX_PER_LIST})
    saved, _created = SavedFilter.objects.update_or_create(
        organization=org, user=user, list_name=list_name, name=name,
        defaults={"query": query, "shared": shared})
    return saved


def delete(org, user, membership, pk: int) -> SavedFilter:
    """Your own filter; an owner may also remove a filter someone shared."""
    saved = SavedFilter.objects.filter(organization=org, pk=pk).first()
    if saved is None or not (saved.user_id == user.pk or (saved.shared and membership.has_role(Role.OWNER))):
        raise SavedFilterError(_("This saved filter is not yours to delete."))
    saved.delete()
    return saved
