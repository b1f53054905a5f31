"""Customers and organizations under bad input and hostile requests; list search, filter,
sort and pagination; code suggestion; delete versus archive."""

import html
import re

import pytest
from django.test import Client
from django.urls import reverse

from accounts import customer_activity
from accounts.models import Customer, Role
from accounts.org_directory import organization_ids, slug_taken
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


def url(name, org, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def customer_data(**changes):
    data = {"name": "Northwind Traders", "code": "", "billing_emails": "ap@northwind.example",
            "contact_person": "Nancy Davolio", "phone": "+44 20 7946 0000",
            "billing_address": "1 Harbour Road\nLondon", "tax_id": "GB123456789", "currency": "EUR",
            "payment_terms_days": "30", "credit_limit": "5000.00", "language": "en",
            "tags": "wholesale, uk", "notes": ""}
    data.update(changes)
    return data


@pytest.fixture
def finance_client_org():
    org, owner = make_org(name="Shop", slug="shop")
    finance = add_member(org, Role.FINANCE)
    client = Client()
    client.force_login(finance)
    return org, owner, finance, client


def customers_of(org):
    with tenant_context(org):
        return list(Customer.objects.filter(organization=org).order_by("pk"))


def snapshot(org):
    with tenant_context(org):
        return list(Customer.objects.filter(organization=org).order_by("pk").values())


# --------------------------------------------------------------------------- validation


def test_create_customer_and_code_is_suggested_when_left_empty(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    response = client.post(url("customer_create", org), customer_data())
    (customer,) = customers_of(org)
    assert response.url == url("customer_detail", org, pk=customer.pk)
    assert customer.code == "NORTHW"
    assert customer.billing_emails == "ap@northwind.example"
    # A second one with a similar name gets the next free code.
    client.post(url("customer_create", org), customer_data(name="Northwind Traders (EU)"))
    assert [c.code for c in customers_of(org)] == ["NORTHW", "NORTHW-2"]


def test_currency_defaults_to_the_organizations(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    org.base_currency = "CHF"
    org.save()
    form = client.get(url("customer_create", org)).context["form"]
    assert form["currency"].value() == "CHF"


def test_duplicate_code_is_refused_case_insensitively(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    with tenant_context(org):
        CustomerFactory(organization=org, code="ACME")
    before = snapshot(org)
    response = client.post(url("customer_create", org), customer_data(code="acme"))
    assert response.status_code == 200
    assert "Another customer already uses the code ACME." in response.content.decode()
    assert snapshot(org) == before


def test_the_same_code_is_fine_in_another_organization(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    other, _ = make_org()
    with tenant_context(other):
        CustomerFactory(organization=other, code="ACME")
    response = client.post(url("customer_create", org), customer_data(code="ACME"))
    assert response.status_code == 302
    assert [c.code for c in customers_of(org)] == ["ACME"]


def test_an_invalid_email_in_the_list_is_named(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    response = client.post(url("customer_create", org),
                           customer_data(billing_emails="ok@example.com, not-an-address, b@example.com"))
    assert response.status_code == 200
    assert "“not-an-address” is not a valid e-mail address." in response.content.decode()
    assert customers_of(org) == []


def test_email_list_is_normalised(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    client.post(url("customer_create", org), customer_data(billing_emails=" A@Example.com ,, b@example.com "))
    assert customers_of(org)[0].email_list == ["a@example.com", "b@example.com"]


@pytest.mark.parametrize("field,limit", [
    ("name", 200), ("code", 20), ("billing_emails", 500), ("contact_person", 150), ("phone", 40),
    ("billing_address", 1000), ("tax_id", 50), ("tags", 300), ("notes", 5000),
])
def test_over_long_fields_are_refused_with_an_inline_error(finance_client_org, field, limit):
    org, _owner, _finance, client = finance_client_org
    value = "x" * (limit + 1)
    if field == "billing_emails":
        value = ("a" * (limit - 11)) + "@example.com"
    response = client.post(url("customer_create", org), customer_data(**{field: value}))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert f"at most {limit} characters" in str(errors[field])
    assert customers_of(org) == []


@pytest.mark.parametrize("changes,field", [
    ({"payment_terms_days": "366"}, "payment_terms_days"),
    ({"payment_terms_days": "-1"}, "payment_terms_days"),
    ({"credit_limit": "-5"}, "credit_limit"),
    ({"credit_limit": "1e400"}, "credit_limit"),
    ({"currency": "XXX"}, "currency"),
    ({"language": "<b>x</b>"}, "language"),
    ({"name": "   "}, "name"),
])
def test_out_of_range_values_are_refused(finance_client_org, changes, field):
    org, _owner, _finance, client = finance_client_org
    response = client.post(url("customer_create", org), customer_data(**changes))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert customers_of(org) == []


def test_edit_keeps_the_code_unique_but_allows_the_own(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    with tenant_context(org):
        first = CustomerFactory(organization=org, code="ONE")
        CustomerFactory(organization=org, code="TWO")
    # (The credit limit as it is: finance may not change it, accounts.views.customers.OWNER_ONLY_FIELDS.)
    ok = client.post(url("customer_edit", org, pk=first.pk),
                     customer_data(name="First renamed", code="ONE", credit_limit=str(first.credit_limit)))
    assert ok.status_code == 302
    clash = client.post(url("customer_edit", org, pk=first.pk), customer_data(code="two"))
    assert clash.status_code == 200
    assert "Another customer already uses the code TWO." in clash.content.decode()
    assert {c.code for c in customers_of(org)} == {"ONE", "TWO"}


# --------------------------------------------------------------------------- slugs


@pytest.mark.parametrize("slug,message", [
    ("admin", "reserved"),
    ("login", "reserved"),
    ("taken", "already taken"),
    ("TAKEN", "already taken"),
    ("-edge", "Use 1–50 lowercase letters"),
    ("edge-", "Use 1–50 lowercase letters"),
    ("has space", "Enter a valid “slug”"),
    ("<b>x</b>", "Enter a valid “slug”"),
    ("a" * 51, "at most 50 characters"),
])
def test_bad_slugs_on_sign_up_and_org_create(client, slug, message):
    make_org(slug="taken")
    response = client.post(reverse("signup"), {
        "full_name": "Sam", "email": "sam@example.com", "password": "a-long-secret-2026",
        "name": "Sam's", "slug": slug, "base_currency": "EUR", "country": ""})
    assert response.status_code == 200
    assert message in str(response.context["form"].errors.get("slug")), response.context["form"].errors
    assert len(organization_ids()) == 1  # only "taken"

    _org, user = make_org()
    signed_in = Client()
    signed_in.force_login(user)
    response = signed_in.post(reverse("org_create"), {"name": "Another", "slug": slug, "base_currency": "EUR",
                                                      "country": "", "address": "", "tax_id": ""})
    assert response.status_code == 200
    assert message in str(response.context["form"].errors.get("slug")), response.context["form"].errors
    assert len(organization_ids()) == 2  # "taken" and make_org's


@pytest.mark.parametrize("country", ["IRL", "1E", "<b"])
def test_bad_country_codes_are_refused(client, country):
    response = client.post(reverse("signup"), {
        "full_name": "Sam", "email": "sam@example.com", "password": "a-long-secret-2026",
        "name": "Sam's", "slug": "sams", "base_currency": "EUR", "country": country})
    assert response.status_code == 200
    assert "country" in response.context["form"].errors
    assert not slug_taken("sams")


def test_settings_cannot_take_another_organizations_slug():
    org, owner = make_org(slug="mine")
    make_org(slug="yours")
    client = Client()
    client.force_login(owner)
    response = client.post(url("org_settings", org), {"name": "Mine", "slug": "yours", "base_currency": "EUR",
                                                     "country": "", "address": "", "tax_id": ""})
    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    org.refresh_from_db()
    assert org.slug == "mine"


# --------------------------------------------------------------------------- escaping


def test_html_in_every_text_field_is_escaped_on_list_detail_and_form(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    data = customer_data(name=f"N{XSS}", code="<B>X</B>", contact_person=f"C{XSS}", phone="<i>1</i>",
                         billing_address=f"A{XSS}", tax_id=f"T{XSS}",
                         tags=f"<img src=x onerror=alert(1)>, {XSS}", notes=f"N{XSS}")
    response = client.post(url("customer_create", org), data)
    assert response.status_code == 302, response.context["form"].errors
    (customer,) = customers_of(org)
    assert customer.name == f"N{XSS}"  # stored as typed

    pages = {
        "list": client.get(url("customer_list", org)),
        "search": client.get(url("customer_list", org), {"q": "<script>", "tag": XSS}),
        "detail": client.get(url("customer_detail", org, pk=customer.pk)),
        "edit": client.get(url("customer_edit", org, pk=customer.pk)),
    }
    for page, response in pages.items():
        assert response.status_code == 200, page
        body = response.content.decode()
        for raw in ("<script>alert", "<img src=x", "<B>X</B>", "<i>1</i>"):
            assert raw not in body, f"unescaped {raw!r} on the {page} page"
        assert html.escape(XSS, quote=False).replace('"', "&quot;") in body or "&lt;script&gt;" in body, page
    assert "N&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in pages["detail"].content.decode()
    # The flash message after creating carries the name too.
    flashed = client.post(url("customer_create", org), customer_data(name=XSS, code="FLASH"), follow=True)
    assert "<script>alert" not in flashed.content.decode()


# --------------------------------------------------------------------------- forged URLs and CSRF


def test_forged_org_slug_is_404(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    other, _ = make_org(slug="not-mine")
    with tenant_context(other):
        theirs = CustomerFactory(organization=other)
    for target in ("no-such-org", "not-mine"):
        assert client.get(reverse("customer_list", kwargs={"org_slug": target})).status_code == 404
        assert client.post(reverse("customer_create", kwargs={"org_slug": target}),
                           customer_data()).status_code == 404
    assert client.get(url("customer_detail", other, pk=theirs.pk)).status_code == 404
    assert customers_of(org) == [] and len(customers_of(other)) == 1


def test_another_organizations_customer_id_under_my_slug_is_404(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    other, _ = make_org()
    with tenant_context(other):
        theirs = CustomerFactory(organization=other, name="Theirs")
    before = snapshot(other)
    assert client.get(url("customer_detail", org, pk=theirs.pk)).status_code == 404
    assert client.get(url("customer_edit", org, pk=theirs.pk)).status_code == 404
    assert client.post(url("customer_edit", org, pk=theirs.pk), customer_data(name="Hijacked")).status_code == 404
    assert client.post(url("customer_archive", org, pk=theirs.pk)).status_code == 404
    assert client.post(url("customer_delete", org, pk=theirs.pk)).status_code == 404
    assert client.get(url("customer_detail", org, pk=999_999_999)).status_code == 404
    assert snapshot(other) == before


def test_post_without_csrf_token_is_403_and_changes_nothing(finance_client_org):
    org, _owner, finance, _client = finance_client_org
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Keep")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(finance)
    before = snapshot(org)
    for target, data in [
        (url("customer_create", org), customer_data()),
        (url("customer_edit", org, pk=customer.pk), customer_data(name="Changed")),
        (url("customer_archive", org, pk=customer.pk), {"archive": "1"}),
        (url("customer_delete", org, pk=customer.pk), {}),
    ]:
        assert strict.post(target, data).status_code == 403, target
    assert snapshot(org) == before
    # With the token from the form, the same client succeeds.
    page = strict.get(url("customer_create", org))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    ok = strict.post(url("customer_create", org), {**customer_data(), "csrfmiddlewaretoken": token})
    assert ok.status_code == 302


def test_a_viewer_trying_every_customer_write_gets_403_and_nothing_changes(finance_client_org):
    org, _owner, _finance, _client = finance_client_org
    with tenant_context(org):
        customer = CustomerFactory(organization=org, name="Keep")
    viewer = Client()
    viewer.force_login(add_member(org, Role.VIEWER))
    before = snapshot(org)
    attempts = [
        ("get", url("customer_create", org), None),
        ("post", url("customer_create", org), customer_data()),
        ("get", url("customer_edit", org, pk=customer.pk), None),
        ("post", url("customer_edit", org, pk=customer.pk), customer_data(name="Changed")),
        ("post", url("customer_archive", org, pk=customer.pk), {"archive": "1"}),
        ("post", url("customer_delete", org, pk=customer.pk), {}),
    ]
    for method, target, data in attempts:
        response = getattr(viewer, method)(target, data) if data is not None else viewer.get(target)
        assert response.status_code == 403, f"{method} {target}"
    assert snapshot(org) == before
    # A viewer can read, and is not offered the buttons.
    detail = viewer.get(url("customer_detail", org, pk=customer.pk)).content.decode()
    assert url("customer_edit", org, pk=customer.pk) not in detail
    assert url("customer_create", org) not in viewer.get(url("customer_list", org)).content.decode()


# --------------------------------------------------------------------------- list


@pytest.fixture
def listed(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    with tenant_context(org):
        CustomerFactory(organization=org, name="Zeta Zinc", code="ZZ1", billing_emails="pay@zeta.example",
                        tags="metal")
        CustomerFactory(organization=org, name="Alpha Apples", code="AA1", billing_emails="ap@alpha.example",
                        tags="food, eu")
        archived = CustomerFactory(organization=org, name="Mu Mothballed", code="MM1", tags="food")
        archived.archived_at = archived.created_at
        archived.save()
        for n in range(30):
            CustomerFactory(organization=org, name=f"Bulk {n:02d}", code=f"BULK{n:02d}", tags="bulk")
    return org, client


def names(response):
    return [c.name for c in response.context["page"]]


def test_search_by_name_code_and_email(listed):
    org, client = listed
    target = url("customer_list", org)
    assert names(client.get(target, {"q": "zinc"})) == ["Zeta Zinc"]
    assert names(client.get(target, {"q": "aa1"})) == ["Alpha Apples"]
    assert names(client.get(target, {"q": "@zeta.example"})) == ["Zeta Zinc"]
    empty = client.get(target, {"q": "nothing-like-this"})
    assert names(empty) == []
    assert "No customer matches" in empty.content.decode()


def test_filter_by_status_and_tag(listed):
    org, client = listed
    target = url("customer_list", org)
    assert names(client.get(target, {"tag": "food"})) == ["Alpha Apples"]
    assert names(client.get(target, {"tag": "food", "status": "archived"})) == ["Mu Mothballed"]
    assert names(client.get(target, {"tag": "food", "status": "all"})) == ["Alpha Apples", "Mu Mothballed"]
    assert names(client.get(target, {"tag": "EU"})) == ["Alpha Apples"]
    assert names(client.get(target, {"tag": "e"})) == []  # whole tags only: not "metal" or "eu"
    assert names(client.get(target, {"tag": "fo.d"})) == []  # no pattern syntax
    assert client.get(target, {"tag": "(["}).status_code == 200


def test_sort_and_paginate(listed):
    org, client = listed
    target = url("customer_list", org)
    first = client.get(target)
    assert first.context["page"].paginator.count == 32
    assert names(first)[0] == "Alpha Apples"
    assert len(names(first)) == 25
    second = client.get(target, {"page": 2})
    assert names(second)[-1] == "Zeta Zinc"
    assert len(names(second)) == 7
    assert names(client.get(target, {"sort": "-name"}))[0] == "Zeta Zinc"
    assert names(client.get(target, {"sort": "code"}))[0] == "Alpha Apples"
    assert names(client.get(target, {"sort": "-code"}))[0] == "Zeta Zinc"
    # Nonsense parameters fall back instead of failing.
    odd = client.get(target, {"sort": "password", "page": "x' OR 1=1", "status": "<b>"})
    assert odd.status_code == 200
    assert client.get(target, {"page": 999}).context["page"].number == 2
    # The pager keeps the filters.
    html_page = client.get(target, {"tag": "bulk", "sort": "-name"}).content.decode()
    assert "tag=bulk" in html_page and "sort=-name" in html_page and "page=2" in html_page


def test_empty_list_says_what_to_do_next(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    body = client.get(url("customer_list", org)).content.decode()
    assert "No customers yet" in body
    assert url("customer_create", org) in body


# --------------------------------------------------------------------------- archive and delete


def test_archive_restore_and_delete_without_activity(finance_client_org):
    org, _owner, _finance, client = finance_client_org
    with tenant_context(org):
        customer = CustomerFactory(organization=org)
    client.post(url("customer_archive", org, pk=customer.pk), {"archive": "1"})
    assert customers_of(org)[0].is_archived
    client.post(url("customer_archive", org, pk=customer.pk), {"archive": "0"})
    assert not customers_of(org)[0].is_archived
    assert client.get(url("customer_delete", org, pk=customer.pk)).status_code == 405
    response = client.post(url("customer_delete", org, pk=customer.pk))
    assert response.url == url("customer_list", org)
    assert customers_of(org) == []


@pytest.fixture
def fake_activity():
    """A registered activity check (as the ledger and invoicing register theirs), removed after."""
    active_names = set()

    def check(customer):
        return customer.name in active_names

    customer_activity.ACTIVITY_CHECKS.append(check)
    yield active_names
    customer_activity.ACTIVITY_CHECKS.remove(check)
    assert check not in customer_activity.ACTIVITY_CHECKS


def test_delete_is_refused_when_a_customer_has_financial_activity(finance_client_org, fake_activity):
    org, _owner, _finance, client = finance_client_org
    with tenant_context(org):
        busy = CustomerFactory(organization=org, name="Busy Buyer", currency="EUR")
        idle = CustomerFactory(organization=org, name="Idle Buyer")
    fake_activity.add("Busy Buyer")

    detail = client.get(url("customer_detail", org, pk=busy.pk)).content.decode()
    assert url("customer_delete", org, pk=busy.pk) not in detail
    assert url("customer_archive", org, pk=busy.pk) in detail
    response = client.post(url("customer_delete", org, pk=busy.pk), follow=True)
    assert "has financial activity and can only be archived" in response.content.decode()
    assert {c.name for c in customers_of(org)} == {"Busy Buyer", "Idle Buyer"}

    # Its currency is fixed too: a posted change is ignored.
    edit = client.get(url("customer_edit", org, pk=busy.pk))
    assert edit.context["form"].fields["currency"].disabled
    client.post(url("customer_edit", org, pk=busy.pk), customer_data(name="Busy Buyer", code=busy.code,
                                                                     currency="USD"))
    assert next(c for c in customers_of(org) if c.pk == busy.pk).currency == "EUR"

    # Archive still works, and the idle customer can be deleted.
    client.post(url("customer_archive", org, pk=busy.pk), {"archive": "1"})
    assert next(c for c in customers_of(org) if c.pk == busy.pk).is_archived
    client.post(url("customer_delete", org, pk=idle.pk))
    assert [c.name for c in customers_of(org)] == ["Busy Buyer"]
