"""The issue-18 demo hook: items, a recurring schedule that billed this month, three quotes."""

import pytest

from accounts.ledger_verify import verify_organization
from accounts.management.commands.seed_demo import DEMO_HOOKS
from invoicing.demo_billing import seed_demo_billing
from invoicing.models_items import Item
from invoicing.models_quotes import Quote
from invoicing.models_recurring import RecurringRun
from ledger_site.tenancy import tenant_context
from tests.invoicing.test_demo import demo_org

pytestmark = pytest.mark.django_db


def test_the_demo_shows_items_a_schedule_and_quotes():
    assert seed_demo_billing in DEMO_HOOKS
    org, owner = demo_org()
    with tenant_context(org, owner):
        assert seed_demo_billing(org, owner) == {"items": 6, "schedules": 1, "quotes": 3}
        assert Item.objects.count() == 6
        run = RecurringRun.objects.get()
        assert run.status == "issued" and "Monthly bookkeeping, " in run.invoice.lines.first().description
        assert sorted(Quote.objects.values_list("status", flat=True)) == ["accepted", "draft", "sent"]
        assert Quote.objects.get(status="accepted").invoice is not None
        result = verify_organization(org)
        assert result.ok, result.problems
