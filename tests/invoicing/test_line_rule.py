"""One line rule for invoices, quotes and recurring schedules (invoicing.models.DocumentLine): the
same fields with the same limits on all three, and the same amounts whichever document a line is
on. A quote becomes an invoice and a schedule; the schedule's lines become an invoice again: every
step keeps each line's gross and tax and the document's totals (Hypothesis, over currencies with
0, 2 and 3 minor digits, line discounts and tax rates)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from invoicing.models import DocumentLine, InvoiceLine, TaxRate
from invoicing.models_quotes import QuoteLine
from invoicing.models_recurring import Frequency, RecurringLine, RunAction
from invoicing.quotes import save_quote
from invoicing.recurring import line_dicts, save_schedule
from invoicing.services import save_draft
from invoicing.totals import line_amounts, sum_lines
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org

pytestmark = pytest.mark.django_db

LINE_MODELS = (InvoiceLine, QuoteLine, RecurringLine)
SHARED = [f.name for f in DocumentLine._meta.get_fields()]


def test_the_three_line_models_share_one_definition_of_their_common_fields():
    assert set(SHARED) == {"organization", "position", "description", "quantity", "unit", "unit_price",
                           "discount_percent", "tax_rate", "item"}
    for model in LINE_MODELS:
        assert issubclass(model, DocumentLine)
        for name in SHARED:
            mine = model._meta.get_field(name).deconstruct()[1:]
            assert mine == DocumentLine._meta.get_field(name).deconstruct()[1:], (model.__name__, name)
        assert model._meta.ordering == ["position", "pk"]


quantities = st.one_of(st.integers(1, 30).map(Decimal),
                       st.decimals(min_value=Decimal("0.001"), max_value=Decimal("500"), places=3))
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999"), places=4)
percents = st.sampled_from([Decimal(p) for p in ("0", "5", "12.5", "33.3333", "100")])
taxes = st.sampled_from([None, "0", "7", "19", "20", "33.3333"])
lines = st.lists(st.tuples(quantities, prices, percents, taxes), min_size=1, max_size=4)


@settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(currency=st.sampled_from(["EUR", "JPY", "KWD"]), rows=lines)
def test_a_line_has_the_same_amounts_on_a_quote_a_schedule_and_an_invoice(currency, rows):
    org, owner = make_org()
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency=currency)
        rates = {t: TaxRate.objects.get_or_create(organization=org, percent=Decimal(t),
                                                  defaults={"name": f"T{t}"})[0] for t in {r[3] for r in rows} if t}
        entries = [{"description": f"Line {n}", "quantity": q, "unit": "", "unit_price": p, "discount_percent": d,
                    "tax_rate": rates.get(t), "item": None} for n, (q, p, d, t) in enumerate(rows)]
        today = org.today()
        # What the rule says, straight from invoicing.totals.
        expected = [line_amounts(q, p, d, Decimal(0), Decimal(t or 0), currency) for q, p, d, t in rows]
        totals = sum_lines([(Decimal(t or 0), a) for (_, _, _, t), a in zip(rows, expected, strict=True)])

        quote = save_quote(org, None, {"customer": customer, "issue_date": today,
                                       "valid_until": today + timedelta(days=30), "reference": "", "notes": ""},
                           entries)
        quote_lines = list(quote.lines.select_related("tax_rate", "item"))
        assert [(li.gross_amount, li.tax_amount) for li in quote_lines] == [(a.gross, a.tax) for a in expected]
        assert (quote.subtotal, quote.tax_total, quote.total) == (totals.subtotal, totals.tax, totals.total)

        invoice = save_draft(org, None, {"customer": customer, "issue_date": today, "due_date": today,
                                         "reference": "", "discount_percent": Decimal(0), "notes": "", "terms": ""},
                             [li.entry() for li in quote_lines])
        assert [(li.gross_amount, li.tax_amount) for li in invoice.lines.all()] == [(a.gross, a.tax)
                                                                                    for a in expected]
        assert (invoice.subtotal, invoice.tax_total, invoice.total) == (totals.subtotal, totals.tax, totals.total)

        schedule = save_schedule(org, None, {"customer": customer, "name": "Monthly", "frequency": Frequency.MONTHLY,
                                             "interval": 1, "day_of_month": today.day, "start_date": today,
                                             "end_date": None, "max_count": None, "action": RunAction.DRAFT,
                                             "payment_terms_days": 14, "reference": "", "notes": ""},
                                 [li.entry() for li in quote_lines])
        again = save_draft(org, None, {"customer": customer, "issue_date": today, "due_date": today,
                                       "reference": "", "discount_percent": Decimal(0), "notes": "", "terms": ""},
                           line_dicts(schedule))
        assert [li.entry() | {"tax_rate": li.tax_rate_id} for li in again.lines.all()] == \
               [li.entry() | {"tax_rate": li.tax_rate_id} for li in quote_lines]
        assert (again.subtotal, again.tax_total, again.total) == (totals.subtotal, totals.tax, totals.total)
