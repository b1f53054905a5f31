"""Counting a list's filtered set without reading all of it (issues 21 and 23). The sorts a list
offers live in ledger_site.sorting.

A list page shows 25 or 50 rows; the number of matching rows is counted up to CAP + 1 (ids only),
and the totals of the filtered set (per currency) are read by one aggregate when it is within CAP.
At a million invoices an aggregate over "every open
invoice" reads a third of the table (~0.3-0.6 s), far over a list page's 150 ms, for a figure the
clerk does not need to browse. So the aggregate reads at most CAP + 1 matching rows: when the set
is that small the totals and count are exact; when it is larger the page says "more than 10,000"
(no totals: a partial sum would be wrong), and the paginator pages without a last page. The rows
shown, and their order, are the same either way (the page's own query is unchanged)."""

from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator

CAP = 10_000


def capped(queryset):
    """The rows of `queryset` to aggregate: at most CAP + 1 of them (by primary key, any order)."""
    # id = ANY(ARRAY(…)): the at most CAP + 1 ids are read first and fetched by primary key; as
    # "id IN (…)" the planner hashed them against every row of the organization (~0.3 s at 200,000).
    try:
        sql, params = queryset.order_by().values("pk")[:CAP + 1].query.sql_with_params()
    except EmptyResultSet:  # a filter that matches nothing by construction (.none(): a bad filter)
        return queryset.none()
    model = queryset.model
    column = f'"{model._meta.db_table}"."{model._meta.pk.column}"'  # names from the model, values as params
    return model._default_manager.extra(where=[f"{column} = ANY(ARRAY({sql}))"], params=list(params))  # noqa: S610


def capped_count(queryset) -> int:
    """How many rows `queryset` matches, counting at most CAP + 1: ids only, so an index that
    serves the filter is read alone. A list counts first and sums only when the set is within the
    cap: above it the sums are not shown, and reading CAP + 1 whole rows for them cost more than
    the page (their heap pages are scattered over a million-row table)."""
    return queryset.order_by().values("pk")[:CAP + 1].count()


def more_than_cap(count: int) -> bool:
    """Whether a count of `capped` rows means "more than CAP" (only a lower bound)."""
    return count > CAP


class CountedPaginator(Paginator):
    """A paginator told its count (from the list's totals aggregate): no COUNT(*) query. With
    `more=True` the count is only a lower bound ("more than CAP"): pages go on while rows do."""

    def __init__(self, object_list, per_page, count: int, more: bool = False):
        super().__init__(object_list, per_page)
        self.count = count  # shadows Paginator.count (a cached_property)
        self.more = more

    def validate_number(self, number):
        if not self.more:
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError) as e:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from e
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return number

    def get_page(self, number):
        if not self.more:
            return super().get_page(number)
        try:
            number = self.validate_number(number)
        except (PageNotAnInteger, EmptyPage):
            number = 1
        return self.page(number)

    def page(self, number):
        if not self.more:
            return super().page(number)
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])  # one more: is there a next page?
        return OpenPage(rows[:self.per_page], number, self, len(rows) > self.per_page)


class OpenPage(Page):
    """A page of a list whose end is not counted: it knows only whether a next page exists."""

    def __init__(self, object_list, number, paginator, has_next_page: bool):
        super().__init__(object_list, number, paginator)
        self._has_next = has_next_page

    def has_next(self):
        return self._has_next

    def next_page_number(self):
        return self.number + 1

    def end_index(self):
        return self.start_index() + len(self.object_list) - 1
