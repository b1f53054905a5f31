"""Extreme input gives a clear answer, never a 500 (issue 22, #5)."""

import pytest
from django.test import Client

from tests.payments.helpers import snapshot
from tests.payments.test_views import Shop

pytestmark = pytest.mark.django_db

HUGE_PAGES = ["99999999999999999999", "9" * 5000, "9223372036854775807", "10000000000", "-5", "1e9", "²"]


@pytest.mark.parametrize("name", ["aging_report", "open_items_report", "insights_report"])
def test_a_page_number_past_bigint_is_not_a_500(name):
    shop = Shop()
    shop.invoice("100.00")
    client = shop.client()
    for raw in HUGE_PAGES:
        response = client.get(shop.url(name), {"page": raw})
        assert response.status_code == 200, (name, raw)


@pytest.mark.parametrize("amount", ["999999999999999", "999999999999999.99", "100000000000000", "1" + "0" * 30])
def test_a_payment_near_the_numeric_limit_is_refused_with_a_message(amount):
    shop = Shop()
    client: Client = shop.client()
    # One large payment already on the day: the day totals must not overflow either.
    client.post(shop.url("payment_create"), shop.form(amount="900000000000.00"))
    with shop.ctx():
        before = snapshot(shop.org)
    response = client.post(shop.url("payment_create"), shop.form(amount=amount))
    assert response.status_code == 200
    assert "too large" in response.content.decode()
    with shop.ctx():
        assert snapshot(shop.org) == before


def test_a_nul_character_in_a_search_is_refused_with_400_not_500():
    shop = Shop()
    client = shop.client()
    response = client.get(shop.url("aging_report"), {"q": "a\x00b"})
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_character_in_a_form_field_changes_nothing():
    shop = Shop()
    shop.invoice("100.00")
    client: Client = shop.client()
    with shop.ctx():
        before = snapshot(shop.org)
    # Multipart forms reach Django's form validation, which refuses NUL with a message.
    response = client.post(shop.url("payment_create"), shop.form(amount="10.00", reference="x\x00y"))
    assert response.status_code == 200
    assert "Null characters are not allowed" in response.content.decode()
    # A urlencoded body is refused before any view runs.
    response = client.post(shop.url("payment_create"), "reference=x%00y&amount=10.00",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    with shop.ctx():
        assert snapshot(shop.org) == before
