"""The ticked rows of a list's bulk form: their ids, in the order given, without repeats; anything
not a number, nothing ticked, or more than `limit` is refused with a message (ValueError) and nothing
is done. Each list may word the three refusals its own way (the invoice list says "invoices")."""

from typing import NamedTuple

from django.utils.translation import gettext_lazy as _


class Refusals(NamedTuple):
    invalid: str
    empty: str
    too_many: str  # with %(n)s, the limit


ROWS = Refusals(_("The selection is not valid; tick the rows again."), _("Tick at least one row first."),
                _("Select at most %(n)s rows at a time."))


def parse_ids(values, limit: int = 100, refusals: Refusals = ROWS) -> list[int]:
    ids: list[int] = []
    for value in values:
        if not str(value).isdigit():
            raise ValueError(str(refusals.invalid))
        if int(value) not in ids:
            ids.append(int(value))
    if not ids:
        raise ValueError(str(refusals.empty))
    if len(ids) > limit:
        raise ValueError(str(refusals.too_many) % {"n": limit})
    return ids
