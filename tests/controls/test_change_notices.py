"""Owners are e-mailed (real SMTP) when a customer's billing e-mails, the invoice settings' bank
details or a bank account's IBAN change: old and new (bank numbers masked), who, from where; once
per change, whichever way it was made (a page, the ORM, plain SQL picked up by the schedule)."""

from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django_q.models import Schedule

from accounts.models import Account, ChangeNotice, Role
from accounts.notices import mask, send_change_notices
from accounts.tasks import send_notices
from invoicing.models import InvoiceSettings
from ledger_site.tenancy import tenant_context
from payments.bank import create_bank_account
from tests.factories import CustomerFactory, add_member, make_org

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_worker_role")]

IBAN = "IE29 AIBK 9311 5212 3456 78"
NEW_IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def two_owners_org():
    org, owner = make_org()
    second_owner = add_member(org, Role.OWNER)
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, billing_emails="ap@acme.example", credit_limit=Decimal(0))
    return org, owner, second_owner, finance, customer


def test_a_changed_billing_email_is_mailed_to_the_owners_once(two_owners_org, client, smtp_server,
                                                             django_capture_on_commit_callbacks):
    org, owner, second_owner, finance, customer = two_owners_org
    client.force_login(finance)
    edit = reverse("customer_edit", kwargs={"org_slug": org.slug, "pk": customer.pk})
    data = {"name": customer.name, "code": customer.code, "billing_emails": "pay@evil.example",
            "currency": customer.currency, "payment_terms_days": customer.payment_terms_days,
            "credit_limit": customer.credit_limit, "language": "en"}
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(edit, data, REMOTE_ADDR="198.51.100.9").status_code == 302
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert sorted(a.addr_spec for a in message["To"].addresses) == sorted([owner.email, second_owner.email])
    body = message.get_content()
    assert customer.name in message["Subject"] and "changed" in message["Subject"]
    assert "before: ap@acme.example" in body and "after:  pay@evil.example" in body
    assert finance.email in body and "198.51.100.9" in body
    # Once: running again (as the schedule does) sends nothing more; a change of another field sends nothing.
    assert send_change_notices(org) == 0
    data.update(billing_emails="pay@evil.example", phone="+353 1 555 0100")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(edit, data)
    assert send_notices()["sent"] == 0
    assert len(smtp_server.messages) == 1
    with tenant_context(org):
        assert ChangeNotice.objects.filter(organization=org, sent_at__isnull=False).count() == 1


def test_changed_bank_details_are_mailed_masked(two_owners_org, smtp_server, django_capture_on_commit_callbacks):
    org, owner, *_ = two_owners_org
    with tenant_context(org, owner), django_capture_on_commit_callbacks(execute=True):
        settings = InvoiceSettings.objects.get(organization=org)
        settings.bank_details = f"IBAN {IBAN} · BIC AIBKIE2D"
        settings.save()
    with tenant_context(org, owner), django_capture_on_commit_callbacks(execute=True):
        settings.bank_details = f"IBAN {NEW_IBAN} · BIC COBADEFF"
        settings.save()
    assert len(smtp_server.messages) == 2
    body = smtp_server.messages[1].get_content()
    assert "bank details" in smtp_server.messages[1]["Subject"]
    assert "IE29" in body and "5678" in body and "DE89" in body and "3000" in body
    for secret in ("AIBK93115212", "370400440532", "9311 5212", "3704 0044"):
        assert secret not in body  # the middle of the numbers never leaves the server
    assert owner.email in body


def test_an_iban_changed_past_the_application_is_mailed_by_the_schedule(two_owners_org, smtp_server,
                                                                        django_capture_on_commit_callbacks):
    org, owner, *_ = two_owners_org
    with tenant_context(org, owner), django_capture_on_commit_callbacks(execute=True):
        bank = Account.objects.get(organization=org, system_key="bank")
        account = create_bank_account(org, name="Main", currency="EUR", account=bank, iban=IBAN)
    assert len(smtp_server.messages) == 1 and "bank account “Main” added" in smtp_server.messages[0]["Subject"]
    with tenant_context(org), connection.cursor() as cursor:  # no signal: a script, a console
        cursor.execute("UPDATE payments_bankaccount SET iban = %s WHERE id = %s", [NEW_IBAN.replace(" ", ""),
                                                                                 account.pk])
    assert len(smtp_server.messages) == 1
    assert send_notices()["sent"] == 1
    body = smtp_server.messages[1].get_content()
    assert "IE29" in body and "DE89" in body and "370400440532" not in body
    assert "no user" in body  # the SQL session had no application user
    assert send_notices()["sent"] == 0


def test_mask_keeps_the_ends_of_numbers_only():
    assert mask("IBAN IE29 AIBK 9311 5212 3456 78, BIC AIBKIE2D") == "IBAN IE29••••••••••••••5678, BIC AIBKIE2D"
    assert mask("Account 12345678901, sort code 90-00-17") == "Account 1234•••8901, sort code ••••••"
    assert mask("") == ""


def test_the_schedules_exist():
    """The worker's schedules (accounts migration 0017); in this non-transactional module, where the
    migration's rows are still there."""
    notices = Schedule.objects.get(name="accounts: change notices")
    assert (notices.func, notices.schedule_type, notices.minutes, notices.repeats) == (
        "accounts.tasks.send_notices", "I", 1, -1)
    nightly = Schedule.objects.get(name="accounts: nightly checkpoints")
    assert (nightly.func, nightly.schedule_type, nightly.repeats) == ("accounts.tasks.checkpoint_all", "D", -1)
