"""Every sortable list's sort keys, in one place (issue 21 point 3): a list sorts only by a key
listed here (anything else falls back to its default), each key names its ORDER BY and the index
that serves it at scale (docs/daily_use.md "Sorting"). Keys are the ?sort= values; a leading
"-" is the descending twin. Ties are broken by the primary key so pages never overlap.

Some keys order by a column the list view annotates (a customer's balance, its overdue total;
never NULL: the annotations coalesce to 0)."""

# list name -> {key: (order_by expressions), ...}; the first key is the default.
SORTS = {
    "customers": {
        # (organization_id, name) is served by accounts_customer's name index; code by its unique key
        "name": ("name",), "code": ("code",), "created": ("created_at",),
        # balance: rep_customerbalance_amount (organization, currency, amount); overdue: annotated sum
        "balance": ("balance",), "overdue": ("overdue",),
    },
    "invoices": {
        "issued": ("issue_date",), "due": ("due_date",), "number": ("number",), "customer": ("customer__name",),
        "total": ("total",), "amount_due": ("amount_due",), "status": ("status",),
    },
    "payments": {
        "received": ("received_date",), "amount": ("amount",), "customer": ("customer__name",),
        "reference": ("reference",),
    },
}
DEFAULT_DIRECTION = {"customers": "", "invoices": "-", "payments": "-"}


def _flip(expr: str) -> str:
    return expr[1:] if expr.startswith("-") else "-" + expr


def sort_order(list_name: str, raw: str | None) -> tuple[str, list]:
    """(the sort key in effect, the ORDER BY list) for ?sort=`raw`; unknown keys → the default."""
    keys = SORTS[list_name]
    raw = (raw or "").strip()
    name = raw.lstrip("-")
    if name not in keys:
        raw = DEFAULT_DIRECTION[list_name] + next(iter(keys))
        name = raw.lstrip("-")
    exprs = list(keys[name])
    if raw.startswith("-"):
        exprs = [_flip(e) for e in exprs]
    return raw, [*exprs, "-pk" if raw.startswith("-") else "pk"]


def indexed_columns(list_name: str) -> list[str]:
    """The table columns a list sorts by directly: each gets an (organization_id, column, id) index
    on its model (invoicing.Invoice, payments.Payment), generated from here, so a sort offered is a
    sort served (tests/test_list_sorts.py). Sorts through a join or an annotation are not in it."""
    return [exprs[0] for exprs in SORTS[list_name].values()
            if len(exprs) == 1 and "__" not in exprs[0] and exprs[0] not in ANNOTATED.get(list_name, ())]


# Keys that order by a value the list view annotates, not a column.
ANNOTATED = {"customers": ("balance", "overdue")}
