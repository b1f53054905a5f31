"""The payment form's customer field above settings.CUSTOMER_SELECT_MAX: a typed name or code,
resolved by the server without JavaScript, also for the allocation screen's preview."""

import pytest

from payments.models import Payment
from tests.factories import CustomerFactory
from tests.payments.test_views import Shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    settings.CUSTOMER_SELECT_MAX = 2
    shop = Shop()  # Acme Ltd, EUR
    with shop.ctx():
        shop.dollars = CustomerFactory(organization=shop.org, name="Dollar Diner", code="DD", currency="USD")
        CustomerFactory(organization=shop.org, name="Acme Holdings", code="ACH")
    return shop


def test_the_form_has_no_select_of_customers(shop):
    page = shop.client().get(shop.url("payment_create")).content.decode()
    assert '<select name="customer"' not in page and 'name="customer_text"' in page
    assert "Dollar Diner" not in page
    page = shop.client().get(shop.url("payment_create") + f"?customer={shop.dollars.pk}").content.decode()
    assert 'value="Dollar Diner (DD)"' in page and f'type="hidden" value="{shop.dollars.pk}"' in page


def test_a_typed_name_records_the_payment_for_that_customer(shop):
    invoice = shop.invoice("100.00")
    response = shop.client().post(shop.url("payment_create"),
                                  shop.form(customer="", customer_text="acme ltd", amount="100.00"))
    assert response.status_code == 302
    with shop.ctx():
        payment = Payment.objects.get(organization=shop.org)
        assert payment.customer == shop.customer and payment.amount_allocated == 100
        assert invoice.allocations.get().payment == payment


def test_the_preview_follows_the_typed_text_not_a_stale_id(shop):
    shop.invoice("100.00")
    response = shop.client().post(shop.url("payment_create"), shop.form(
        action="preview", customer=str(shop.dollars.pk), customer_text="Acme Ltd", currency="USD", amount="40"))
    assert response.context["customer"] == shop.customer
    assert response.context["currency"] == "EUR" and len(response.context["plan"].rows) == 1
    assert "Currency set to EUR" in response.content.decode()
    with shop.ctx():
        assert not Payment.objects.filter(organization=shop.org).exists()


@pytest.mark.parametrize("typed, message", [
    ("acme", "Several customers match “acme”; type the code: ACH (Acme Holdings)"),
    ("Nobody", "No active customer matches “Nobody”."),
])
def test_unresolvable_text_records_nothing(shop, typed, message):
    response = shop.client().post(shop.url("payment_create"), shop.form(customer="", customer_text=typed))
    assert response.status_code == 200 and message in response.content.decode()
    with shop.ctx():
        assert not Payment.objects.filter(organization=shop.org).exists()
