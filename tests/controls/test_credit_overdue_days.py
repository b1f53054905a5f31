"""Credit control's overdue threshold is the organization's customer-credit rule, kept beside the
credit limit and terms (accounts.credit_terms): an owner sets it (on the report settings page), the
check on issuing and reports' credit-control list read that one value, bad input changes nothing,
and the change is in the audit log."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import credit_terms
from accounts.models import AuditEvent, Organization, Role
from invoicing.credit_control import credit_check
from ledger_site.tenancy import tenant_context
from reports import credit_control as cc
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm():
    org, owner = make_org()
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="EUR")
        today = org.today()
        # 20 days overdue: beyond a threshold of 10, within the default 60.
        issued(org, customer, issue_date=today - timedelta(days=50), due_date=today - timedelta(days=20))
    return org, owner, finance, customer


def stored(org) -> int:
    with tenant_context(org):  # organizations are behind row-level security (issue 22)
        return Organization.objects.get(pk=org.pk).credit_overdue_days


def flagged(org, customer) -> tuple[bool, list]:
    with tenant_context(org):
        return credit_check(customer).ok, [r.customer_id for r in cc.control_page(org, "EUR", None).rows]


def test_the_default_is_sixty_days_and_an_owner_moves_it_for_issuing_and_the_list_alike(firm):
    org, owner, _, customer = firm
    assert stored(org) == credit_terms.DEFAULT_OVERDUE_DAYS == 60
    assert flagged(org, customer) == (True, [])
    with tenant_context(org, owner):
        assert credit_terms.set_overdue_days(org, "10", actor=owner) == 10
    with tenant_context(org):
        assert stored(org) == credit_terms.overdue_days(Organization.objects.get(pk=org.pk)) == 10
    assert flagged(org, customer) == (False, [customer.pk])
    with tenant_context(org):
        [event] = AuditEvent.objects.filter(table_name="accounts_organization", object_id=org.pk, action="update")
    assert event.before["credit_overdue_days"] == 60 and event.after["credit_overdue_days"] == 10


@pytest.mark.parametrize("bad", ["0", "3651", "ten", "", "-5"])
def test_a_bad_threshold_is_refused_and_nothing_changes(firm, bad):
    org, owner, _, _ = firm
    with tenant_context(org, owner), pytest.raises(credit_terms.CreditTermsError, match="overdue threshold"):
        credit_terms.set_overdue_days(org, bad, actor=owner)
    assert stored(org) == 60


def test_only_an_owner_sets_the_threshold(firm):
    org, _, finance, _ = firm
    with tenant_context(org, finance), pytest.raises(PermissionDenied):
        credit_terms.set_overdue_days(org, 10, actor=finance)
    outsider_org, outsider = make_org()
    with tenant_context(org), pytest.raises(PermissionDenied):
        credit_terms.set_overdue_days(org, 10, actor=outsider)
    assert stored(org) == 60 and stored(outsider_org) == 60


def test_the_report_settings_page_edits_the_organizations_threshold(firm):
    org, owner, _, customer = firm
    client = Client()
    client.force_login(owner)
    url = reverse("report_settings", kwargs={"org_slug": org.slug})
    form = client.get(url).context["form"]
    assert list(form.fields)[:3] == ["aging_limits", "aging_basis", "credit_overdue_days"]
    assert form["credit_overdue_days"].value() == 60
    response = client.post(url, {"aging_limits": "30,60,90", "aging_basis": "due", "credit_overdue_days": "15"})
    assert response.status_code == 302 and stored(org) == 15
    assert client.get(url).context["form"]["credit_overdue_days"].value() == 15
    page = client.get(reverse("credit_control", kwargs={"org_slug": org.slug}))
    assert page.context["issue_days"] == page.context["days"] == 15
    assert [r["r"].customer_id for r in page.context["rows"]] == [customer.pk]
    bad = client.post(url, {"aging_limits": "10,20", "aging_basis": "due", "credit_overdue_days": "0"})
    assert bad.status_code == 200 and bad.context["form"].errors["credit_overdue_days"]
    assert stored(org) == 15
    with tenant_context(org):
        from reports.models import ReportSettings

        assert ReportSettings.for_org(org).limits == [30, 60, 90]  # the bad post changed nothing either


def test_an_amount_is_checked_against_the_threshold_of_its_own_organization(firm):
    org, owner, _, customer = firm
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        credit_terms.set_overdue_days(other, 5, actor=other_owner)
    assert flagged(org, customer) == (True, [])  # another organization's 5 days do not reach this one
    assert customer.credit_limit == Decimal(0)
