"""Payment plans (issue 19 #7): instalments summing exactly to the chosen balance, the hold on step
reminders, instalment reminders on their own dates, kept/missed over random payment timings (with
un-applications), a broken plan resuming normal chasing and notifying the assignee."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.money import quantum
from invoicing.models import InvoiceEvent
from ledger_site.tenancy import tenant_context
from reminders import holds, plans
from reminders.models import OutboxKind, ReminderMessage
from reminders.models_collections import Notification
from reminders.models_plans import Instalment, PaymentPlan, PlanStatus
from reminders.plans import Due, decide
from reminders.promises import Applied
from tests.factories import add_member
from tests.payments.helpers import pay
from tests.reminders.helpers import TODAY, at, invoice_due, org_with_customer, run

START = date(2026, 3, 1)
D = Decimal


# --- The rule, over every input ---------------------------------------------------------------------

payments_st = st.lists(st.tuples(
    st.integers(-5, 45),  # day of the payment, from the plan's start
    st.sampled_from([D("10"), D("25.50"), D("40"), D("100")]),
    st.one_of(st.none(), st.integers(0, 30)),  # un-applied that many days later, or never
), max_size=8)
instalments_st = st.lists(st.tuples(st.integers(1, 10), st.sampled_from([D("20"), D("50"), D("75.25")])),
                          min_size=1, max_size=4)


@given(payments=payments_st, instalments=instalments_st, grace=st.integers(0, 5), today=st.integers(0, 60))
@settings(max_examples=400, deadline=None)
def test_each_instalment_is_kept_or_missed_from_payment_timings(payments, instalments, grace, today):
    applied = []
    for day, amount, undone_after in payments:
        applied.append(Applied(START + timedelta(days=day), amount))
        if undone_after is not None:
            applied.append(Applied(START + timedelta(days=day + undone_after), -amount,
                                   undoes_day=START + timedelta(days=day)))
    dues, day = [], 0
    for gap, amount in instalments:
        day += gap
        dues.append(Due(START + timedelta(days=day), amount))
    result = decide(dues, START, grace, applied, START + timedelta(days=today))
    cumulative = D(0)
    for due, got in zip(dues, result, strict=True):
        cumulative += due.amount
        deadline = (due.day - START).days + grace
        # The oracle: money still applied (never un-applied), paid from the plan's start to the deadline.
        paid = sum((a for d, a, u in payments if 0 <= d <= deadline and u is None), D(0))
        if today <= deadline:
            assert got == ""
        else:
            assert got == ("kept" if paid >= cumulative else "missed")


@given(minor=st.integers(1, 10**9), currency=st.sampled_from(["EUR", "JPY", "BHD"]), count=st.integers(1, 36))
@settings(max_examples=300, deadline=None)
def test_split_sums_exactly_in_the_currencys_minor_unit(minor, currency, count):
    amount = D(minor) * quantum(currency)
    try:
        parts = plans.split(amount, currency, count)
    except plans.PlanError:
        assert minor < count  # only when there is less than one minor unit per instalment
        return
    assert sum(parts, D(0)) == amount and len(parts) == count
    assert all(p > 0 and p == p.quantize(quantum(currency)) for p in parts)
    assert max(parts) - min(parts) < quantum(currency) * count


# --- Making a plan -----------------------------------------------------------------------------------

@pytest.fixture
def plan_world(db):
    org, owner, customer = org_with_customer(billing_emails="ap@example.com")
    clerk = add_member(org)
    inv = invoice_due(org, customer, TODAY - timedelta(days=40))  # 240.00 due
    return org, owner, clerk, customer, inv


def test_bad_plans_are_refused_with_a_message_and_nothing_stored(plan_world):
    org, owner, _clerk, customer, inv = plan_world
    other = org_with_customer()
    with tenant_context(org):
        from tests.factories import CustomerFactory
        stranger = CustomerFactory(organization=org)
        stranger_inv = invoice_due(org, stranger, TODAY - timedelta(days=5))
        cases = [
            ([inv.pk], [(TODAY + timedelta(days=1), D("100")), (TODAY + timedelta(days=2), D("100"))], "add up to"),
            ([inv.pk], [(TODAY - timedelta(days=1), D("240"))], "today or later"),
            ([inv.pk, stranger_inv.pk], [(TODAY, D("480"))], "open invoices of this customer"),
            ([inv.pk], [(TODAY, D("120.001")), (TODAY + timedelta(days=1), D("119.999"))], "decimals"),
            ([inv.pk], [(TODAY + timedelta(days=5), D("120")), (TODAY + timedelta(days=1), D("120"))], "in order"),
            ([inv.pk], [(TODAY, D("-10")), (TODAY + timedelta(days=1), D("250"))], "more than zero"),
            ([], [(TODAY, D("240"))], "at least one"),
        ]
        for ids, inst, message in cases:
            with pytest.raises(plans.PlanError, match=message):
                plans.create_plan(customer, ids, inst, actor=owner, propose=False, today=TODAY)
        assert not PaymentPlan.objects.exists() and not Instalment.objects.exists()
        plans.create_plan(customer, [inv.pk], [(TODAY, D("240"))], actor=owner, propose=True, today=TODAY)
        with pytest.raises(plans.PlanError, match="Already in a payment plan"):
            plans.create_plan(customer, [inv.pk], [(TODAY, D("240"))], actor=owner, propose=False, today=TODAY)
        assert PaymentPlan.objects.count() == 1
    del other


def test_a_proposed_plan_holds_nothing_until_accepted(plan_world):
    org, owner, _clerk, customer, inv = plan_world
    with tenant_context(org):
        plan = plans.create_plan(customer, [inv.pk], [(TODAY + timedelta(days=3), D("240"))], actor=owner,
                                 propose=True, today=TODAY)
        assert not holds.on_plan(inv)
        plans.accept(plan, today=TODAY, via="staff", actor=owner)
        assert holds.on_plan(inv)
        assert any("payment plan" in r for r in holds.active_holds(inv, TODAY))
        with pytest.raises(plans.AlreadyAccepted):
            plans.accept(plan, today=TODAY, via="staff")
        plans.cancel(plan, actor=owner)
        assert not holds.on_plan(inv)


# --- The scan: hold, instalment reminders, break, resume ---------------------------------------------

def _plan(org, owner, customer, inv, clerk):
    with tenant_context(org):
        return plans.create_plan(customer, [inv.pk], [(TODAY - timedelta(days=15), D("120.00")),
                                                      (TODAY + timedelta(days=5), D("120.00"))],
                                 actor=owner, propose=False, today=TODAY - timedelta(days=20), grace_days=3,
                                 assignee_id=clerk.pk)


def test_an_active_plan_holds_step_reminders_and_reminds_each_instalment_once(plan_world):
    org, owner, clerk, customer, inv = plan_world
    plan = _plan(org, owner, customer, inv, clerk)
    run(at(TODAY - timedelta(days=16)), org)
    assert mail.outbox == []  # overdue by 24 days, but held by the plan: no step reminder
    run(at(TODAY - timedelta(days=15)), org)
    run(at(TODAY - timedelta(days=15), 15), org)  # a second scan that day sends nothing more
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Instalment 1 of 2" in message.subject and "120.00" in message.subject
    assert message.to == ["ap@example.com"] and org.name in message.from_email
    with tenant_context(org):
        assert not ReminderMessage.objects.filter(invoice=inv, kind=OutboxKind.SCHEDULED).exists()
        pay(org, customer, "120.00", allocation={inv.pk: D("120.00")}, received_date=TODAY - timedelta(days=13))
    run(at(TODAY - timedelta(days=10)), org)  # instalment 1's grace has passed: kept
    run(at(TODAY), org)
    assert len(mail.outbox) == 1  # still held, nothing more due yet
    with tenant_context(org):
        plan.refresh_from_db()
        assert plan.status == PlanStatus.ACTIVE
        assert list(plan.instalments.values_list("outcome", flat=True)) == ["kept", ""]
    run(at(TODAY + timedelta(days=5)), org)
    assert len(mail.outbox) == 2 and "Instalment 2 of 2" in mail.outbox[1].subject


def test_a_missed_instalment_breaks_the_plan_resumes_chasing_and_tells_the_assignee(plan_world, client):
    org, owner, clerk, customer, inv = plan_world
    plan = _plan(org, owner, customer, inv, clerk)
    run(at(TODAY - timedelta(days=15)), org)
    assert len(mail.outbox) == 1
    with tenant_context(org):  # paid, but 20.00 short of instalment 1
        pay(org, customer, "100.00", allocation={inv.pk: D("100.00")}, received_date=TODAY - timedelta(days=14))
    run(at(TODAY - timedelta(days=11)), org)  # the grace ends on day -12
    with tenant_context(org):
        plan.refresh_from_db()
        assert plan.status == PlanStatus.BROKEN and "Instalment 1" in plan.end_note
        assert Notification.objects.filter(kind="plan_broken", user=clerk).count() == 1
        assert not Notification.objects.filter(kind="plan_broken", user=owner).exists()  # the assignee only
        assert InvoiceEvent.objects.filter(invoice=inv, kind="plan", message__contains="broken").exists()
        step = ReminderMessage.objects.get(invoice=inv, kind=OutboxKind.SCHEDULED, status="sent")
    # Normal chasing resumed in the same scan: one step reminder (the catch-up rule), for what is still due.
    assert len(mail.outbox) == 2 and "140.00" in mail.outbox[1].body and step.offset_days > 0
    client.force_login(clerk)
    page = client.get(f"/o/{org.slug}/reminders/worklist/").content.decode()
    assert f'data-plan="{plan.pk}"' in page and "broken" in page


@pytest.mark.django_db
@given(payments=st.lists(st.tuples(st.integers(-19, -1), st.sampled_from(["25", "50"]), st.booleans()),
                         max_size=4))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
def test_check_plans_on_real_payments_and_unapplications(payments):
    """Plan of 200.00 agreed 20 days ago: 50.00 on day -15, 150.00 on day -8, grace 2 days. Real payments
    (dated) and un-applications dated today, after every deadline."""
    from payments.allocation import unapply
    from payments.models import Allocation

    org, owner, customer = org_with_customer()
    inv = invoice_due(org, customer, TODAY - timedelta(days=40), price="100.00", tax="0")  # 200.00
    with tenant_context(org):
        plan = plans.create_plan(customer, [inv.pk], [(TODAY - timedelta(days=15), D("50")),
                                                      (TODAY - timedelta(days=8), D("150"))],
                                 actor=owner, propose=False, today=TODAY - timedelta(days=20), grace_days=2)
        kept_by = {-13: D(0), -6: D(0)}
        total = D(0)
        for day, amount, undo in payments:
            payment = pay(org, customer, amount, allocation={inv.pk: D(amount)},
                          received_date=TODAY + timedelta(days=day))
            if undo:
                unapply(Allocation.objects.get(payment=payment), "bounced", effective_date=TODAY)
                continue
            total += D(amount)
            for deadline in kept_by:
                if day <= deadline:
                    kept_by[deadline] += D(amount)
        plans.check_plans(org, TODAY)
        plan.refresh_from_db()
        outcomes = list(plan.instalments.values_list("outcome", flat=True))
        assert outcomes == ["kept" if kept_by[-13] >= 50 else "missed", "kept" if kept_by[-6] >= 200 else "missed"]
        if total == 200:  # all paid, even if late: nothing left to chase
            assert plan.status == PlanStatus.COMPLETED
        elif "missed" in outcomes:
            assert plan.status == PlanStatus.BROKEN
            assert Notification.objects.filter(kind="plan_broken", user=owner).count() == 1
        plans.check_plans(org, TODAY)  # decided once: nothing changes, nobody is told twice
        assert Notification.objects.filter(kind="plan_broken").count() == (plan.status == PlanStatus.BROKEN)


def test_staff_make_a_plan_from_the_customer_page_and_cancel_it(plan_world, client):
    org, owner, clerk, customer, inv = plan_world
    client.force_login(clerk)
    url = f"/o/{org.slug}/reminders/customers/{customer.pk}/plans/new/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"invoices": [inv.pk], "count": "3", "first": str(TODAY - timedelta(days=1)),
                            "every_days": "30", "grace_days": "3"})
    assert bad.status_code == 200 and "today or later" in bad.content.decode()
    response = client.post(url, {"invoices": [inv.pk], "count": "7", "first": str(TODAY), "every_days": "14",
                                 "grace_days": "3", "propose": "on"})
    assert response.status_code == 302
    with tenant_context(org):
        plan = PaymentPlan.objects.get()
        amounts = list(plan.instalments.values_list("amount", flat=True))
        assert plan.status == PlanStatus.PROPOSED and sum(amounts) == D("240.00") and len(amounts) == 7
        assert amounts[:6] == [D("34.28")] * 6 and amounts[6] == D("34.32")
    page = client.get(f"/o/{org.slug}/customers/{customer.pk}/").content.decode()
    assert f'id="plan-{plan.pk}"' in page and "34.32" in page
    assert client.post(f"/o/{org.slug}/reminders/plans/{plan.pk}/cancel/").status_code == 302
    with tenant_context(org):
        plan.refresh_from_db()
        assert plan.status == PlanStatus.CANCELLED


def test_the_sender_rechecks_an_instalment_paid_or_a_plan_cancelled_after_the_scan(plan_world):
    from reminders.outbox import deliver
    from reminders.scheduler import scan

    org, owner, clerk, customer, inv = plan_world
    plan = _plan(org, owner, customer, inv, clerk)
    now = at(TODAY - timedelta(days=15))
    scan(now=now, org_ids=[org.pk], enqueue=lambda *a: None)
    with tenant_context(org):
        row = ReminderMessage.objects.get(kind=OutboxKind.INSTALMENT)
        pay(org, customer, "120.00", allocation={inv.pk: D("120.00")}, received_date=TODAY - timedelta(days=15))
    deliver(org.pk, now=now)
    with tenant_context(org):
        row.refresh_from_db()
        assert row.status == "cancelled" and "paid" in row.result
    assert mail.outbox == []
    later = at(TODAY + timedelta(days=5))
    scan(now=later, org_ids=[org.pk], enqueue=lambda *a: None)  # instalment 2 is due and unpaid: queued
    with tenant_context(org):
        second = ReminderMessage.objects.get(kind=OutboxKind.INSTALMENT, status="pending")
        plans.cancel(plan, actor=owner)  # ... and the plan is cancelled before it goes out
    deliver(org.pk, now=later)
    assert mail.outbox == []
    with tenant_context(org):
        second.refresh_from_db()
        assert second.status == "cancelled" and "no longer active" in second.result
