"""The payment form's customer field above settings.CUSTOMER_SELECT_MAX: a typed name or code,
resolved by the server without JavaScript, also for the allocation screen's preview; the reload
when a customer is chosen; and the payment list's customer filter."""

import re

import pytest
from django.utils import timezone

from accounts.models import Customer
from payments.models import Payment
from tests.factories import CustomerFactory
from tests.ledger_helpers import flat_rates
from tests.payments.helpers import pay
from tests.payments.test_views import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def picker(settings):
    settings.CUSTOMER_SELECT_MAX = 2
    picker = Shop()  # Acme Ltd, EUR
    with picker.ctx():
        picker.dollars = CustomerFactory(organization=picker.org, name="Dollar Diner", code="DD", currency="USD")
        flat_rates(picker.org, {"USD": "0.92"})
        CustomerFactory(organization=picker.org, name="Acme Holdings", code="ACH")
    return picker


def test_the_form_has_no_select_of_customers(picker):
    page = picker.client().get(picker.url("payment_create")).content.decode()
    assert '<select name="customer"' not in page and 'name="customer_text"' in page
    assert "Dollar Diner" not in page
    page = picker.client().get(picker.url("payment_create") + f"?customer={picker.dollars.pk}").content.decode()
    assert 'value="Dollar Diner (DD)"' in page and f'type="hidden" value="{picker.dollars.pk}"' in page


def test_a_typed_name_records_the_payment_for_that_customer(picker):
    invoice = picker.invoice("100.00")
    response = picker.client().post(picker.url("payment_create"),
                                  picker.form(customer="", customer_text="acme ltd", amount="100.00"))
    assert response.status_code == 302
    with picker.ctx():
        payment = Payment.objects.get(organization=picker.org)
        assert payment.customer == picker.customer and payment.amount_allocated == 100
        assert invoice.allocations.get().payment == payment


def test_the_preview_follows_the_typed_text_not_a_stale_id(picker):
    picker.invoice("100.00")
    response = picker.client().post(picker.url("payment_create"), picker.form(
        action="preview", customer=str(picker.dollars.pk), customer_text="Acme Ltd", currency="USD", amount="40"))
    assert response.context["customer"] == picker.customer
    assert response.context["currency"] == "EUR" and len(response.context["plan"].rows) == 1
    assert "Currency set to EUR" in response.content.decode()
    with picker.ctx():
        assert not Payment.objects.filter(organization=picker.org).exists()


@pytest.mark.parametrize("typed, message", [
    ("acme", "Several customers match “acme”; type the code: ACH (Acme Holdings)"),
    ("Nobody", "No active customer matches “Nobody”."),
])
def test_unresolvable_text_records_nothing(picker, typed, message):
    response = picker.client().post(picker.url("payment_create"), picker.form(customer="", customer_text=typed))
    assert response.status_code == 200 and message in response.content.decode()
    with picker.ctx():
        assert not Payment.objects.filter(organization=picker.org).exists()


# --- Choosing the customer reloads the screen (allocation.js posts action=reload) ---------------

def field_errors(response):
    return re.findall(r'<small class="error" role="alert">([^<]*)</small>', response.content.decode())


def test_choosing_a_customer_reloads_without_errors_for_fields_not_filled_yet(picker):
    picker.invoice("100.00")
    response = picker.client().post(picker.url("payment_create"), picker.form(
        action="reload", customer="", customer_text="acme ltd", amount="",
        reference="", received_date=""))
    assert response.status_code == 200 and field_errors(response) == []
    assert "This field is required" not in response.content.decode()
    assert response.context["customer"] == picker.customer and len(response.context["plan"].rows) == 1
    with picker.ctx():
        assert not Payment.objects.filter(organization=picker.org).exists()


def test_the_reload_still_shows_what_is_wrong_with_typed_values_and_preview_checks_everything(picker):
    response = picker.client().post(picker.url("payment_create"), picker.form(
        action="reload", customer="", customer_text="acme ltd", amount="12,x"))
    assert field_errors(response)[0].startswith("Type numbers as 1,234.56")
    response = picker.client().post(picker.url("payment_create"), picker.form(
        action="preview", customer="", customer_text="acme ltd", amount=""))
    assert field_errors(response) == ["This field is required."]  # asked for: the Preview button


# --- The payment list's customer filter ---------------------------------------------------------

@pytest.fixture
def paid(picker):
    """A payment from each customer; Old Mill (MILL) archived since."""
    with picker.ctx():
        mill = CustomerFactory(organization=picker.org, name="Old Mill", code="MILL")
        holdings = Customer.objects.get(organization=picker.org, code="ACH")
        for c in (picker.customer, picker.dollars, holdings, mill):
            pay(picker.org, c, "10.00", reference=f"REF-{c.code}", allocation="none")
        mill.archived_at = timezone.now()
        mill.save(update_fields=["archived_at"])
    picker.mill = mill
    return picker


def payments_listed(picker, params, name="payment_list"):
    response = picker.client(picker.viewer).get(picker.url(name), params)
    assert response.status_code == 200
    return response, sorted(p.reference for p in response.context["page"]) if name == "payment_list" else None


def test_the_list_filter_is_the_type_ahead_above_the_threshold(paid):
    response, refs = payments_listed(paid, {})
    page = response.content.decode()
    assert len(refs) == 4 and '<select name="customer"' not in page and "Old Mill (MILL)" not in page
    assert f'data-lookup-url="/o/{paid.org.slug}/customers/lookup/?archived=1"' in page
    assert "js/customer_picker.js" in page


@pytest.mark.parametrize("params, ref", [
    ({"customer_text": "diner", "customer": ""}, "REF-DD"),
    ({"customer_text": "mill", "customer": ""}, "REF-MILL"),  # archived: its payments are history
    ({"customer_text": "acme ltd", "customer": "999999"}, None),  # a stale id loses to the text
])
def test_without_javascript_typed_text_filters_the_list(paid, params, ref):
    response, refs = payments_listed(paid, params)
    expected = ref or f"REF-{paid.customer.code}"
    assert refs == [expected]
    assert f'name="customer" type="hidden" value="{response.context["page"][0].customer_id}"' in \
        response.content.decode()


def test_a_bookmarked_customer_id_filters_the_list_and_the_csv(paid):
    response, refs = payments_listed(paid, {"customer": paid.mill.pk})
    assert refs == ["REF-MILL"] and 'value="Old Mill (MILL)"' in response.content.decode()
    response, _ = payments_listed(paid, {"customer_text": "Old Mill (MILL)", "customer": paid.mill.pk},
                                  name="payment_export")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2 and "REF-MILL" in lines[1]


def test_ambiguous_text_says_so_next_to_the_filter_and_lists_nothing(paid):
    response, refs = payments_listed(paid, {"customer_text": "acme", "customer": ""})
    page = response.content.decode()
    assert refs == [] and response.context["totals"] == []
    message = "Customer: Several customers match “acme”; type the code: ACH (Acme Holdings), "
    assert re.search(r'<div class="flash flash-error filter-errors" role="alert">' + re.escape(message), page)
    assert page.index('class="filters pay-filters"') < page.index("filter-errors")
    response, _ = payments_listed(paid, {"customer_text": "acme", "customer": ""}, name="payment_export")
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 1  # the header only
    response, refs = payments_listed(paid, {"customer_text": "Nobody", "customer": ""})
    assert refs == [] and "No customer matches “Nobody”." in response.content.decode()


def test_at_the_threshold_the_list_keeps_the_select_with_archived_customers(paid, settings):
    settings.CUSTOMER_SELECT_MAX = 4  # three active customers and the archived Old Mill
    response, refs = payments_listed(paid, {"customer": paid.mill.pk})
    select = re.search(r'<select name="customer".*?</select>', response.content.decode(), re.S).group(0)
    assert refs == ["REF-MILL"] and select.count("<option") == 4 + 1 and "Old Mill (MILL)" in select


def test_a_thousand_customers_put_no_option_of_theirs_on_the_list(paid, settings):
    settings.CUSTOMER_SELECT_MAX = 200
    with paid.ctx():
        Customer.objects.bulk_create([Customer(organization=paid.org, name=f"Client {n:04d}", code=f"CL{n:04d}",
                                               currency="EUR") for n in range(1000)])
    response, _ = payments_listed(paid, {})
    page = response.content.decode()
    options = re.findall(r"<option[^>]*>([^<]*)", page)
    assert not any("Client" in o or "Acme" in o for o in options)
    assert len(page) < 20_000, len(page)
