"""The one number parser (accounts.locale.parse_number) and the form field every amount uses
(issue 21 points 2 and 14): property-based over locales and values, plus the messages."""

import ast
import pathlib
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.forms_fields import NumberField, amount_field
from accounts.locale import (
    LOCALE_CODES,
    NumberInputError,
    expected_format,
    format_day,
    format_input,
    marks,
    parse_number,
)
from accounts.money import format_amount
from ledger_site.exports import csv_bytes

LOCALES = sorted(LOCALE_CODES)
AMOUNTS = st.decimals(min_value=Decimal("-999999999999.999"), max_value=Decimal("999999999999.999"),
                      places=3, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(locale=st.sampled_from(LOCALES), value=AMOUNTS, grouped=st.booleans())
def test_format_then_parse_gives_the_same_decimal(locale, value, grouped):
    assert parse_number(format_input(value, locale, grouped=grouped), locale) == value
    # Babel's own display (CLDR pattern, the locale's minus sign) reads back too.
    assert parse_number(format_decimal(value, locale=locale, decimal_quantization=False), locale) == value


@settings(max_examples=200, deadline=None)
@given(locale=st.sampled_from(LOCALES), value=AMOUNTS)
def test_page_amounts_read_back(locale, value):
    """What pages show (accounts.money.format_amount, in the organization's marks) is what its
    forms accept."""
    from accounts.models import Organization
    from ledger_site.tenancy import _current_org

    token = _current_org.set(Organization(name="x", slug="x", locale=locale))
    try:
        shown = format_amount(value, "KWD")  # 3 decimals: every generated value exactly
        assert parse_number(shown) == value
    finally:
        _current_org.reset(token)


@pytest.mark.parametrize("locale, text, value", [
    ("en_GB", "1,000.00", Decimal("1000.00")),
    ("en_GB", "1,250.00", Decimal("1250.00")),
    ("en_GB", " 12.5 ", Decimal("12.5")),
    ("en_GB", ".5", Decimal("0.5")),
    ("en_GB", "-1,234,567.891", Decimal("-1234567.891")),
    ("en_US", "1,234", Decimal("1234")),
    ("en_IN", "1,23,456.78", Decimal("123456.78")),
    ("de_DE", "1.250,00", Decimal("1250.00")),
    ("de_DE", "1250,5", Decimal("1250.5")),
    ("de_DE", "1.234.567", Decimal("1234567")),
    ("fr_FR", "1 250,50", Decimal("1250.50")),
    ("fr_FR", "1\u202f250,50", Decimal("1250.50")),
    ("sv_SE", "\u22121\u00a0000,25", Decimal("-1000.25")),
])
def test_accepts_what_people_type(locale, text, value):
    assert parse_number(text, locale) == value


@pytest.mark.parametrize("locale, text", [
    ("en_GB", "1,5"),  # a German decimal in English: ambiguous, never read as 15
    ("en_GB", "1.250,00"),
    ("en_GB", "12,34.5"),
    ("en_GB", "1,2345"),
    ("en_GB", "1 000"),
    ("en_GB", "1.2.3"),
    ("en_GB", "EUR 10"),
    ("en_GB", "1e5"),
    ("en_GB", "NaN"),
    ("en_GB", "."),
    ("en_GB", "--5"),
    ("en_GB", "١٢٣"),
    ("en_IN", "123,456.78"),
    ("de_DE", "1.5"),  # an English decimal in German
    ("de_DE", "1,250.00"),
    ("de_DE", "1250.00"),
    ("fr_FR", "1.250,00"),
])
def test_refuses_ambiguous_text_naming_the_expected_format(locale, text):
    with pytest.raises(NumberInputError) as e:
        parse_number(text, locale)
    assert format_input(Decimal("1234.56"), locale) in str(e.value)
    assert "decimals" in str(e.value)


def test_blank_is_none():
    assert parse_number("  ", "en_GB") is None
    assert parse_number(None, "de_DE") is None


def test_form_field_uses_the_organizations_locale(org_factory_locale):
    org = org_factory_locale("de_DE")
    from ledger_site.tenancy import _current_org

    token = _current_org.set(org)
    try:
        field = amount_field("Amount")
        assert field.clean("1.250,00") == Decimal("1250.00")
        with pytest.raises(Exception) as e:
            field.clean("1,250.00")
        assert "1.234,56" in str(e.value)
        assert field.widget.format_value(Decimal("1250.50")) == "1250,50"
        assert format_amount(Decimal("-1234.5"), "EUR") == "\u22121.234,50"
        assert expected_format().startswith("Type numbers as 1.234,56")
    finally:
        _current_org.reset(token)
    assert amount_field("Amount").clean("1,250.00") == Decimal("1250.00")  # default en_GB


@pytest.fixture
def org_factory_locale():
    from accounts.models import Organization

    return lambda code: Organization(name="Locale test", slug="locale-test", locale=code)


def test_csv_amounts_keep_only_significant_decimals():
    """Point 14: a numeric(18, 3) column read back as 100.000 is exported as 100.00."""
    out = csv_bytes([[Decimal("100.000"), Decimal("12.125"), Decimal("-3.500"), Decimal("7")]], bom=False)
    assert out.decode() == "100.00,12.125,-3.50,7\r\n"


def test_one_date_display_per_locale():
    from datetime import date

    day = date(2026, 12, 7)
    assert format_day(day, "en_GB") == "7 Dec 2026"
    assert format_day(day, "en_US") == "Dec 7, 2026"
    assert format_day(day, "de_DE") == "07.12.2026"
    assert format_day(None, "en_GB") == ""


def test_marks_come_from_cldr():
    assert marks("de_DE")["decimal"] == "," and marks("de_DE")["group"] == "."
    assert marks("en_IN")["grouping"] == (3, 2)


APPS = ("accounts", "invoicing", "payments", "reminders", "reports", "ledger_site")


def test_every_number_form_field_is_the_locale_aware_one():
    """Guard: a plain forms.DecimalField would bring back "Enter a number." for "1,250.00"."""
    root = pathlib.Path(__file__).resolve().parents[2]
    offenders = []
    for app in APPS:
        for path in (root / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "forms_fields.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Attribute) and node.attr == "DecimalField"
                        and isinstance(node.value, ast.Name) and node.value.id == "forms"):
                    offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
    assert issubclass(NumberField, __import__("django").forms.DecimalField)


@pytest.mark.django_db
def test_model_forms_with_decimal_fields_use_number_field():
    from accounts.forms import CustomerForm
    from reminders.forms import StepForm

    assert isinstance(CustomerForm.base_fields["credit_limit"], NumberField)
    assert isinstance(StepForm.base_fields["fee_value"], NumberField)
    assert isinstance(StepForm.base_fields["fee_cap"], NumberField)
