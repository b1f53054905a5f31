"""The ticked rows of a list's bulk form (payments, customers): their ids, in the order given,
without repeats; anything not a number, nothing ticked, or more than `limit` is refused with a
message (ValueError) and nothing is done. The invoice list keeps its own wording (invoicing.bulk)."""

from django.utils.translation import gettext as _


def parse_ids(values, limit: int = 100) -> list[int]:
    ids: list[int] = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(_("The selection is not valid; tick the rows again."))
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise ValueError(_("Tick at least one row first."))
    if len(ids) > limit:
        raise ValueError(_("Select at most %(n)s rows at a time.") % {"n": limit})
    return ids
