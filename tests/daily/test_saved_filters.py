"""Saved filters on the invoice, payment and customer lists (issue 21, "Lists"): per person,
shareable in the organization by finance staff and owners, never seen by another organization."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import saved_filters
from accounts.models import Role, SavedFilter
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org
from tests.invoicing_helpers import issued

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db):
    org, owner = make_org(name="Filter Co", slug="filter-co")
    with tenant_context(org, owner):  # the lists show their filters once they have rows
        issued(org, CustomerFactory(organization=org, name="Ash Ltd", code="ASH"))
    return org, owner, add_member(org, Role.FINANCE), add_member(org, Role.VIEWER)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def url(org, name, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def rows(org):
    with tenant_context(org):
        return sorted((s.user.email, s.list_name, s.name, s.query, s.shared)
                      for s in SavedFilter.objects.select_related("user"))


def save(client, org, **data):
    return client.post(url(org, "saved_filter_save"), {"list": "invoices", "name": "Overdue",
                                                       "query": "status=overdue", **data}, follow=True)


def test_a_saved_filter_is_listed_for_its_owner_only_and_opens_the_list_with_its_filters(team):
    org, owner, finance, viewer = team
    clerk = client_for(finance)
    response = save(clerk, org, query="status=overdue&sort=-amount_due&page=3")
    assert response.redirect_chain[-1][0] == url(org, "invoice_list") + "?status=overdue&sort=-amount_due"
    assert "Saved “Overdue” for you." in response.content.decode()
    assert rows(org) == [(finance.email, "invoices", "Overdue", "status=overdue&sort=-amount_due", False)]
    page = clerk.get(url(org, "invoice_list"), {"status": "overdue", "sort": "-amount_due"}).content.decode()
    assert 'aria-current="true">Overdue</a>' in page  # the current view is the saved one
    assert "Save this view" not in page
    assert "Overdue</a>" not in client_for(viewer).get(url(org, "invoice_list")).content.decode()
    assert "Overdue</a>" not in client_for(finance).get(url(org, "payment_list")).content.decode()  # per list


def test_a_shared_filter_is_seen_by_everyone_and_viewers_cannot_share(team):
    org, owner, finance, viewer = team
    save(client_for(finance), org, name="Big drafts", query="status=draft&amount_min=1000", shared="1")
    for user in (owner, viewer):
        assert ">Big drafts</a>" in client_for(user).get(url(org, "invoice_list")).content.decode()
    refused = save(client_for(viewer), org, name="Mine too", shared="1")
    assert "Only finance staff and owners can share a filter with the organization." in refused.content.decode()
    save(client_for(viewer), org, name="Just mine", list="customers", query="status=archived")
    assert rows(org) == sorted([(finance.email, "invoices", "Big drafts", "status=draft&amount_min=1000", True),
                                (viewer.email, "customers", "Just mine", "status=archived", False)])
    assert ">Just mine</a>" in client_for(viewer).get(url(org, "customer_list")).content.decode()


@pytest.mark.parametrize("data, message", [
    ({"name": "   "}, "Give the filter a name."),
    ({"name": "x" * 61}, "A filter name has at most 60 characters."),
    ({"query": "page=2"}, "Filter or sort the list first; there is nothing to save yet."),
    ({"list": "journal"}, "This list has no saved filters."),
])
def test_bad_input_gets_a_clear_message_and_saves_nothing(team, data, message):
    org, owner, finance, viewer = team
    assert message in save(client_for(finance), org, **data).content.decode()
    assert rows(org) == []


def test_the_same_name_replaces_and_the_number_per_list_is_capped(team, monkeypatch):
    org, owner, finance, viewer = team
    clerk = client_for(finance)
    save(clerk, org, query="status=overdue")
    save(clerk, org, query="status=overdue&sort=due")
    assert rows(org) == [(finance.email, "invoices", "Overdue", "status=overdue&sort=due", False)]
    monkeypatch.setattr(saved_filters, "MAX_PER_LIST", 2)
    save(clerk, org, name="Second", query="status=draft")
    refused = save(clerk, org, name="Third", query="status=void")
    assert "You have 2 saved filters on this list; delete one first." in refused.content.decode()
    assert [r[2] for r in rows(org)] == ["Overdue", "Second"]
    save(clerk, org, name="Second", query="status=paid")  # replacing one is still allowed at the cap
    assert [r[3] for r in rows(org)] == ["status=overdue&sort=due", "status=paid"]


def test_only_its_author_deletes_a_filter_and_an_owner_may_remove_a_shared_one(team):
    org, owner, finance, viewer = team
    save(client_for(finance), org, name="Private", query="status=draft")
    save(client_for(finance), org, name="Team", query="status=overdue", shared="1")
    with tenant_context(org):
        private, shared = (SavedFilter.objects.get(name=n) for n in ("Private", "Team"))
    refused = client_for(viewer).post(url(org, "saved_filter_delete", pk=shared.pk), follow=True)
    assert "This saved filter is not yours to delete." in refused.content.decode()
    client_for(owner).post(url(org, "saved_filter_delete", pk=private.pk))
    assert [r[2] for r in rows(org)] == ["Private", "Team"]
    client_for(owner).post(url(org, "saved_filter_delete", pk=shared.pk))
    client_for(finance).post(url(org, "saved_filter_delete", pk=private.pk))
    assert rows(org) == []


def test_another_organizations_filters_are_neither_listed_nor_deletable(team):
    org, owner, finance, viewer = team
    other, other_owner = make_org(name="Other Co", slug="other-co")
    add_member(other, Role.FINANCE, user=finance)  # the same person in both organizations
    save(client_for(finance), other, name="Elsewhere", query="status=draft", shared="1")
    with tenant_context(other):
        theirs = SavedFilter.objects.get()
    assert "Elsewhere" not in client_for(finance).get(url(org, "invoice_list")).content.decode()
    with tenant_context(org):
        assert list(saved_filters.visible(org, finance, "invoices")) == []
        assert SavedFilter.objects.filter(pk=theirs.pk).count() == 0  # row-level security
    refused = client_for(finance).post(url(org, "saved_filter_delete", pk=theirs.pk), follow=True)
    assert "This saved filter is not yours to delete." in refused.content.decode()
    assert rows(other) == [(finance.email, "invoices", "Elsewhere", "status=draft", True)]


def test_the_demo_shows_saved_filters_once_whatever_how_often_it_runs(team):
    from accounts.management.commands.seed_demo import _saved_filters

    org, owner, finance, viewer = team
    with tenant_context(org, owner):
        _saved_filters(org, owner)
        _saved_filters(org, owner)
    assert [(r[1], r[2], r[4]) for r in rows(org)] == [
        ("customers", "Who owes most", True), ("invoices", "Drafts to issue", False),
        ("invoices", "Overdue, largest first", True)]
    page = client_for(finance).get(url(org, "invoice_list")).content.decode()
    assert ">Overdue, largest first</a>" in page and ">Drafts to issue</a>" not in page  # shared vs the owner's
