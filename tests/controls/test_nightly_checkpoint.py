"""The nightly checkpoint (accounts.tasks.checkpoint_all, a django-q2 schedule): signed at the
point a clean check vouched for, e-mailed to the owners (real SMTP) and written to the webhook
outbox of endpoints subscribed to ledger.checkpoint; the mailed file later catches a rewritten
history with `verify_ledger --against`."""

import json

import pytest
from django.core.management import CommandError

from accounts.models import LedgerHead, Role
from accounts.tasks import checkpoint_all
from ledger_site.tenancy import tenant_context
from reminders.models_webhooks import WebhookDelivery, WebhookEndpoint
from tests.factories import CustomerFactory, add_member, make_org
from tests.ledger.test_checkpoints import against, rewrite_whole_chain
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import sale

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def books():
    org, owner = make_org(name="Nightly Ltd")
    second = add_member(org, Role.OWNER)
    with tenant_context(org, owner):
        acme = CustomerFactory(organization=org)
        for amount in ("10.00", "20.00", "30.00", "40.00"):
            sale(org, acme, amount)
        WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/ledger",
                                       events=["ledger.checkpoint"], secret="whsec_test")
        WebhookEndpoint.objects.create(organization=org, url="https://hooks.example.com/other",
                                       events=["invoice.issued"], secret="whsec_other")
    return org, owner, second, acme


def attachment(message) -> tuple[str, dict]:
    part = next(message.iter_attachments())
    return part.get_filename(), json.loads(part.get_payload(decode=True))


def test_a_nightly_checkpoint_is_mailed_and_sent_to_webhooks_and_catches_a_rewrite(books, smtp_server, tmp_path,
                                                                                   owner_sql):
    org, owner, second, acme = books
    empty, _ = make_org(name="Empty Ltd")  # nothing posted: nothing to vouch for
    assert checkpoint_all() == {"checkpoints": 1, "skipped": 1}
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert sorted(a.addr_spec for a in message["To"].addresses) == sorted([owner.email, second.email])
    assert "entry #4" in message["Subject"] and f"--org {org.slug} --against" in message.get_body().get_content()
    filename, checkpoint = attachment(message)
    assert filename == f"checkpoint-{org.slug}-4.json"
    assert (checkpoint["organization"], checkpoint["seq"]) == (org.slug, 4) and checkpoint["signature"]
    with tenant_context(org):
        head = LedgerHead.objects.get(organization=org)
        assert checkpoint["hash"] == head.verified_hash
        deliveries = list(WebhookDelivery.objects.filter(organization=org).select_related("endpoint"))
    # Only the endpoint subscribed to ledger.checkpoint, with the same signed document.
    assert [d.endpoint.url for d in deliveries] == ["https://hooks.example.com/ledger"]
    assert deliveries[0].event_type == "ledger.checkpoint"
    assert json.loads(deliveries[0].body)["data"] == checkpoint

    # The mailed file proves the history unchanged...
    with tenant_context(org):
        sale(org, acme, "50.00")
    against(tmp_path, checkpoint)
    # ...and catches a history rewritten and re-chained, which the chain check alone accepts.
    rewrite_whole_chain(owner_sql, org, 2, "rewritten history")
    with pytest.raises(CommandError, match=rf"Ledger of {org.slug} is broken; first bad: entry #4"):
        against(tmp_path, checkpoint)


def test_a_broken_ledger_gets_no_checkpoint(books, smtp_server, owner_sql):
    org, *_ = books
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET amount = amount + 1 WHERE organization_id = %s "
                          "AND id = (SELECT min(id) FROM accounts_journalline WHERE organization_id = %s)",
                          [org.pk, org.pk])
    assert checkpoint_all()["checkpoints"] == 0
    # The one message is the break's (mailed once by the check), not a checkpoint.
    assert len(smtp_server.messages) == 1 and "break" in smtp_server.messages[0]["Subject"]
    assert not list(smtp_server.messages[0].iter_attachments())
    with tenant_context(org):
        assert not WebhookDelivery.objects.filter(organization=org).exists()
