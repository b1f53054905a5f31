"""Conditions that row-level security lets an index serve (accounts/search_indexes.py says why):
case-insensitive "contains", "starts with" and "equals" on text, and comparisons of amounts,
written with the leakproof operators of accounts migration 0035.

Use them as expressions in a filter or a When():

    Invoice.objects.filter(IContains(F("number"), text) | AmountEquals(F("total"), amount))

They answer like Django's `icontains` / `istartswith` / `iexact` (ILIKE instead of UPPER() LIKE
UPPER(): the same answers except for letters whose upper and lower case differ in length) and
`exact` / `gte` / `lte` on a DecimalField. The text is escaped here (% _ and \\ match themselves)."""

from decimal import Decimal

from django.db.models import BooleanField
from django.db.models.lookups import Lookup

ILIKE = "#~~*#"


class _Leakproof(Lookup):
    """`column OPERATOR(public.<operator>) <right side><cast>`: one of the leakproof operators."""

    prepare_rhs = False
    operator = ""
    cast = ""

    @property
    def output_field(self):
        return BooleanField()

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} OPERATOR(public.{self.operator}) {rhs}{self.cast}", [*lhs_params, *rhs_params]


class _Pattern(_Leakproof):
    """`column #~~*# pattern`, the pattern built from the escaped text."""

    operator = ILIKE
    pattern = "%s"

    def get_db_prep_lookup(self, value, connection):
        return "%s", [self.pattern % connection.ops.prep_for_like_query(str(value))]


class IContains(_Pattern):
    lookup_name = "ledger_icontains"
    pattern = "%%%s%%"


class IStartsWith(_Pattern):
    lookup_name = "ledger_istartswith"
    pattern = "%s%%"


class IExact(_Pattern):
    lookup_name = "ledger_iexact"
    pattern = "%s"


class _Amount(_Leakproof):
    prepare_rhs = True  # the column's own preparation first, as before
    cast = "::numeric"

    def get_db_prep_lookup(self, value, connection):
        return "%s", [Decimal(value)]  # exactly as given: no rounding to the column's places


class AmountEquals(_Amount):
    lookup_name = "ledger_amount_eq"
    operator = "#=#"


class AmountAtLeast(_Amount):
    lookup_name = "ledger_amount_gte"
    operator = "#>=#"


class AmountAtMost(_Amount):
    lookup_name = "ledger_amount_lte"
    operator = "#<=#"
