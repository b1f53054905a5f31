"""The reminder pages: send by hand (idempotent), policy editor errors, upcoming, skip, promise, health."""

import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from invoicing.models import InvoiceEvent
from ledger_site.tenancy import tenant_context
from reminders.models import OutboxKind, OutboxStatus, PromiseToPay, ReminderMessage, ReminderPolicy, ReminderStep
from tests.factories import add_member
from tests.reminders.helpers import TODAY, invoice_due, org_with_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    org, owner, customer = org_with_customer(billing_emails="ap@buyer.example")
    finance = add_member(org, Role.FINANCE)
    client = Client()
    client.force_login(finance)
    invoice = invoice_due(org, customer, TODAY - timedelta(days=9))
    return org, finance, client, invoice, customer


def url(org, name, **kwargs):
    return reverse(name, kwargs={"org_slug": org.slug, **kwargs})


def test_send_reminder_previews_the_next_step_and_a_double_submit_sends_once(setup, django_capture_on_commit_callbacks):
    org, finance, client, invoice, _ = setup
    page = client.get(url(org, "reminder_send", pk=invoice.pk))
    assert page.status_code == 200
    step = page.context["step"]
    assert step.offset_days == 7, "defaults to the step the schedule would use next"
    assert "9 days overdue" in page.context["body"] and "240.00 EUR" in page.context["body"]
    key = page.context["key"]
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url(org, "reminder_send", pk=invoice.pk), {"step": step.pk, "key": key})
        assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ap@buyer.example"]
    with tenant_context(org):
        row = ReminderMessage.objects.get(kind=OutboxKind.MANUAL)
        assert row.status == OutboxStatus.SENT and row.created_by == finance and row.offset_days is None
        event = InvoiceEvent.objects.get(invoice=invoice, kind="reminder")
        assert "by hand" in event.message and event.actor == finance
    log = client.get(url(org, "reminder_log"))
    assert invoice.number in log.content.decode() and "Accepted by the mail server" in log.content.decode()


def test_a_different_template_can_be_chosen_and_previewed(setup):
    org, _, client, invoice, _ = setup
    with tenant_context(org):
        final = ReminderStep.objects.get(organization=org, offset_days=21)
    page = client.get(url(org, "reminder_send", pk=invoice.pk), {"step": final.pk, "key": uuid.uuid4().hex})
    assert page.context["step"] == final
    assert page.context["subject"] == f"Final reminder: invoice {invoice.number}"


def test_a_viewer_cannot_send_and_the_invoice_of_another_org_is_not_found(setup):
    org, _, _, invoice, _ = setup
    viewer = Client()
    viewer.force_login(add_member(org, Role.VIEWER))
    assert viewer.post(url(org, "reminder_send", pk=invoice.pk), {"step": 1, "key": "x"}).status_code == 403
    other, _, _ = org_with_customer()
    other_finance = Client()
    other_finance.force_login(add_member(other, Role.FINANCE))
    assert other_finance.get(url(other, "reminder_send", pk=invoice.pk)).status_code == 404


def test_the_policy_editor_refuses_unknown_placeholders_bad_fees_and_offsets_out_of_order(setup):
    org, _, client, _, _ = setup
    data = {"name": "Strict", "repeat_every_days": "", "repeat_limit": "0",
            "steps-TOTAL_FORMS": "3", "steps-INITIAL_FORMS": "0", "steps-MIN_NUM_FORMS": "0",
            "steps-MAX_NUM_FORMS": "12"}
    for n, (offset, subject, fee_type, fee) in enumerate([(7, "Overdue {invoice_numbr}", "fixed", "-5"),
                                                          (14, "Second", "none", ""),
                                                          (10, "Third", "none", "")]):
        data.update({f"steps-{n}-offset_days": offset, f"steps-{n}-tone": "firm", f"steps-{n}-subject": subject,
                     f"steps-{n}-body": "Pay {amount_due}", f"steps-{n}-fee_type": fee_type,
                     f"steps-{n}-fee_value": fee, f"steps-{n}-fee_cap": ""})
    response = client.post(url(org, "reminder_policy_create"), data)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Unknown placeholder {invoice_numbr}" in text and "at line 1, column 9 (character 9)" in text
    assert "A late fee must be more than zero." in text
    data["steps-0-subject"], data["steps-0-fee_value"] = "Overdue {invoice_number}", "25"
    response = client.post(url(org, "reminder_policy_create"), data)
    assert "step 3 (day +10) does not come after step 2 (day +14)" in response.content.decode()
    data["steps-2-offset_days"] = "21"
    response = client.post(url(org, "reminder_policy_create"), data)
    assert response.status_code == 302
    with tenant_context(org):
        policy = ReminderPolicy.objects.get(organization=org, name="Strict")
        assert [s.offset_days for s in policy.steps.all()] == [7, 14, 21]
    detail = client.get(url(org, "reminder_policy", pk=policy.pk)).content.decode()
    assert "Catch-up rule" in detail and "25.00 EUR" in detail


def test_upcoming_lists_the_next_points_and_skip_stops_one(setup):
    org, _, client, invoice, customer = setup
    page = client.get(url(org, "reminder_list"))
    items = page.context["items"]
    # 9 days overdue: +7 is due now (earlier points were never sent: collapsed into it), +14 in 5 days.
    assert [(i.invoice_id, i.offset_days) for i in items] == [(invoice.pk, 7), (invoice.pk, 14)]
    response = client.post(url(org, "reminder_skip"), {"invoice": invoice.pk, "offset": 7})
    assert response.status_code == 302
    with tenant_context(org):
        assert ReminderMessage.objects.get(invoice=invoice, offset_days=7).status == OutboxStatus.SKIPPED
    items = client.get(url(org, "reminder_list")).context["items"]
    assert [(i.invoice_id, i.offset_days) for i in items] == [(invoice.pk, 14)]


def test_upcoming_shows_cannot_send_for_a_customer_without_an_e_mail(setup):
    org, _, client, invoice, customer = setup
    with tenant_context(org):
        customer.billing_emails = ""
        customer.save()
    page = client.get(url(org, "reminder_list"))
    assert page.status_code == 200 and "cannot send: no e-mail" in page.content.decode()


def test_a_promise_to_pay_is_recorded_and_shown_as_a_hold(setup):
    org, _, client, invoice, _ = setup
    until = TODAY + timedelta(days=10)
    response = client.post(url(org, "reminder_promise", pk=invoice.pk),
                           {"until": until.isoformat(), "promised_by": "Jane Roe", "note": "after payday"})
    assert response.status_code == 302
    with tenant_context(org):
        promise = PromiseToPay.objects.get(invoice=invoice)
        assert promise.until == until and promise.promised_by == "Jane Roe"
        assert InvoiceEvent.objects.filter(invoice=invoice, kind="promise").exists()
    page = client.get(url(org, "reminder_list")).content.decode()
    assert "promise to pay" in page
    response = client.post(url(org, "reminder_promise", pk=invoice.pk),
                           {"until": (TODAY - timedelta(days=1)).isoformat(), "promised_by": "X"})
    assert "today or later" in response.content.decode()


def test_worker_health_shows_the_last_scan_and_queue_depth_to_owners(setup):
    from reminders.scheduler import scan
    from tests.reminders.helpers import at

    org, _, client, _, _ = setup
    assert client.get(url(org, "reminder_health")).status_code == 403
    scan(now=at(TODAY), org_ids=[org.pk])  # the on-commit enqueue does not run inside the test transaction
    owner = Client()
    with tenant_context(org):
        from accounts.models import Membership

        owner.force_login(Membership.objects.get(organization=org, role=Role.OWNER).user)
    page = owner.get(url(org, "reminder_health"))
    assert page.status_code == 200
    assert page.context["settings"].last_scan_at == at(TODAY)
    assert isinstance(page.context["queue_depth"], int)
