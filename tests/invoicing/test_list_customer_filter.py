"""The invoice list's customer filter: a select of every customer (archived ones too, for history)
up to settings.CUSTOMER_SELECT_MAX, above it the type-ahead, whose typed text the server resolves
without JavaScript. A bookmarked ?customer=<id> keeps working either way, and the CSV follows."""

import re

import pytest
from django.utils import timezone

from accounts.models import Customer
from tests.factories import CustomerFactory
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def filter_invoices(acme, settings):
    """Bluebird Bakery (BLUE), Harbour Bakery (HARB) and Old Mill (MILL, archived since its
    invoice) above a threshold of 2: one invoice each."""
    settings.CUSTOMER_SELECT_MAX = 2
    with acme.ctx():
        harbour = CustomerFactory(organization=acme.org, name="Harbour Bakery", code="HARB")
        mill = CustomerFactory(organization=acme.org, name="Old Mill", code="MILL")
        invoices = {c.code: issued(acme.org, c, [("Bread", "1", amount, None)])
                    for c, amount in ((acme.customer, "10"), (harbour, "20"), (mill, "30"))}
        mill.archived_at = timezone.now()
        mill.save(update_fields=["archived_at"])
    acme.customers = {"BLUE": acme.customer, "HARB": harbour, "MILL": mill}
    acme.invoices = invoices
    return acme


def get(acme, params, name="invoice_list"):
    response = acme.client(acme.viewer).get(acme.url(name), params)
    assert response.status_code == 200
    return response


def listed(response):
    return sorted(inv.customer.code for inv in response.context["page"])


def errors(response):
    return re.findall(r'<div class="flash flash-error filter-errors" role="alert">([^<]*)</div>',
                      response.content.decode())


def test_above_the_threshold_the_filter_is_the_type_ahead_with_archived_customers(filter_invoices):
    page = get(filter_invoices, {}).content.decode()
    assert '<select name="customer"' not in page and "Harbour Bakery (HARB)" not in page
    assert f'data-lookup-url="/o/{filter_invoices.org.slug}/customers/lookup/?archived=1"' in page
    assert 'placeholder="Any customer"' in page and 'data-no-match="No customer matches “{text}”."' in page
    assert "js/customer_picker.js" in page


@pytest.mark.parametrize("typed, code", [
    ("harbour", "HARB"), ("blue", "BLUE"), ("Harbour Bakery (HARB)", "HARB"),
    ("mill", "MILL"), ("MILL", "MILL"),  # archived: its invoices are still history to find
])
def test_without_javascript_typed_text_filters(filter_invoices, typed, code):
    response = get(filter_invoices, {"customer_text": typed, "customer": ""})
    assert listed(response) == [code] and errors(response) == []
    customer = filter_invoices.customers[code]
    page = response.content.decode()
    assert f'value="{customer}"' in page and f'name="customer" type="hidden" value="{customer.pk}"' in page


def test_a_bookmarked_customer_id_filters_and_shows_the_customer(filter_invoices):
    mill = filter_invoices.customers["MILL"]
    response = get(filter_invoices, {"customer": mill.pk})
    assert listed(response) == ["MILL"]
    assert 'value="Old Mill (MILL)"' in response.content.decode()


def test_retyped_text_wins_over_the_stale_id_and_empty_text_means_any_customer(filter_invoices):
    harbour = filter_invoices.customers["HARB"]
    assert listed(get(filter_invoices, {"customer_text": "blue", "customer": harbour.pk})) == ["BLUE"]
    assert listed(get(filter_invoices, {"customer_text": "", "customer": harbour.pk})) == ["BLUE", "HARB", "MILL"]


@pytest.mark.parametrize("typed, message", [
    ("bakery", "Several customers match “bakery”; type the code: BLUE (Bluebird Bakery), HARB (Harbour Bakery)."),
    ("Nobody", "No customer matches “Nobody”."),
])
def test_unresolvable_text_says_why_next_to_the_filter(filter_invoices, typed, message):
    response = get(filter_invoices, {"customer_text": typed, "customer": ""})
    assert errors(response) == [message + " "] and listed(response) == []
    page = response.content.decode()
    assert f'value="{typed}"' in page and 'aria-invalid="true"' in page  # kept for correcting
    assert page.index('class="filters invoice-filters"') < page.index("filter-errors") < page.index("<table")


def test_the_csv_follows_the_typed_customer(filter_invoices):
    response = get(filter_invoices, {"customer_text": "mill", "customer": ""}, name="invoice_export")
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 2 and ",MILL," in lines[1]
    response = get(filter_invoices, {"customer_text": "bakery", "customer": ""}, name="invoice_export")
    assert len(b"".join(response.streaming_content).decode().splitlines()) == 1  # the header only


def test_at_the_threshold_the_select_lists_archived_customers_too(filter_invoices, settings):
    settings.CUSTOMER_SELECT_MAX = 3  # BLUE, HARB and the archived MILL
    response = get(filter_invoices, {"customer": filter_invoices.customers["MILL"].pk})
    assert listed(response) == ["MILL"]
    select = re.search(r'<select name="customer".*?</select>', response.content.decode(), re.S).group(0)
    assert select.count("<option") == 3 + 1 and "Old Mill (MILL)" in select and "Any customer" in select
    assert 'name="customer_text"' not in response.content.decode()


def test_the_lookup_offers_archived_customers_only_when_asked_and_marks_them(filter_invoices):
    client = filter_invoices.client(filter_invoices.viewer)
    url = filter_invoices.url("customer_lookup")
    assert client.get(url, {"q": "mill"}).json() == {"results": []}
    results = client.get(url, {"q": "mill", "archived": "1"}).json()["results"]
    assert [(r["code"], r["archived"]) for r in results] == [("MILL", True)]
    results = client.get(url, {"q": "bakery", "archived": "1"}).json()["results"]
    assert [(r["code"], r["archived"]) for r in results] == [("BLUE", False), ("HARB", False)]


def test_a_thousand_customers_put_no_option_of_theirs_on_the_page(filter_invoices, settings):
    settings.CUSTOMER_SELECT_MAX = 200
    with filter_invoices.ctx():
        Customer.objects.bulk_create([Customer(organization=filter_invoices.org, name=f"Client {n:04d}",
                                               code=f"CL{n:04d}", currency="EUR") for n in range(1000)])
    page = get(filter_invoices, {}).content.decode()
    options = re.findall(r"<option[^>]*>([^<]*)", page)
    assert not any("Client" in o or "Bakery" in o for o in options) and len(options) == 8  # the statuses
    assert len(page) < 20_000, len(page)  # a select of them was ~60 KB
