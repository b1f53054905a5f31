"""What every paginated list does the same way (issue 23): a sort checked against the list's own
table of allowed sorts (kept next to the model's indexes, one per sort), and a paginator that takes
its count from the totals' aggregate instead of counting the rows a second time."""

from django.core.paginator import Paginator


class CountedPaginator(Paginator):
    """A paginator told its count (from the list's totals aggregate): no COUNT(*) query."""

    def __init__(self, object_list, per_page, count: int):
        super().__init__(object_list, per_page)
        self.count = count  # shadows Paginator.count (a cached_property)


def sort_order(raw: str | None, sorts: dict, default: str) -> tuple[str, list[str]]:
    """?sort= (a key of `sorts`, or "-" and one) or the default: (the key, ORDER BY with the id last)."""
    key = raw if raw and raw.lstrip("-") in sorts else default
    sign = "-" if key.startswith("-") else ""
    return key, [sign + sorts[key.lstrip("-")], sign + "pk"]
