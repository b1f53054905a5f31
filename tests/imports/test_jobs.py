"""Import jobs: the pages' flow, the queued task with its progress, a crashed worker, and the
lock that keeps two workers off one job."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django_q.models import OrmQ

from accounts.imports.jobs import ImportRunning, ProgressWriter, create_job, is_running, run_job, run_job_task
from accounts.models import Customer, ImportJob, ImportMapping, Role
from invoicing.importers import InvoiceImporter
from invoicing.models import Invoice
from ledger_site.tenancy import tenant_context
from tests.factories import add_member, make_org
from tests.imports.helpers import CUSTOMERS, INVOICES, do_import

# The worker's side of the queue (django-q2's tables): only the worker's role may read them.
pytestmark = pytest.mark.usefixtures("as_worker_role")


def fresh(org, job):
    with tenant_context(org):
        return ImportJob.objects.get(pk=job.pk)


def _client(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_pages_take_a_file_from_upload_to_imported():
    org, owner = make_org()
    finance = add_member(org, Role.FINANCE)
    client = _client(finance)
    base = reverse("import_list", kwargs={"org_slug": org.slug})
    text = "Kunde;Name;Währung\n0042;Acme;EUR\n0043;=cmd|' /C calc'!A0;EUR\n"
    response = client.post(base, {"kind": "customers", "file": SimpleUploadedFile("c.csv", text.encode("cp1252")),
                                  "encoding": "", "delimiter": ""})
    assert response.status_code == 302
    with tenant_context(org):
        job = ImportJob.objects.get()
    detail = reverse("import_detail", kwargs={"org_slug": org.slug, "pk": job.pk})
    page = client.get(detail).content.decode()
    assert "Acme" in page and "Währung" in page  # the first rows, decoded from Windows-1252
    mapping = {"action": "check", "map_code": "Kunde", "map_name": "Name", "map_currency": "Währung",
               "save_as": "Old system"}
    client.post(detail, mapping)
    job = fresh(org, job)
    assert job.status == "checked" and job.report["error_count"] == 1 and job.report["errors"][0]["row"] == 3
    errors_csv = client.get(reverse("import_errors_csv", kwargs={"org_slug": org.slug, "pk": job.pk})).content
    assert b"'=cmd" in errors_csv  # a formula in the report is written as text
    assert client.post(detail, {"action": "commit"}).status_code == 302
    job = fresh(org, job)
    assert job.status == "checked"  # refused: the dry run was not clean
    with tenant_context(org):
        assert Customer.objects.count() == 0
        assert ImportMapping.objects.get().mapping == {"code": "Kunde", "name": "Name", "currency": "Währung"}
    # the fixed file: a new upload picks up the saved mapping without asking
    fixed = "Kunde;Name;Währung\n0042;Acme;EUR\n0043;Beta;EUR\n"
    client.post(base, {"kind": "customers", "file": SimpleUploadedFile("c2.csv", fixed.encode()), "encoding": "",
                       "delimiter": ""})
    with tenant_context(org):
        job2 = ImportJob.objects.exclude(pk=job.pk).get()
    detail2 = reverse("import_detail", kwargs={"org_slug": org.slug, "pk": job2.pk})
    assert 'value="Kunde" selected' in client.get(detail2).content.decode()
    client.post(detail2, {**mapping, "save_as": ""})
    client.post(detail2, {"action": "commit"})
    job2 = fresh(org, job2)
    assert job2.status == "done" and job2.report["new"] == 2
    with tenant_context(org):
        assert sorted(Customer.objects.values_list("code", flat=True)) == ["0042", "0043"]
    assert client.post(detail2, {"action": "commit"}).status_code == 302  # a second commit does nothing
    with tenant_context(org):
        assert Customer.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_file_is_explained_on_the_upload_page():
    org, owner = make_org()
    response = _client(owner).post(reverse("import_list", kwargs={"org_slug": org.slug}), {
        "kind": "customers", "file": SimpleUploadedFile("photo.csv", b"\x89PNG\r\n\x1a\n...."), "encoding": "",
        "delimiter": ""})
    assert response.status_code == 200 and "PNG image, not a CSV or XLSX file" in response.content.decode()
    with tenant_context(org):
        assert ImportJob.objects.count() == 0


@pytest.mark.django_db
def test_a_large_file_is_queued_for_the_worker(settings):
    settings.IMPORT_INLINE_MAX_BYTES = 10
    org, owner = make_org()
    client = _client(owner)
    with tenant_context(org):
        job = create_job(org, "customers", "c.csv", CUSTOMERS.encode(), actor=owner)
    detail = reverse("import_detail", kwargs={"org_slug": org.slug, "pk": job.pk})
    client.post(detail, {"action": "check", "map_code": "code", "map_name": "name", "save_as": ""})
    job = fresh(org, job)
    assert job.status == "checking" and OrmQ.objects.filter(key__isnull=False).count() == 1
    assert 'http-equiv="refresh"' in client.get(detail).content.decode()


@pytest.mark.django_db
def test_another_organization_cannot_open_a_job():
    org, owner = make_org()
    other, outsider = make_org()
    with tenant_context(org):
        job = create_job(org, "customers", "c.csv", CUSTOMERS.encode(), actor=owner)
    url = reverse("import_detail", kwargs={"org_slug": other.slug, "pk": job.pk})
    assert _client(outsider).get(url).status_code == 404


def _checked_invoice_job(org, owner):
    do_import(org, "customers", CUSTOMERS.encode())
    with tenant_context(org):
        job = create_job(org, "invoices", "i.csv", INVOICES.encode(), actor=owner)
        job.mapping = {"number": "number", "customer_code": "customer_code", "issue_date": "issue_date",
                       "due_date": "due_date", "description": "description", "quantity": "quantity",
                       "unit_price": "unit_price", "tax_percent": "tax"}
        job.save()
        run_job(job, commit=False)
    return job


@pytest.mark.django_db(transaction=True)
def test_the_worker_imports_with_progress_written_as_it_goes():
    org, owner = make_org()
    job = _checked_invoice_job(org, owner)
    assert run_job_task(org.pk, job.pk, True, owner.pk) == "done"
    job = fresh(org, job)
    assert job.status == "done" and job.progress_done == job.progress_total == 3
    with tenant_context(org):
        assert Invoice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_worker_that_dies_half_way_leaves_nothing_and_the_job_runs_again(monkeypatch):
    org, owner = make_org()
    job = _checked_invoice_job(org, owner)
    real_write = InvoiceImporter.write

    def dies_after_writing(self, state, records, progress):
        real_write(self, state, records, progress)
        raise MemoryError("worker killed")

    monkeypatch.setattr(InvoiceImporter, "write", dies_after_writing)
    with pytest.raises(MemoryError):
        run_job_task(org.pk, job.pk, True, owner.pk)
    job = fresh(org, job)
    assert job.status == "failed" and "nothing was imported" in job.message
    with tenant_context(org):
        assert Invoice.objects.count() == 0
    assert not is_running(job)
    monkeypatch.setattr(InvoiceImporter, "write", real_write)
    assert run_job_task(org.pk, job.pk, True, owner.pk) == "done"
    with tenant_context(org):
        assert Invoice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_one_job():
    org, owner = make_org()
    job = _checked_invoice_job(org, owner)
    first = ProgressWriter(job)  # the first worker, mid-run
    try:
        assert is_running(job)
        with pytest.raises(ImportRunning):
            run_job_task(org.pk, job.pk, True, owner.pk)
        with tenant_context(org):
            assert Invoice.objects.count() == 0
    finally:
        first.close()
    assert not is_running(job)


@pytest.mark.django_db
def test_the_demo_has_one_completed_import():
    from accounts.imports.demo import seed_demo_import

    org, owner = make_org()
    with tenant_context(org, owner):
        job = seed_demo_import(org, owner)
    assert job.status == "done" and job.report["new"] == 3
    with tenant_context(org):
        assert Customer.objects.get(code="000917").payment_terms_days == 7


@pytest.mark.django_db
def test_the_export_downloads_in_the_import_layout():
    org, owner = make_org()
    do_import(org, "customers", CUSTOMERS.encode())
    client = _client(owner)
    response = client.get(reverse("import_export", kwargs={"org_slug": org.slug, "kind": "customers", "fmt": "csv"}))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("code,name,currency") and lines[1].startswith("0042,Acme Ltd,EUR")
    xlsx = client.get(reverse("import_export", kwargs={"org_slug": org.slug, "kind": "customers", "fmt": "xlsx"}))
    assert xlsx.content.startswith(b"PK")
    assert client.get(reverse("import_export", kwargs={"org_slug": org.slug, "kind": "nope",
                                                       "fmt": "csv"})).status_code == 404
    viewer = add_member(org, Role.VIEWER)
    assert _client(viewer).get(reverse("import_export", kwargs={"org_slug": org.slug, "kind": "customers",
                                                                "fmt": "csv"})).status_code == 403
