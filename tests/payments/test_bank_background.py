"""A large statement is committed by a django-q2 job in batches, with progress; claimed once;
a job that stops puts the import back to preview with the reason, and importing again adds only
what is missing."""

from decimal import Decimal

import pytest
from django_q.conf import Conf
from django_q.models import OrmQ

from ledger_site.tenancy import tenant_context
from payments import bank
from payments.bank import BankError, run_import_job, stage_import, start_import
from payments.models_bank import BankLine, StatementImport
from tests.factories import make_org
from tests.payments.bank_helpers import bank_account, camt, import_lines

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_worker_role")]


@pytest.fixture
def small_batch_bank(monkeypatch):
    monkeypatch.setattr(bank, "BACKGROUND_LINES", 3)
    monkeypatch.setattr(bank, "BATCH", 2)
    org, owner = make_org()
    with tenant_context(org, owner):
        yield org, owner, bank_account(org)


def entries(n, start=0):
    return [(f"{k + 1}.00", "P", f"t{k}", f"B-{k}") for k in range(start, start + n)]


def test_a_large_file_is_imported_by_the_job_in_batches(small_batch_bank, monkeypatch):
    org, owner, account = small_batch_bank
    monkeypatch.setattr(Conf, "SYNC", True)  # async_task runs the job at once, in this thread
    import_lines(account, entries(2))  # two of the five are known already
    imp = stage_import(account, filename="big.xml", data=camt(entries(5)), actor=owner)
    started = start_import(imp, actor=owner)  # Conf.SYNC: the job ran inside the call
    assert started.status == "committed"
    imp.refresh_from_db()
    assert (imp.status, imp.progress, imp.lines_added, imp.lines_duplicate) == ("committed", 5, 3, 2)
    assert BankLine.objects.filter(bank_account=account).count() == 5


def test_the_job_is_claimed_once(small_batch_bank):
    org, owner, account = small_batch_bank
    imp = stage_import(account, filename="big.xml", data=camt(entries(5)), actor=owner)
    start_import(imp, actor=owner)  # claimed and queued (the ORM broker's row); no worker runs here
    assert OrmQ.objects.count() == 1
    with pytest.raises(BankError, match="already being imported"):
        start_import(imp, actor=owner)
    assert run_import_job(org.pk, imp.pk, owner.pk) == 5
    assert run_import_job(org.pk, imp.pk, owner.pk) == 0  # a second run of the same job adds nothing
    assert BankLine.objects.count() == 5


def test_a_job_that_stops_goes_back_to_preview_and_a_retry_adds_the_rest(small_batch_bank, monkeypatch):
    org, owner, account = small_batch_bank
    imp = stage_import(account, filename="big.xml", data=camt(entries(5)), actor=owner)
    start_import(imp, actor=owner)
    real = BankLine.objects.bulk_create
    calls = []

    def flaky(objs, **kw):
        calls.append(len(objs))
        if len(calls) == 2:
            raise ConnectionError("lost the database")
        return real(objs, **kw)

    monkeypatch.setattr(BankLine.objects, "bulk_create", flaky)
    with pytest.raises(ConnectionError):
        run_import_job(org.pk, imp.pk, owner.pk)
    imp.refresh_from_db()
    assert (imp.status, imp.job_error) == ("preview", "ConnectionError: lost the database")
    assert BankLine.objects.count() == 2  # the first batch stayed
    monkeypatch.setattr(BankLine.objects, "bulk_create", real)
    start_import(imp, actor=owner)
    assert run_import_job(org.pk, imp.pk, owner.pk) == 3
    assert sorted(BankLine.objects.values_list("amount", flat=True)) == [Decimal(n) for n in range(1, 6)]
    assert StatementImport.objects.get(pk=imp.pk).status == "committed"
