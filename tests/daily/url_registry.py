"""How the URL × role matrix (tests/urlmatrix.py) builds issue 21's pages with arguments."""

from tests.urlmatrix import register_object, register_url

register_url("guide_topic", topic=lambda world: "payments")


@register_object("saved_filter")
def _saved_filter(world):
    from accounts.models import SavedFilter

    return SavedFilter.objects.create(organization=world.org, user=world.owner, list_name="invoices",
                                      name="Matrix drafts", query="status=draft")


# Any member keeps their own filters (tests/daily/test_saved_filters.py); here the viewer's POST must
# change nothing: sharing needs finance staff, and the filter to delete is the owner's.
register_url("saved_filter_save",
             post=lambda w: {"list": "invoices", "name": "Overdue", "query": "status=overdue", "shared": "1"})
register_url("saved_filter_delete", pk="saved_filter", post=lambda w: {"list": "invoices"})
