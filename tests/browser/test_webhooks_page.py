"""In a real browser: an owner adds a webhook endpoint (secret shown once), an event is delivered to
a real local receiver, the endpoint's page shows the attempt, and "Resend" queues it again.
Screenshots at 1366 and 390 pixels go to $SCREENSHOT_DIR."""

import pytest

from ledger_site.tenancy import tenant_context
from reminders import webhooks
from reminders.models import WebhookDelivery
from tests.browser.conftest import sign_in
from tests.factories import CustomerFactory, make_org
from tests.reminders.webhook_helpers import Receiver, verify_signature

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_webhooks_pages_in_a_browser(transactional_db, page, capture, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver is on this machine
    org, owner = make_org(name="Hook Shop", slug="hook-shop")
    with Receiver() as receiver:
        sign_in(page, owner.email)
        page.goto(f"/o/{org.slug}/reminders/webhooks/")
        page.fill("input[name=url]", "ftp://example.com/x")
        page.click("button:has-text('Add endpoint')")
        assert page.locator("text=Use an http:// or https:// URL.").count() == 1
        page.fill("input[name=url]", receiver.url)
        page.fill("input[name=description]", "Web shop")
        page.click("button:has-text('Add endpoint')")
        secret = page.locator("[data-testid=webhook-secret]").inner_text().strip()
        assert secret.startswith("whsec_")
        capture(page, "webhooks-created-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        capture(page, "webhooks-created-390")
        page.set_viewport_size({"width": 1366, "height": 900})
        with tenant_context(org):
            CustomerFactory(organization=org, name="Acme GmbH")
            webhooks.deliver(org.pk)
        request = receiver.received()[0]
        assert verify_signature(secret, request["headers"]["Ledgerline-Signature"], request["body"])
        page.goto(f"/o/{org.slug}/reminders/webhooks/")
        assert page.locator("[data-testid=webhook-secret]").count() == 0
        page.click(f"a:has-text('{receiver.url}')")
        assert page.locator("text=HTTP 200").count() == 1
        capture(page, "webhook-detail-1366")
        page.set_viewport_size({"width": 390, "height": 844})
        capture(page, "webhook-detail-390")
        page.set_viewport_size({"width": 1366, "height": 900})
        page.click("button:has-text('Resend')")
        assert page.locator("text=Queued again").count() == 1
        with tenant_context(org):
            assert WebhookDelivery.objects.filter(resend_of__isnull=False).count() == 1
