"""A paginator that takes its count from the list's totals aggregate instead of counting the rows a
second time (issue 23). The sorts a list offers live in ledger_site.sorting."""

from django.core.paginator import Paginator


class CountedPaginator(Paginator):
    """A paginator told its count (from the list's totals aggregate): no COUNT(*) query."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.count = count  # shadows Paginator.count (a cached_property)

