"""How the URL × role matrix (tests/urlmatrix.py) builds issue 21's pages with arguments."""

from tests.urlmatrix import register_object, register_url

register_url("guide_topic", topic=lambda world: "payments")


@register_object("saved_filter")
def _saved_filter(world):
    from accounts.models import SavedFilter

    return SavedFilter.objects.create(organization=world.org, user=world.owner, list_name="invoices",
                                      name="Matrix drafts", query="status=draft")


# Saving your own filter is a personal preference: a viewer may (sharing needs finance staff).
register_url("saved_filter_save", viewer_writes=True,
             post=lambda w: {"list": "invoices", "name": "Overdue", "query": "status=overdue"})
register_url("saved_filter_delete", pk="saved_filter", viewer_writes=True, post=lambda w: {"list": "invoices"})
