"""Credit control (the check, the owner's override in the audit trail, the list) and the P&L."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from accounts.credit_terms import set_overdue_days
from accounts.models import Role
from invoicing.credit_control import CreditLimitExceeded, credit_check, require_credit_ok
from invoicing.models import CreditOverride, InvoiceEvent
from ledger_site.tenancy import tenant_context
from reports.credit_control import control_list
from reports.pnl import profit_and_loss
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import draft
from tests.reports import helpers as h

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def credit_book():
    org, owner = make_org(name="Credit Co", slug="credit-co")
    with tenant_context(org):
        set_overdue_days(org, 30, actor=owner)
        limited = CustomerFactory(organization=org, name="Limited", code="LIM", credit_limit=D("1000.00"))
        late = CustomerFactory(organization=org, name="Slow Payer", code="SLOW")
        fine = CustomerFactory(organization=org, name="Fine", code="FINE", credit_limit=D("5000.00"))
        h.invoice(org, limited, "800.00", h.ago(10), h.ago(-20))
        h.invoice(org, late, "120.00", h.ago(90), h.ago(60))
        h.invoice(org, fine, "100.00", h.ago(5), h.ago(-25))
    return {"org": org, "owner": owner, "limited": limited, "late": late, "fine": fine}


def test_credit_check(credit_book):
    with tenant_context(credit_book["org"]):
        ok = credit_check(credit_book["limited"], D("150.00"))
        assert ok.ok and ok.exposure == D("950.00")
        over = credit_check(credit_book["limited"], D("300.00"))
        assert not over.ok and over.over_limit_by == D("100.00") and "over its credit limit" in over.problems[0]
        slow = credit_check(credit_book["late"], D("10.00"))
        assert not slow.ok and slow.overdue_beyond == D("120.00") and slow.oldest_days == 60
        assert credit_check(credit_book["fine"], D("4900.00")).ok


def test_override_needs_an_owner_and_a_reason_and_is_recorded(credit_book):
    org, limited = credit_book["org"], credit_book["limited"]
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org):
        invoice = draft(org, limited, lines=(("Big order", "1", "500.00", None),))
        with pytest.raises(CreditLimitExceeded) as refused:
            require_credit_ok(limited, invoice.total, actor=finance, invoice=invoice)
        assert refused.value.check.over_limit_by == D("300.00")
        with pytest.raises(CreditLimitExceeded, match="Only an owner"):
            require_credit_ok(limited, invoice.total, actor=finance, override_reason="trusted", invoice=invoice)
        with pytest.raises(CreditLimitExceeded, match="needs a reason"):
            require_credit_ok(limited, invoice.total, actor=credit_book["owner"], override_reason="  ", invoice=invoice)
        assert not CreditOverride.objects.exists()
        check = require_credit_ok(limited, invoice.total, actor=credit_book["owner"], override_reason="Paid by Friday",
                                  invoice=invoice)
        assert check.over_limit_by == D("300.00")
        override = CreditOverride.objects.get()
        assert (override.reason, override.approved_by, override.invoice, override.amount) == \
            ("Paid by Friday", credit_book["owner"], invoice, D("500.00"))
        event = InvoiceEvent.objects.get(invoice=invoice, kind="credit_override")
        assert "Paid by Friday" in event.message and event.actor == credit_book["owner"]
        assert require_credit_ok(credit_book["fine"], D("1.00"), actor=finance).ok  # within limits: nothing needed


def test_control_list_and_page(credit_book):
    org = credit_book["org"]
    with tenant_context(org):
        h.invoice(org, credit_book["limited"], "300.00", h.ago(1), h.ago(-29))  # now 1,100 against 1,000
        rows = control_list(org)
    assert [(r.code, r.over_by, r.late_amount) for r in rows] == [("LIM", D("100.00"), D(0)),
                                                                   ("SLOW", D(0), D("120.00"))]
    client = Client()
    client.force_login(credit_book["owner"])
    html = client.get(reverse("credit_control", kwargs={"org_slug": org.slug}) + "?days=90").content.decode()
    assert "Limited" in html and "Slow Payer" not in html  # 60 days late is within 90
    # What blocks issuing is the organization's threshold (30 here), whatever the list shows.
    assert "or for a customer with invoices more than 30 days overdue, needs an owner’s override" in html


def test_profit_and_loss(credit_book):
    org = credit_book["org"]
    with tenant_context(org):
        c = credit_book["fine"]
        sold = h.invoice(org, c, "1000.00", h.ago(3))
        h.credit(sold, "100.00", h.ago(2))
        h.write_off(sold, "50.00", h.ago(1))
        pnl = profit_and_loss(org, h.ago(7), h.today())
        previous = profit_and_loss(org, h.ago(100), h.ago(8))
    revenue = {line.account.system_key: line.amount for line in pnl.income}
    # Untaxed lines: revenue 1,000 + 100 (the invoice of 5 days ago) + 800 (10 days ago is outside).
    assert revenue["revenue"] == D("1100.00") and revenue["returns"] == D("-100.00")
    assert {line.account.system_key: line.amount for line in pnl.expenses}["bad_debt"] == D("50.00")
    assert pnl.net == D("950.00")
    assert previous.total_income == D("920.00")  # 800 + 120
    assert (pnl.previous_start, pnl.previous_end) == (h.ago(15), h.ago(8))
    assert pnl.previous_income == pnl.previous_net == D("800.00")
