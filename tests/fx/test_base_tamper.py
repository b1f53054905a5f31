"""Base amounts are sealed (hash version 3) and checked: a superuser who edits a committed line's base
amount around the append-only triggers is named by verify_ledger, for the hash and for the balance."""

from datetime import timedelta
from decimal import Decimal

import pytest

from accounts.chart import system_accounts
from accounts.ledger import Line, post
from accounts.ledger_verify import verify_organization
from accounts.models import JournalEntry
from accounts.models_org import today_in
from ledger_site.tenancy import tenant_context
from tests.factories import CustomerFactory, make_org
from tests.ledger.test_tamper import triggers_off
from tests.ledger_helpers import flat_rates

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_altered_base_amount_breaks_the_hash_and_the_base_balance(owner_sql):
    org, owner = make_org(base_currency="EUR")
    with tenant_context(org, owner):
        customer = CustomerFactory(organization=org, currency="USD")
        today = today_in(org)
        flat_rates(org, {"USD": "0.92"}, start=today - timedelta(days=3), end=today)
        acc = system_accounts(org)
        entry = post(org, [Line(acc["ar"], Decimal("100.00"), customer),
                           Line(acc["revenue"], Decimal("-100.00"), currency="USD")],
                     effective_date=today, idempotency_key="usd-sale", actor=owner)
        assert JournalEntry.objects.get(pk=entry.pk).hash_version == 3
        assert verify_organization(org).ok
    with triggers_off(owner_sql, "accounts_journalline"):
        owner_sql.execute("UPDATE accounts_journalline SET base_amount = 95 WHERE entry_id = %s AND line_no = 1",
                          [entry.pk])
    with tenant_context(org, owner):
        result = verify_organization(org)
    assert not result.ok and result.first_bad_seq == entry.seq
    assert f"entry #{entry.seq}: hash does not match its contents (altered after posting)" in result.problems
    assert f"entry #{entry.seq}: does not balance in the base currency" in result.problems
