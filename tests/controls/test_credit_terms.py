"""Credit limits and payment terms: finance proposes, an owner approves or rejects; only approval
changes the customer; everything is in the audit log; finance cannot apply a change directly, not
through the form, the service, the API or a plain UPDATE (the database's guard)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts import credit_terms
from accounts.api_keys import create_api_key
from accounts.models import AuditEvent, CreditTermsProposal, Customer, ProposalStatus, Role
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit_terms_org():
    org, owner = make_org()
    finance = add_member(org, Role.FINANCE)
    viewer = add_member(org, Role.VIEWER)
    second_owner = add_member(org, Role.OWNER)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, credit_limit=Decimal("1000.00"), payment_terms_days=30)
    return org, owner, finance, viewer, second_owner, customer


def terms(org, customer):
    with tenant_context(org):
        fresh = Customer.objects.get(pk=customer.pk)
    return fresh.credit_limit, fresh.payment_terms_days


def page(org, customer):
    return reverse("credit_terms", kwargs={"org_slug": org.slug, "pk": customer.pk})


def decide_url(org, proposal):
    return reverse("credit_terms_decide", kwargs={"org_slug": org.slug, "pk": proposal.customer_id,
                                                  "proposal_pk": proposal.pk})


def test_finance_proposes_owner_approves_and_only_then_it_applies(credit_terms_org, client, smtp_server,
                                                                 django_capture_on_commit_callbacks):
    org, owner, finance, _, second_owner, customer = credit_terms_org
    client.force_login(finance)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(page(org, customer), {"credit_limit": "5000", "payment_terms_days": "45",
                                                     "reason": "Three years of prompt payment"})
    assert response.status_code == 302
    assert terms(org, customer) == (Decimal("1000.00"), 30)  # nothing changes yet
    with tenant_context(org):
        proposal = CreditTermsProposal.objects.get(customer=customer)
    assert (proposal.status, proposal.proposed_by, proposal.credit_limit) == ("pending", finance, Decimal("5000.00"))
    # Both owners are told, with the old and new figures and a link.
    message = smtp_server.messages[0]
    assert sorted(message["To"].addresses[i].addr_spec for i in range(2)) == sorted([owner.email, second_owner.email])
    body = message.get_content()
    assert "1000.00 → 5000.00" in body and "30 → 45 days" in body and "prompt payment" in body
    assert page(org, customer) in body

    # Finance cannot approve its own proposal.
    assert client.post(decide_url(org, proposal), {"action": "approve"}).status_code == 403
    assert terms(org, customer) == (Decimal("1000.00"), 30)

    client.force_login(owner)
    assert "Approve" in client.get(page(org, customer)).content.decode()
    assert client.post(decide_url(org, proposal), {"action": "approve", "note": "ok"}).status_code == 302
    assert terms(org, customer) == (Decimal("5000.00"), 45)
    with tenant_context(org):
        proposal.refresh_from_db()
        assert (proposal.status, proposal.decided_by) == (ProposalStatus.APPROVED, owner)
        log = list(AuditEvent.objects.filter(organization=org).order_by("at", "pk"))
    # The audit log has the proposal (by finance), its approval and the customer's change (by the owner).
    proposal_rows = [e for e in log if e.table_name == "accounts_credittermsproposal"]
    assert [(e.action, e.actor) for e in proposal_rows] == [("insert", finance), ("update", owner)]
    assert proposal_rows[1].after["status"] == "approved"
    change = [e for e in log if e.table_name == "accounts_customer" and e.action == "update"][-1]
    assert change.actor == owner and set(change.changed) == {"credit_limit", "payment_terms_days"}
    assert (change.before["credit_limit"], change.after["credit_limit"]) == (1000.0, 5000.0)


def test_an_owner_rejects_with_a_note_and_nothing_changes(credit_terms_org, client):
    org, owner, finance, *_, customer = credit_terms_org
    with tenant_context(org, finance):
        proposal = credit_terms.propose(customer, actor=finance, credit_limit="999999", payment_terms_days=90,
                                        reason="Big order")
    client.force_login(owner)
    # A rejection needs a note: refused, still pending.
    client.post(decide_url(org, proposal), {"action": "reject", "note": "  "})
    with tenant_context(org):
        assert CreditTermsProposal.objects.get(pk=proposal.pk).status == "pending"
    client.post(decide_url(org, proposal), {"action": "reject", "note": "Too risky"})
    with tenant_context(org):
        proposal.refresh_from_db()
        assert (proposal.status, proposal.decision_note, proposal.decided_by) == ("rejected", "Too risky", owner)
        assert AuditEvent.objects.filter(table_name="accounts_credittermsproposal", object_id=proposal.pk,
                                         action="update", actor=owner).exists()
    assert terms(org, customer) == (Decimal("1000.00"), 30)
    # Decided once: approving it later does nothing.
    client.post(decide_url(org, proposal), {"action": "approve"})
    assert terms(org, customer) == (Decimal("1000.00"), 30)


def test_finance_cannot_apply_a_change_directly_service_form_api_or_sql(credit_terms_org, client):
    org, owner, finance, viewer, _, customer = credit_terms_org
    with tenant_context(org, finance):
        with pytest.raises(PermissionDenied):
            credit_terms.change(customer, actor=finance, credit_limit="5000", payment_terms_days=30)
        with pytest.raises(PermissionDenied), credit_terms.owner_edit(org, finance):
            pass
        proposal = credit_terms.propose(customer, actor=finance, credit_limit="5000", payment_terms_days=30,
                                        reason="r")
        with pytest.raises(PermissionDenied):
            credit_terms.approve(proposal, actor=finance)
        with pytest.raises(PermissionDenied):
            credit_terms.propose(customer, actor=viewer, credit_limit="1", payment_terms_days=1, reason="r")
        # The database refuses a plain UPDATE that bypasses the service (the ORM, an import, a script).
        with pytest.raises(DatabaseError, match="owner's decision"), transaction.atomic():
            Customer.objects.filter(pk=customer.pk).update(credit_limit=Decimal("999999"))
        with pytest.raises(DatabaseError, match="owner's decision"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute("UPDATE accounts_customer SET payment_terms_days = 365 WHERE id = %s", [customer.pk])
        # Other fields stay writable; the guard only looks at a real change of the two.
        Customer.objects.filter(pk=customer.pk).update(phone="+353 1 555", credit_limit=Decimal("1000.00"))
    assert terms(org, customer) == (Decimal("1000.00"), 30)
    # The finance user's form: the two fields are read-only, a changed value is 403 and nothing saved.
    client.force_login(finance)
    edit = reverse("customer_edit", kwargs={"org_slug": org.slug, "pk": customer.pk})
    assert 'name="credit_limit"' in (html := client.get(edit).content.decode()) and "readonly" in html
    data = {"name": customer.name, "code": customer.code, "billing_emails": customer.billing_emails,
            "currency": customer.currency, "payment_terms_days": 30, "credit_limit": "5000.00", "language": "en"}
    assert client.post(edit, data).status_code == 403
    # The proposal page: finance sees no "change now", and its POST proposes (here: one is already waiting).
    response = client.post(page(org, customer), {"credit_limit": "7000", "payment_terms_days": "30", "reason": "x"})
    assert response.status_code == 400 and "already waiting" in response.content.decode()
    assert terms(org, customer) == (Decimal("1000.00"), 30)


def test_the_api_refuses_credit_terms_and_changes_the_rest(credit_terms_org, client):
    org, owner, *_, customer = credit_terms_org
    with tenant_context(org, owner):
        _, secret = create_api_key(org, name="sync", scope="read_write", actor=owner)
    url = f"/api/v1/customers/{customer.pk}"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    response = client.patch(url, {"credit_limit": "5000.00"}, content_type="application/json", **auth)
    assert response.status_code == 403 and response.json()["errors"][0]["code"] == "owner_decision"
    response = client.patch(url, {"credit_limit": "1000.00", "phone": "+1 555"}, content_type="application/json",
                            **auth)
    assert response.status_code == 200
    assert terms(org, customer) == (Decimal("1000.00"), 30)


def test_owner_changes_directly_form_and_page(credit_terms_org, client):
    org, owner, *_, customer = credit_terms_org
    client.force_login(owner)
    assert client.post(page(org, customer), {"credit_limit": "2500.50", "payment_terms_days": "14"}).status_code == 302
    assert terms(org, customer) == (Decimal("2500.50"), 14)
    edit = reverse("customer_edit", kwargs={"org_slug": org.slug, "pk": customer.pk})
    data = {"name": customer.name, "code": customer.code, "billing_emails": customer.billing_emails,
            "currency": customer.currency, "payment_terms_days": 60, "credit_limit": "3000.00", "language": "en"}
    assert client.post(edit, data).status_code == 302
    assert terms(org, customer) == (Decimal("3000.00"), 60)


@pytest.mark.parametrize("limit, days, reason, message", [
    ("-1", "30", "r", "0 or more"),
    ("12.345", "30", "r", "two decimals"),
    ("abc", "30", "r", "not an amount"),
    ("100", "400", "r", "between 0 and 365"),
    ("100", "x", "r", "whole number"),
    ("1000.00", "30", "r", "nothing to propose"),
    ("2000", "30", " ", "Say why"),
])
def test_bad_proposals_are_refused_with_a_clear_message_and_nothing_changes(credit_terms_org, client, limit, days,
                                                                             reason, message):
    org, _, finance, *_, customer = credit_terms_org
    client.force_login(finance)
    response = client.post(page(org, customer), {"credit_limit": limit, "payment_terms_days": days, "reason": reason})
    assert response.status_code == 400 and message in response.content.decode()
    with tenant_context(org):
        assert not CreditTermsProposal.objects.exists()
    assert terms(org, customer) == (Decimal("1000.00"), 30)


def test_a_stale_proposal_is_not_approved(credit_terms_org):
    org, owner, finance, *_, customer = credit_terms_org
    with tenant_context(org, owner):
        proposal = credit_terms.propose(customer, actor=finance, credit_limit="5000", payment_terms_days=30,
                                        reason="r")
        credit_terms.change(customer, actor=owner, credit_limit="2000", payment_terms_days=30)
        with pytest.raises(credit_terms.CreditTermsError, match="changed since"):
            credit_terms.approve(proposal, actor=owner)
    assert terms(org, customer) == (Decimal("2000.00"), 30)


def test_pending_list_for_owners_and_proposals_invisible_to_another_org(credit_terms_org, client):
    org, owner, finance, *_, customer = credit_terms_org
    with tenant_context(org, finance):
        credit_terms.propose(customer, actor=finance, credit_limit="5000", payment_terms_days=30, reason="Growth")
    client.force_login(owner)
    html = client.get(reverse("credit_terms_pending", kwargs={"org_slug": org.slug})).content.decode()
    assert customer.name in html and "Growth" in html
    other, _ = make_org()
    with tenant_context(other):
        assert not CreditTermsProposal.objects.exists()
