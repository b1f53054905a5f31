"""The audit log of master data and settings: every change of a customer, the organization, a
membership or the invoice settings is logged by the database with who, when, from where, before
and after; the log is append-only and tenant-scoped; credit limit and terms are the owner's."""

import json
from decimal import Decimal

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.credit_terms import owner_edit
from accounts.models import AuditEvent, Customer, Membership, Role
from invoicing.models import InvoiceSettings
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, add_member, make_org

pytestmark = pytest.mark.django_db

UA = "Mozilla/5.0 (audit test)"


@pytest.fixture
def audited_org():
    org, owner = make_org()
    finance = add_member(org, Role.FINANCE)
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, credit_limit=Decimal("1000.00"), payment_terms_days=30)
    return org, owner, finance, customer


def form_data(customer, **changes):
    data = {"name": customer.name, "code": customer.code, "contact_person": "",
            "billing_emails": customer.billing_emails, "phone": "", "tax_id": "", "billing_address": "",
            "currency": customer.currency,
            "payment_terms_days": customer.payment_terms_days, "credit_limit": customer.credit_limit or "",
            "language": customer.language, "tags": "", "notes": ""}
    data.update(changes)
    return data


def events(org, **filters):
    with tenant_context(org):
        return list(AuditEvent.objects.filter(organization=org, **filters).order_by("at", "pk"))


def test_a_customer_change_is_logged_with_who_when_where_before_and_after(audited_org, client):
    org, owner, _, customer = audited_org
    client.force_login(owner)
    url = reverse("customer_edit", kwargs={"org_slug": org.slug, "pk": customer.pk})
    response = client.post(url, form_data(customer, credit_limit="999999.00", billing_emails="new@evil.example"),
                           HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 302
    change = events(org, table_name="accounts_customer", object_id=customer.pk, action="update")[-1]
    assert (change.actor, change.ip, change.user_agent) == (owner, "203.0.113.7", UA)
    assert set(change.changed) == {"billing_emails", "credit_limit"}
    assert (change.before["credit_limit"], change.after["credit_limit"]) == (1000.0, 999999.0)
    assert change.before["billing_emails"] == customer.billing_emails
    assert change.after["billing_emails"] == "new@evil.example"
    created = events(org, table_name="accounts_customer", object_id=customer.pk, action="insert")
    assert len(created) == 1 and created[0].before is None


def test_finance_cannot_change_the_credit_limit_or_terms_403_nothing_changed(audited_org, client):
    org, _, finance, customer = audited_org
    client.force_login(finance)
    url = reverse("customer_edit", kwargs={"org_slug": org.slug, "pk": customer.pk})
    before = len(events(org))
    for change in ({"credit_limit": "999999.00"}, {"payment_terms_days": 90}):
        assert client.post(url, form_data(customer, **change)).status_code == 403
    with tenant_context(org):
        fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.credit_limit, fresh.payment_terms_days) == (Decimal("1000.00"), 30)
    assert len(events(org)) == before
    # Other fields are still finance's to change, and logged.
    assert client.post(url, form_data(customer, phone="+353 1 555 0100")).status_code == 302
    assert events(org)[-1].changed == ["phone"] and events(org)[-1].actor == finance


def test_settings_members_and_invoice_settings_are_logged(audited_org, client):
    org, owner, finance, _ = audited_org
    with tenant_context(org, owner):
        settings_row = InvoiceSettings.objects.get(organization=org)
        settings_row.bank_details = "IBAN XX00 NEW"
        settings_row.save()
        org.tax_id = "IE1234567X"
        org.save()
        membership = Membership.objects.get(organization=org, user=finance)
        membership.role = Role.VIEWER
        membership.save()
        membership.delete()
    kinds = {(e.table_name, e.action, tuple(e.changed)) for e in events(org) if e.action != "insert"}
    assert ("invoicing_invoicesettings", "update", ("bank_details",)) in kinds
    assert ("accounts_organization", "update", ("tax_id",)) in kinds
    assert ("accounts_membership", "update", ("role",)) in kinds
    assert any(k[:2] == ("accounts_membership", "delete") for k in kinds)


def test_the_log_is_append_only_and_written_only_by_the_database(audited_org):
    org, owner, _, _ = audited_org
    with tenant_context(org, owner):
        for sql in ("UPDATE accounts_auditevent SET ip = 'x'", "DELETE FROM accounts_auditevent",
                    "INSERT INTO accounts_auditevent (organization_id, at, ip, user_agent, table_name, object_id,"
                    f" action, changed) VALUES ({org.pk}, now(), '', '', 'x', 1, 'insert', '[]')"):
            with pytest.raises((ProgrammingError, psycopg.errors.InsufficientPrivilege)), transaction.atomic(), \
                    connection.cursor() as c:
                c.execute(sql)


def test_another_organization_sees_none_of_it(audited_org):
    org, *_ = audited_org
    other, other_owner = make_org()
    with tenant_context(other, other_owner):
        assert not AuditEvent.objects.filter(organization=org).exists()
        assert AuditEvent.objects.exclude(organization=other).count() == 0


FIELDS = st.fixed_dictionaries({}, optional={
    "name": st.text(alphabet="abcdefghij XYZ'\"é", min_size=1, max_size=20),
    "credit_limit": st.decimals(min_value=0, max_value=10**9, places=2),
    "payment_terms_days": st.integers(0, 365),
    "billing_emails": st.sampled_from(["a@x.example", "b@y.example, c@z.example", ""]),
    "notes": st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=30),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(FIELDS, max_size=6))
def test_any_sequence_of_edits_replays_from_the_log_to_the_current_row(audited_org, edits):
    org, owner, _, _ = audited_org
    # As an owner's edits (credit limit and terms change only inside accounts.credit_terms' owner_edit).
    with tenant_context(org, owner), transaction.atomic(), owner_edit(org, owner):
        customer = CustomerFactory(organization=org)
        for edit in edits:
            for field, value in edit.items():
                setattr(customer, field, value)
            customer.save()
        replayed = None
        for event in AuditEvent.objects.filter(table_name="accounts_customer", object_id=customer.pk).order_by("pk"):
            if event.action == "insert":
                replayed = dict(event.after)
            else:
                for column in event.changed:
                    replayed[column] = event.after[column]
        with connection.cursor() as c:
            c.execute("SELECT to_jsonb(c)::text FROM accounts_customer c WHERE id = %s", [customer.pk])
            current = json.loads(c.fetchone()[0])
        # updated_at is the row's own stamp (accounts.audit ignores it), not an edit anyone made.
        replayed.pop("updated_at", None)
        current.pop("updated_at", None)
        assert replayed == current
        transaction.set_rollback(True)


def test_the_audit_page_filters_by_customer_and_exports_csv(audited_org, client):
    org, owner, _, customer = audited_org
    with tenant_context(org, owner):
        other = CustomerFactory(organization=org, name="Other Ltd")
        customer.phone = "+1 555"
        customer.save()
    client.force_login(owner)
    url = reverse("audit_log", kwargs={"org_slug": org.slug})
    page = client.get(url, {"customer": customer.pk}).content.decode()
    assert f"#{customer.pk}" in page and f"#{other.pk} " not in page and "+1 555" in page
    csv_text = client.get(url, {"customer": customer.pk, "format": "csv"}).content.decode()
    assert "phone" in csv_text and "+1 555" in csv_text
    detail = client.get(reverse("customer_detail", kwargs={"org_slug": org.slug, "pk": customer.pk})).content.decode()
    assert 'id="customer-audit"' in detail and "+1 555" in detail


# --- API keys and reminder settings (the gaps of issue 13 item 6) ------------------------------

def test_api_keys_created_and_revoked_are_logged_but_not_their_use(audited_org, client):
    from django.utils import timezone

    from accounts.models import ApiKey

    org, owner, _, _ = audited_org
    client.force_login(owner)
    url = reverse("api_key_list", kwargs={"org_slug": org.slug})
    assert client.post(url, {"name": "Web shop", "scope": "read"}, REMOTE_ADDR="203.0.113.9").status_code == 200
    with tenant_context(org):
        key = ApiKey.objects.get(organization=org, name="Web shop")
    created = events(org, table_name="accounts_apikey", object_id=key.pk)
    # Created, then given its hint (the token's first characters, which need the key's id).
    assert [(e.action, e.actor, e.ip) for e in created] == [("insert", owner, "203.0.113.9"),
                                                            ("update", owner, "203.0.113.9")]
    assert created[0].after["name"] == "Web shop" and created[0].after["scope"] == "read"
    assert created[1].changed == ["hint"] and created[1].after["hint"] == key.hint
    # Its secret's hash and the usage bookkeeping are quiet: not in the log, and using the key is no event.
    assert not {"secret_hash", "last_used_at", "last_used_ip", "window_count"} & set(created[0].after)
    with tenant_context(org):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now(), last_used_ip="198.51.100.1",
                                                window_start=timezone.now(), window_count=7)
    assert len(events(org, table_name="accounts_apikey")) == 2
    client.post(reverse("api_key_revoke", kwargs={"org_slug": org.slug, "pk": key.pk}))
    revoked = events(org, table_name="accounts_apikey", object_id=key.pk)[-1]
    assert (revoked.action, revoked.changed, revoked.before["revoked_at"]) == (
        "update", ["revoked_at", "revoked_by_id"], None)
    assert revoked.after["revoked_at"] and revoked.after["revoked_by_id"] == owner.pk
    # The page's History, newest first, linking to the audit page's filter.
    page = client.get(url).content.decode()
    history = page[page.index('id="history"'):]
    assert history.index("revoked_at") < history.index("Web shop")
    assert f'/o/{org.slug}/settings/audit/?kind=accounts_apikey"' in history


def test_reminder_settings_and_a_customers_hold_are_logged_but_not_the_scan(audited_org, client):
    from django.utils import timezone

    from reminders.models import CustomerReminderSettings, ReminderSettings
    from reminders.setup import ensure_setup

    org, owner, finance, customer = audited_org
    with tenant_context(org, owner):
        ensure_setup(org)
        before = len(events(org, table_name="reminders_remindersettings"))
        ReminderSettings.objects.filter(organization=org).update(last_scan_at=timezone.now())
        assert len(events(org, table_name="reminders_remindersettings")) == before
    client.force_login(owner)
    url = reverse("reminder_settings", kwargs={"org_slug": org.slug})
    with tenant_context(org):
        row = ReminderSettings.objects.get(organization=org)
    data = {"timezone": org.timezone, "send_hour": 10, "paused": "on", "paused_reason": "Audit season", "reply_to": "",
            "promise_grace_days": row.promise_grace_days, "portal_disputes": "on", "portal_promises": "on",
            "portal_balance": "on", "portal_statement": "on"}
    assert client.post(url, data).status_code == 302
    change = events(org, table_name="reminders_remindersettings")[-1]
    assert change.actor == owner and set(change.changed) == {"send_hour", "paused", "paused_reason"}
    assert (change.before["send_hour"], change.after["send_hour"], change.after["paused"]) == (8, 10, True)
    assert "last_scan_at" not in change.after
    page = client.get(url).content.decode()
    assert 'id="history"' in page and "paused_reason" in page and "Audit season" in page
    assert "?kind=reminders_remindersettings" in page
    # A customer's hold (finance may set it): logged, found by the audit page's customer filter and
    # shown in the customer page's History.
    with tenant_context(org, finance):
        CustomerReminderSettings.objects.create(organization=org, customer=customer, do_not_remind=True,
                                                note="In dispute")
    hold = events(org, table_name="reminders_customerremindersettings")[-1]
    assert (hold.action, hold.actor, hold.after["do_not_remind"]) == ("insert", finance, True)
    audit_page = client.get(reverse("audit_log", kwargs={"org_slug": org.slug}), {"customer": customer.pk})
    assert "In dispute" in audit_page.content.decode()
    detail = client.get(reverse("customer_detail", kwargs={"org_slug": org.slug, "pk": customer.pk})).content.decode()
    panel = detail[detail.index('id="customer-audit"'):]
    assert "In dispute" in panel and f"?customer={customer.pk}" in panel
