"""The per-customer payments advisory lock (payments.services.lock_customer_payments) is taken:
a second payment for the same customer waits for the first. Fails when the lock is removed
(issue 22: removing it failed no test)."""

import threading
import time

import pytest
from django.db import connection

from ledger_site.tenancy import tenant_context
from payments import services
from payments.models import Payment
from tests.payments.helpers import check_invariants, pay
from tests.payments.test_views import Shop


def advisory_waiters(owner_sql, customer_id) -> int:
    return owner_sql.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s AND objid = %s",
        [services._LOCK_NAMESPACE, customer_id & 0x7FFFFFFF]).fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_second_payment_for_the_customer_waits_on_the_customer_lock(owner_sql, monkeypatch):
    shop = Shop()
    shop.invoice("100.00", days_ago=10)
    shop.invoice("100.00")
    inside, release = threading.Event(), threading.Event()
    real = services._lock_for_auto

    def paused(customer, needed):
        if threading.current_thread().name == "first":
            inside.set()
            release.wait(30)
        return real(customer, needed)

    monkeypatch.setattr(services, "_lock_for_auto", paused)
    errors = []

    def run():
        try:
            with tenant_context(shop.org, shop.owner):
                pay(shop.org, shop.customer, "100.00")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            connection.close()

    first = threading.Thread(target=run, name="first")
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=run, name="second")
    second.start()
    try:
        deadline = time.monotonic() + 10
        while advisory_waiters(owner_sql, shop.customer.pk) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        waiting = advisory_waiters(owner_sql, shop.customer.pk)
        done_early = not second.is_alive()
    finally:
        release.set()
        first.join(60)
        second.join(60)
    assert errors == []
    assert waiting == 1 and not done_early, "the second payment did not wait for the customer's lock"
    with shop.ctx():
        assert Payment.objects.filter(customer=shop.customer).count() == 2
        check_invariants(shop.org)
