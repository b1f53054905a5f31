"""Run test work in several threads at the same moment: the races that locks and constraints guard."""

import contextlib
import threading

from django.db import connection

from ledger_site.tenancy import tenant_context


def run_at_once(n, work, *, org=None, actor=None, timeout=300):
    """Run work(i) for i in range(n), each in its own thread, all released together from one
    barrier; return the results in order of i.

    Django's connections are per thread, so each thread has its own. With `org`, a thread enters
    tenant_context(org, actor) before the barrier: its connection is open and set up before the
    race starts. Each thread closes its connection at the end, or it would outlive the test and
    block dropping the test database. The first exception a thread raised is re-raised here; a
    thread still running after `timeout` seconds fails the test.
    """
    barrier = threading.Barrier(n, timeout=60)
    results, errors = [None] * n, []

    def run(i):
        try:
            with tenant_context(org, actor) if org is not None else contextlib.nullcontext():
                barrier.wait()
                results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(e)
            barrier.abort()  # the others stop waiting for a thread that will not come
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


@contextlib.contextmanager
def lock_timeout(seconds: int = 2):
    """This connection waits at most `seconds` for a lock: a test that must not queue behind another
    connection's lock fails with "lock timeout" instead of hanging."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{int(seconds)}s'")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def call_order(monkeypatch, spied) -> list[str]:
    """Record the order of calls: `spied` is (object, attribute name, label) triples; each call appends
    its label to the list returned, then runs the original."""
    calls = []
    for owner_object, name, label in spied:
        original = getattr(owner_object, name)

        def wrapper(*args, _original=original, _label=label, **kwargs):
            calls.append(_label)
            return _original(*args, **kwargs)

        monkeypatch.setattr(owner_object, name, wrapper)
    return calls
