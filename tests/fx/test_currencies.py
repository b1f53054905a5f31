"""Issue 17 item 1: every active ISO 4217 currency (CLDR via Babel), minor units in rounding, and
amounts laid out per locale (house style for the English interface)."""

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts import currencies
from accounts.forms import CURRENCIES
from accounts.models import Customer, Role
from accounts.money import format_amount, format_money, minor_units, round_money
from invoicing.totals import line_amounts, sum_lines
from ledger_site.tenancy import tenant_context
from tests.factories import add_member, make_org

D = Decimal


def test_active_currencies_come_from_cldr_and_include_the_ones_people_missed():
    codes = currencies.active_codes()
    assert len(codes) > 140
    for code in ["INR", "CNY", "ZAR", "BRL", "MXN", "SGD", "HKD", "AED", "EUR", "USD", "JPY", "KWD"]:
        assert code in codes and code in CURRENCIES
    for gone in ["HRK", "DEM", "VEF", "SLL"]:
        assert gone not in codes
    assert "XXX" not in codes and "CLF" not in codes  # not tender


def test_minor_units_from_cldr():
    assert (minor_units("JPY"), minor_units("KWD"), minor_units("EUR"), minor_units("INR")) == (0, 3, 2, 2)
    assert minor_units("BHD") == 3 and minor_units("KRW") == 0
    assert minor_units("CLF") == 3  # 4 in CLDR, capped by numeric(18, 3): never active anyway


def test_rounding_per_minor_unit_in_lines_and_taxes():
    assert round_money(D("1234.5"), "JPY") == D("1235")
    assert round_money(D("-0.0005"), "KWD") == D("-0.001")
    jpy = line_amounts(D("3"), D("333.5"), D("0"), D("0"), D("10"), "JPY")
    assert (jpy.gross, jpy.net, jpy.tax) == (D("1001"), D("1001"), D("100"))
    kwd = line_amounts(D("1"), D("10.0005"), D("0"), D("0"), D("5"), "KWD")
    assert (kwd.gross, kwd.tax) == (D("10.001"), D("0.500"))
    totals = sum_lines([(D("10"), jpy), (D("10"), jpy)])
    assert totals.total == D("2202")


def test_withdrawn_and_unknown_codes_have_their_own_message():
    with pytest.raises(currencies.UnknownCurrency, match=r"HRK was withdrawn \(last legal tender 2023-01-14\)"):
        currencies.validate_code("HRK")
    with pytest.raises(currencies.UnknownCurrency, match="not an active ISO 4217"):
        currencies.validate_code("ABC")
    assert currencies.validate_code(" inr ") == "INR"


def test_house_style_is_unchanged_for_the_english_interface():
    assert format_money(D("-1234.5"), "EUR", "en") == "\u22121,234.50 EUR"
    assert format_money(D("1234.5"), "JPY", "en") == "1,235 JPY"
    assert format_money(D("1234.5"), "KWD", "en") == "1,234.500 KWD"


def test_locale_formats_through_babel():
    assert format_money(D("123456"), "INR", "en-in") == "₹1,23,456.00"
    assert format_money(D("123456"), "INR", "hi") == "₹1,23,456.00"
    assert format_money(D("1234.56"), "EUR", "de") == "1.234,56\xa0€"
    assert format_money(D("1234.5"), "JPY", "ja") == "￥1,235"
    assert format_money(D("-1234.56"), "EUR", "de").startswith("\u2212")
    assert format_amount(D("1234567.5"), "INR", "en-in") == "12,34,567.50"


def test_money_filter_follows_the_active_language():
    template = Template("{% load invoice_tags %}{{ amount|money:'EUR' }}")
    assert template.render(Context({"amount": D("1234.56")})) == "1,234.56 EUR"
    with translation.override("de"):
        assert template.render(Context({"amount": D("1234.56")})) == "1.234,56\xa0€"
    with translation.override("en-in"):
        assert Template("{% load invoice_tags %}{{ a|money:'INR' }}").render(Context({"a": D("123456")})) \
            == "₹1,23,456.00"


@pytest.mark.django_db
def test_customer_in_rupees_and_withdrawn_code_refused():
    org, owner = make_org(name="Desi", slug="desi", base_currency="INR")
    client = Client()
    client.force_login(add_member(org, Role.FINANCE))
    data = {"name": "Mumbai Traders", "code": "", "billing_emails": "ap@mumbai.example", "contact_person": "",
            "phone": "", "billing_address": "", "tax_id": "", "currency": "INR", "payment_terms_days": "30",
            "credit_limit": "0", "language": "en", "tags": "", "notes": ""}
    url = reverse("customer_create", kwargs={"org_slug": org.slug})
    assert client.post(url, data).status_code == 302
    response = client.post(url, {**data, "name": "Zagreb", "currency": "HRK"})
    assert response.status_code == 200
    assert "HRK was withdrawn" in response.content.decode()
    with tenant_context(org):
        assert list(Customer.objects.filter(organization=org).values_list("currency", flat=True)) == ["INR"]
