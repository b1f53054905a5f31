"""Policies: templates refused with the position of the error, fees and offsets checked, the catch-up rule."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from reminders.models import FeeType, ReminderStep
from reminders.policy import PLACEHOLDERS, Point, TemplateError, catch_up, parse, render


@pytest.mark.parametrize(("text", "position", "line", "column", "words"), [
    ("Hello {customr}", 6, 1, 7, "Unknown placeholder {customr}"),
    ("Dear {customer},\n\nPay {amount} now", 22, 3, 5, "Unknown placeholder {amount}"),
    ("Invoice {invoice_number", 8, 1, 9, "never closed"),
    ("A { b {customer}", 2, 1, 3, "never closed"),
    ("Total } due", 6, 1, 7, "lone"),
    ("Empty {} here", 6, 1, 7, "Empty placeholder"),
    ("Attribute {customer.__class__}", 10, 1, 11, "Unknown placeholder"),
])
def test_it_refuses_a_broken_template_and_says_where(text, position, line, column, words):
    with pytest.raises(TemplateError) as caught:
        parse(text)
    error = caught.value
    assert (error.position, error.line, error.column) == (position, line, column)
    assert words in str(error) and f"line {line}, column {column}" in str(error)


def test_it_renders_every_placeholder_and_literal_braces():
    values = {name: f"<{name}>" for name in PLACEHOLDERS}
    text = "{{literal}} " + " ".join("{" + name + "}" for name in PLACEHOLDERS)
    assert render(text, values) == "{literal} " + " ".join(f"<{name}>" for name in PLACEHOLDERS)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.sampled_from(list("ab{}_ \n") + ["{customer}", "{due_date}", "{link}", "{x}"]), max_size=30)
       .map("".join))
def test_any_text_either_parses_and_renders_or_is_refused_with_a_position_inside_it(text):
    try:
        parts = parse(text)
    except TemplateError as e:
        assert 0 <= e.position < len(text)
        assert text[e.position] in "{}"
    else:
        rendered = render(text, dict.fromkeys(PLACEHOLDERS, "X"))
        assert "{" not in "".join(v for k, v in parts if k == "text") or "{{" in text
        assert isinstance(rendered, str)


def _step(**fields):
    values = {"offset_days": 7, "tone": "firm", "subject": "Overdue {invoice_number}", "body": "Pay {amount_due}",
              "fee_type": FeeType.NONE}
    values.update(fields)
    return ReminderStep(**values)


@pytest.mark.django_db
@pytest.mark.parametrize(("fields", "field"), [
    ({"fee_type": FeeType.FIXED, "fee_value": Decimal("-5")}, "fee_value"),
    ({"fee_type": FeeType.FIXED, "fee_value": Decimal("0")}, "fee_value"),
    ({"fee_type": FeeType.FIXED, "fee_value": Decimal("1000000")}, "fee_value"),
    ({"fee_type": FeeType.PERCENT, "fee_value": Decimal("80"), "fee_cap": Decimal("10")}, "fee_value"),
    ({"fee_type": FeeType.PERCENT, "fee_value": Decimal("2"), "fee_cap": None}, "fee_cap"),
    ({"fee_type": FeeType.PERCENT, "fee_value": Decimal("2"), "fee_cap": Decimal("99999")}, "fee_cap"),
    ({"subject": "Overdue {invoice}"}, "subject"),
    ({"body": "Pay {amount_due"}, "body"),
    ({"offset_days": 5000}, "offset_days"),
])
def test_a_step_refuses_bad_fees_templates_and_offsets(fields, field):
    with pytest.raises(ValidationError) as caught:
        _step(**fields).full_clean(exclude=["organization", "policy"])
    assert field in caught.value.message_dict


def _points(*offsets):
    return [Point(o, None, 0, "firm", "", "", False, "none", None, None) for o in offsets]


@settings(deadline=None, max_examples=150)
@given(offsets=st.lists(st.integers(-10, 60), min_size=1, max_size=8, unique=True).map(sorted),
       day=st.integers(-15, 80), last=st.one_of(st.none(), st.integers(-10, 60)))
def test_the_catch_up_rule_sends_at_most_one_point_the_latest_due(offsets, day, last):
    due = date(2026, 3, 1)
    send, skipped = catch_up(_points(*offsets), due, due + timedelta(days=day), last)
    eligible = [o for o in offsets if o <= day and (last is None or o > last)]
    if not eligible:
        assert send is None and skipped == []
    else:
        assert send.offset_days == max(eligible)
        assert sorted([p.offset_days for p in skipped] + [send.offset_days]) == eligible
