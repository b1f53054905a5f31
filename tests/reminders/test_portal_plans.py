"""The portal's payment plan acceptance and "ask for a copy" (issue 19 #7, #1), the call log and the
customer's activity log (#6)."""

import uuid
from datetime import timedelta
from decimal import Decimal

from invoicing.models import InvoiceEvent
from invoicing.models_documents import EmailDelivery
from reminders import plans
from reminders.models_collections import Notification, PortalAction
from reminders.models_plans import ContactLog, PlanStatus
from tests.reminders.test_portal import two_orgs  # noqa: F401 (the fixture)

D = Decimal


def key():
    return uuid.uuid4().hex


def _propose(w, invoice="a1", customer=None):
    with w["x"].ctx():
        inv = w[invoice]
        inv.refresh_from_db()
        today = inv.today
        return plans.create_plan(customer or w["x"].customer, [inv.pk],
                                 [(today + timedelta(days=7), inv.amount_due - D("500")),
                                  (today + timedelta(days=37), D("500"))],
                                 actor=w["x"].finance, propose=True, today=today)


def test_the_customer_accepts_a_proposed_plan_once_with_time_and_address(two_orgs, client):  # noqa: F811
    w = two_orgs
    plan = _propose(w)
    page = client.get(w["url_a"]).content.decode()
    assert f'id="plan-{plan.pk}"' in page and "760.00 EUR" in page and "500.00 EUR" in page
    form_key = key()
    first = client.post(w["url_a"] + "plan/", {"plan": plan.pk, "key": form_key}, REMOTE_ADDR="198.51.100.7")
    again = client.post(w["url_a"] + "plan/", {"plan": plan.pk, "key": form_key}, REMOTE_ADDR="198.51.100.7")
    other_tab = client.post(w["url_a"] + "plan/", {"plan": plan.pk, "key": key()}, REMOTE_ADDR="198.51.100.7")
    assert first.status_code == again.status_code == other_tab.status_code == 302
    assert first["Location"].endswith("done=plan") and again["Location"].endswith("done=again")
    assert other_tab["Location"].endswith("done=again")
    with w["x"].ctx():
        plan.refresh_from_db()
        assert plan.status == PlanStatus.ACTIVE and plan.accepted_via == "portal"
        assert plan.accepted_ip == "198.51.100.7" and plan.accepted_at is not None
        assert PortalAction.objects.filter(kind="plan").count() == 1
        assert InvoiceEvent.objects.filter(invoice=w["a1"], kind="plan", message__contains="198.51.100.7").exists()
        assert Notification.objects.filter(kind="plan_accepted", user=w["x"].finance).count() == 1
    assert f'id="plan-{plan.pk}"' not in client.get(w["url_a"]).content.decode()  # no longer offered


def test_another_customers_plan_cannot_be_accepted_or_seen(two_orgs, client):  # noqa: F811
    w = two_orgs
    plan_b = _propose(w, "b1", customer=w["b"])
    assert f"plan-{plan_b.pk}" not in client.get(w["url_a"]).content.decode()
    assert client.post(w["url_a"] + "plan/", {"plan": plan_b.pk, "key": key()}).status_code == 404
    assert client.post(w["url_c"] + "plan/", {"plan": plan_b.pk, "key": key()}).status_code == 404
    assert client.post(w["url_a"] + "plan/", {"plan": "x", "key": key()}).status_code == 400
    with w["x"].ctx():
        plan_b.refresh_from_db()
        assert plan_b.status == PlanStatus.PROPOSED and not PortalAction.objects.exists()


def test_a_stale_proposal_is_refused_with_a_message(two_orgs, client):  # noqa: F811
    w = two_orgs
    plan = _propose(w)
    from tests.payments.helpers import pay
    with w["x"].ctx():
        pay(w["x"].org, w["x"].customer, "10.00", allocation={w["a1"].pk: D("10.00")})
    refused = client.post(w["url_a"] + "plan/", {"plan": plan.pk, "key": key()})
    assert refused.status_code == 400 and "has changed since" in refused.content.decode()
    with w["x"].ctx():
        plan.refresh_from_db()
        assert plan.status == PlanStatus.PROPOSED and not PortalAction.objects.exists()


def test_ask_for_a_copy_goes_to_the_billing_address_only_and_is_rate_limited(two_orgs, client):  # noqa: F811
    w = two_orgs
    for _ in range(3):
        response = client.post(w["url_a"] + "copy/", {"invoice": w["a1"].pk, "key": key(),
                                                      "to": "attacker@evil.example"})
        assert response.status_code == 302 and response["Location"].endswith("done=copy")
    refused = client.post(w["url_a"] + "copy/", {"invoice": w["a1"].pk, "key": key()})
    assert refused.status_code == 400 and "several times today" in refused.content.decode()
    # Another invoice, and another customer, are not locked out by it.
    assert client.post(w["url_a"] + "copy/", {"invoice": w["a2"].pk, "key": key()}).status_code == 302
    assert client.post(w["url_b"] + "copy/", {"invoice": w["b1"].pk, "key": key()}).status_code == 302
    assert client.post(w["url_a"] + "copy/", {"invoice": w["b1"].pk, "key": key()}).status_code == 404
    with w["x"].ctx():
        copies = EmailDelivery.objects.filter(invoice=w["a1"])
        assert copies.count() == 3
        assert all(d.recipients == ["ap@contoso.example", "finance@contoso.example"] for d in copies)
        assert PortalAction.objects.filter(kind="copy", invoice=w["a1"]).count() == 3
        assert InvoiceEvent.objects.filter(invoice=w["a1"], message__contains="asked for a copy").count() == 3


def test_a_double_submitted_copy_request_sends_once(two_orgs, client):  # noqa: F811
    w = two_orgs
    form_key = key()
    for _ in range(2):
        assert client.post(w["url_a"] + "copy/", {"invoice": w["a1"].pk, "key": form_key}).status_code == 302
    with w["x"].ctx():
        assert EmailDelivery.objects.filter(invoice=w["a1"]).count() == 1


def test_log_a_call_once_and_see_it_in_the_activity_log_newest_first(two_orgs, client):  # noqa: F811
    w = two_orgs
    x = w["x"]
    customer = x.customer
    client.force_login(x.finance)
    url = f"/o/{x.org.slug}/reminders/customers/{customer.pk}/call/"
    form_key = key()
    post = {"outcome": "promised", "note": "Will pay Friday", "follow_up": str(w["a1"].today + timedelta(days=3)),
            "key": form_key}
    assert client.post(url, post).status_code == 302
    assert client.post(url, post).status_code == 302  # a double submit: one row
    assert client.post(url, {"outcome": "", "note": "x", "key": key()}).status_code == 302  # no outcome: refused
    assert client.post(url, {"outcome": "reached", "note": "<script>x</script>", "key": key()}).status_code == 302
    with x.ctx():
        assert ContactLog.objects.count() == 1
        for n in range(24):
            ContactLog.objects.create(organization=x.org, customer=customer, kind="note", note=f"note {n:02d}")
    client.post(w["url_a"] + "dispute/", {"invoice": w["a1"].pk, "reason": "other", "amount": "1", "key": key()})
    page = client.get(f"/o/{x.org.slug}/reminders/customers/{customer.pk}/activity/").content.decode()
    assert page.count("<li data-kind") == 20 and 'id="activity-older"' in page
    assert page.index("Disputed") < page.index("note 23") < page.index("note 22")  # newest first
    older = client.get(f"/o/{x.org.slug}/reminders/customers/{customer.pk}/activity/?page=2").content.decode()
    assert "They promised to pay: Will pay Friday" in older and "note 00" in older
    assert 'id="activity-older"' not in older
    client.force_login(x.viewer)
    assert client.post(url, {**post, "key": key()}).status_code == 403
    with x.ctx():
        assert ContactLog.objects.filter(kind="call").count() == 1


def test_a_follow_up_and_a_called_customer_show_on_the_worklist(two_orgs, client):  # noqa: F811
    w = two_orgs
    x = w["x"]
    client.force_login(x.finance)
    today = w["a1"].today
    with x.ctx():
        ContactLog.objects.create(organization=x.org, customer=x.customer, kind="call", outcome="no_answer",
                                  note="Try again", follow_up=today)
    page = client.get(f"/o/{x.org.slug}/reminders/worklist/").content.decode()
    assert "Try again" in page and 'class="stack call-form"' in page


def test_a_note_needs_text_but_no_outcome(two_orgs, client):  # noqa: F811
    w = two_orgs
    x = w["x"]
    client.force_login(x.finance)
    url = f"/o/{x.org.slug}/reminders/customers/{x.customer.pk}/call/"
    client.post(url, {"kind": "note", "outcome": "reached", "note": "", "key": key()})  # refused: empty
    client.post(url, {"kind": "note", "outcome": "reached", "note": "Sent to legal next week", "key": key()})
    with x.ctx():
        note = ContactLog.objects.get()
        assert note.kind == "note" and note.outcome == "" and note.note == "Sent to legal next week"
    page = client.get(f"/o/{x.org.slug}/customers/{x.customer.pk}/").content.decode()
    assert "Note: Sent to legal next week" in page
