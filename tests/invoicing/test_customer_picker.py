"""The invoice editor's customer field: a select for a small organization; above
settings.CUSTOMER_SELECT_MAX active customers a text field whose typed name or code the server
resolves without JavaScript (the browser part is tests/browser/test_customer_picker.py)."""

import re

import pytest
from django.utils import timezone

from accounts.models import Customer
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.invoicing_helpers import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(acme, settings):
    """The shop (Bluebird Bakery, BLUE) above a lowered threshold, with names that collide."""
    settings.CUSTOMER_SELECT_MAX = 3
    with acme.ctx():
        CustomerFactory(organization=acme.org, name="Acme", code="ACME", currency="JPY", payment_terms_days=7)
        CustomerFactory(organization=acme.org, name="Acme Holdings", code="ACH")
        CustomerFactory(organization=acme.org, name="Harbour Bakery", code="HARB")
        CustomerFactory(organization=acme.org, name="Archived Bakery", code="ARCV", archived_at=timezone.now())
    return acme


def post(acme, customer_text, customer="", url=None, **extra):
    data = {"action": "save", "customer_text": customer_text, "customer": customer,
            "issue_date": timezone.localdate().isoformat(), "due_date": "", "reference": "", "discount_percent": "0",
            "notes": "", "terms": "", "lines-TOTAL_FORMS": "1", "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": "500", "lines-0-description": "Bread",
            "lines-0-quantity": "2", "lines-0-unit": "", "lines-0-unit_price": "5", "lines-0-discount_percent": "0",
            "lines-0-tax_rate": "", **extra}
    return acme.client(acme.finance).post(url or acme.url("invoice_create"), data)


def customer(acme, code, org=None):
    with acme.ctx() if org is None else tenant_context(org):
        return Customer.objects.get(organization=org or acme.org, code=code)


def saved_customer(acme):
    with acme.ctx():
        return Invoice.objects.get(organization=acme.org).customer.code


def field_errors(response):
    return re.findall(r'<small class="error" role="alert">([^<]*)</small>', response.content.decode())


def test_a_small_organization_keeps_the_select(acme, settings):
    assert settings.CUSTOMER_SELECT_MAX == 200
    with acme.ctx():
        Customer.objects.bulk_create([Customer(organization=acme.org, name=f"Client {n:03d}", code=f"CL{n:03d}",
                                               currency="EUR") for n in range(199)])  # 200 with Bluebird
        CustomerFactory(organization=acme.org, name="Gone Ltd", archived_at=timezone.now())  # does not count
    page = acme.client(acme.finance).get(acme.url("invoice_create")).content.decode()
    select = re.search(r'<select name="customer".*?</select>', page, re.S).group(0)
    assert select.count("<option") == 200 + 1 and "Choose a customer…" in select and "Gone Ltd" not in select
    assert 'data-currency="EUR" data-minor-units="2" data-terms="14"' in select  # Bluebird, for the live editor
    assert 'name="customer_text"' not in page
    with acme.ctx():
        CustomerFactory(organization=acme.org, name="Client 200", code="CL200")
    page = acme.client(acme.finance).get(acme.url("invoice_create")).content.decode()
    assert '<select name="customer"' not in page and 'name="customer_text"' in page
    assert "Client 000" not in page and f'data-lookup-url="/o/{acme.org.slug}/customers/lookup/"' in page


def test_above_the_threshold_the_page_lists_no_customers(big):
    page = big.client(big.finance).get(big.url("invoice_create")).content.decode()
    assert "Bluebird Bakery" not in page and "Acme (ACME)" not in page and "Harbour" not in page
    assert "<option" not in page.split('id="line-rows"')[0]
    assert '<input name="customer" type="hidden" value="">' in page
    assert "Type the customer&#x27;s name or code." in page


@pytest.mark.parametrize("typed, code", [
    ("BLUE", "BLUE"), ("blue", "BLUE"),  # an exact code, any case
    ("bluebird", "BLUE"), ("Harbour", "HARB"),  # the one name containing the text
    ("acme", "ACME"),  # an exact name wins over names that contain it
    ("Acme Holdings (ACH)", "ACH"),  # the label the picker shows
])
def test_without_javascript_the_typed_text_is_resolved(big, typed, code):
    response = post(big, typed)
    assert response.status_code == 302, field_errors(response)
    assert saved_customer(big) == code


def test_the_due_date_and_currency_follow_the_resolved_customer(big):
    assert post(big, "acme").status_code == 302
    with big.ctx():
        invoice = Invoice.objects.get(organization=big.org)
    assert invoice.currency == "JPY" and invoice.due_date == invoice.issue_date + timezone.timedelta(days=7)


@pytest.mark.parametrize("typed, message", [
    ("Bakery", "Several customers match “Bakery”; type the code: BLUE (Bluebird Bakery), HARB (Harbour Bakery)."),
    ("Nobody", "No active customer matches “Nobody”."),
    ("Archived Bakery", "No active customer matches “Archived Bakery”."),
    ("ARCV", "No active customer matches “ARCV”."),
    ("", "Type a customer's name or code."),
])
def test_unresolvable_text_is_a_clear_error_and_nothing_is_saved(big, typed, message):
    response = post(big, typed)
    assert response.status_code == 200
    assert field_errors(response) == [message.replace("'", "&#x27;")]
    assert f'value="{typed}"' in response.content.decode()  # kept for correcting
    with big.ctx():
        assert not Invoice.objects.filter(organization=big.org).exists()


def test_the_chosen_id_counts_while_the_text_still_names_that_customer(big):
    acme = customer(big, "ACME")
    assert post(big, "Acme (ACME)", customer=str(acme.pk)).status_code == 302
    assert saved_customer(big) == "ACME"


def test_a_stale_id_loses_to_retyped_text(big):
    """Without JavaScript, retyping the name leaves the previous customer's id in the hidden input."""
    acme = customer(big, "ACME")
    assert post(big, "Harbour", customer=str(acme.pk)).status_code == 302
    assert saved_customer(big) == "HARB"


def test_another_organizations_customer_is_never_accepted(big):
    other, _ = make_org()
    with tenant_context(other):
        foreign = CustomerFactory(organization=other, name="Foreign Foods", code="FF")
    for typed, pk in (("Foreign Foods (FF)", foreign.pk), ("FF", ""), ("Foreign Foods", "")):
        response = post(big, typed, customer=str(pk))
        assert field_errors(response) == [f"No active customer matches “{typed}”."]
    with big.ctx():
        assert not Invoice.objects.filter(organization=big.org).exists()


def test_editing_a_draft_shows_its_customer_with_the_live_data(big):
    acme = customer(big, "ACME")
    with big.ctx():
        invoice = draft(big.org, acme)
    page = big.client(big.finance).get(big.url("invoice_edit", pk=invoice.pk)).content.decode()
    assert 'name="customer_text"' in page and 'value="Acme (ACME)"' in page
    assert (f'<input data-currency="JPY" data-minor-units="0" data-terms="7" name="customer" type="hidden" '
            f'value="{acme.pk}">') in page
    response = post(big, "Harbour", customer=str(acme.pk), url=big.url("invoice_edit", pk=invoice.pk))
    assert response.status_code == 302
    with big.ctx():
        invoice.refresh_from_db()
        assert invoice.customer.code == "HARB"


def test_recalculate_shows_whom_the_text_resolved_to(big):
    page = post(big, "harbour", action="recalculate").content.decode()
    harbour = customer(big, "HARB")
    assert 'value="Harbour Bakery (HARB)"' in page and f'type="hidden" value="{harbour.pk}"' in page
    assert "10.00 EUR" in page


def test_add_line_without_javascript_keeps_the_typed_text(big):
    page = post(big, "Bakery", action="add_line").content.decode()
    assert 'value="Bakery"' in page and 'name="lines-TOTAL_FORMS" value="2"' in page
    assert 'name="customer" type="hidden" value=""' in page  # two bakeries: not resolved yet
    page = post(big, "acme hol", action="add_line").content.decode()
    assert 'value="Acme Holdings (ACH)"' in page


def test_new_invoice_from_a_customer_page_preselects_it(big):
    acme = customer(big, "ACME")
    page = big.client(big.finance).get(big.url("invoice_create") + f"?customer={acme.pk}").content.decode()
    assert 'value="Acme (ACME)"' in page and 'data-currency="JPY"' in page
    assert '<output id="currency-display" class="currency-display">JPY</output>' in page
