"""Import jobs: a file with its mapping, checked (dry run) and then imported, with progress.

A small file (at most settings.IMPORT_INLINE_MAX_BYTES) is checked and imported in the request;
a larger one is a django-q2 task (`accounts.imports.jobs.run_job_task`), and its page shows the
progress that the task writes.

Progress from inside a transaction: the import runs in one transaction (all or nothing), so a
progress figure written there would stay invisible until the end. The task therefore writes
progress on a second, autocommit connection of its own (`ProgressWriter`), which also holds a
session advisory lock on the job while it runs: a worker that dies (killed, out of memory) loses
its connection and with it the lock, and the job can then be started again (`is_running`); the
rolled-back transaction left nothing behind, and the idempotency keys would skip anything that
had been committed.
"""

import hashlib
import logging
import time

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from accounts.imports import get_importer
from accounts.imports.engine import MappingError, run
from accounts.imports.parsing import ImportFileError, open_table
from accounts.models import ImportJob, ImportStatus
from ledger_site.tenancy import tenant_context

logger = logging.getLogger(__name__)
LOCK_CLASS = 7014  # pg_advisory_lock(LOCK_CLASS, job id): the job is being run


class ImportRunning(Exception):
    """Another worker is running this job right now."""


def inline_max_bytes() -> int:
    return getattr(settings, "IMPORT_INLINE_MAX_BYTES", 512 * 1024)


def create_job(org, kind: str, filename: str, content: bytes, actor=None, encoding: str = "",
               delimiter: str = "") -> ImportJob:
    """Store the upload after checking the file can be read at all (ImportFileError otherwise)."""
    get_importer(kind)
    open_table(content, filename, encoding or None, delimiter or None)
    return ImportJob.objects.create(
        organization=org, kind=kind, filename=filename[:255], content=content,
        sha256=hashlib.sha256(content).hexdigest(), encoding=encoding, delimiter=delimiter,
        created_by=actor)


def table_of(job: ImportJob):
    return open_table(bytes(job.content), job.filename, job.encoding or None, job.delimiter or None)


def conninfo() -> dict:
    s = connection.settings_dict
    return {"dbname": s["NAME"], "user": s["USER"], "password": s["PASSWORD"] or None,
            "host": s["HOST"] or None, "port": s["PORT"] or None}


class ProgressWriter:
    """Writes a job's progress on a connection of its own (autocommit), at most every `every` seconds,
    and holds the job's advisory lock for as long as it is open."""

    def __init__(self, job: ImportJob, every: float = 0.5):
        self.job, self.every, self.last = job, every, 0.0
        self.conn = psycopg.connect(**{k: v for k, v in conninfo().items() if v is not None}, autocommit=True)
        self.conn.execute("SELECT set_config('app.organization_id', %s, false)", [str(job.organization_id)])
        (got,) = self.conn.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job.pk]).fetchone()
        if not got:
            self.conn.close()
            raise ImportRunning("This import is running already.")

    def status(self, status: str) -> None:
        self.conn.execute("UPDATE accounts_importjob SET status = %s, progress_done = 0, progress_total = 0,"
                          " message = '' WHERE id = %s", [status, self.job.pk])

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.last < self.every and done != total:
            return
        self.last = now
        self.conn.execute("UPDATE accounts_importjob SET progress_phase = %s, progress_done = %s,"
                          " progress_total = %s WHERE id = %s", [phase, done, total, self.job.pk])

    def close(self):
        try:
            self.conn.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, self.job.pk])
        finally:
            self.conn.close()


def is_running(job: ImportJob) -> bool:
    """Whether a worker holds the job's lock (a dead worker's lock is gone with its connection)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, job.pk])
        (got,) = cursor.fetchone()
        if got:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, job.pk])
    return not got


def run_job(job: ImportJob, *, commit: bool, actor=None, progress=None) -> ImportJob:
    """Dry-run or import the job's file, in the caller's tenant context; store the report.
    A commit is refused unless the last dry run was clean and the job is not done."""
    importer = get_importer(job.kind)
    if commit and job.status == ImportStatus.DONE:
        raise MappingError("This file has been imported already.")
    if commit and (job.report is None or job.report.get("error_count")):
        raise MappingError("Run a clean dry run before importing.")
    try:
        table = table_of(job)
        report = run(job.organization, importer, table, job.mapping, job.options, actor=actor, commit=commit,
                     progress=progress)
    except (ImportFileError, MappingError) as e:
        job.status, job.message = ImportStatus.FAILED if commit else ImportStatus.UPLOADED, str(e)[:1000]
        job.save(update_fields=["status", "message"])
        raise
    job.report = report.as_dict()
    if commit:
        job.status = ImportStatus.DONE if report.committed else ImportStatus.FAILED
        job.message = "" if report.committed else "The file no longer passes its checks; see the errors."
        job.finished_at = timezone.now()
    else:
        job.status, job.message, job.checked_at = ImportStatus.CHECKED, "", timezone.now()
    job.progress_done = job.progress_total = report.rows
    job.save(update_fields=["report", "status", "message", "finished_at", "checked_at", "progress_done",
                            "progress_total"])
    return job


def queue_job(job: ImportJob, *, commit: bool, actor=None) -> None:
    from ledger_site.queue import enqueue

    job.status, job.message = (ImportStatus.QUEUED if commit else ImportStatus.CHECKING), ""
    job.progress_done = job.progress_total = 0
    job.save(update_fields=["status", "message", "progress_done", "progress_total"])
    enqueue("accounts.imports.jobs.run_job_task", job.organization_id, job.pk, commit,
            getattr(actor, "pk", None), task_name=f"import-{job.pk}-{'commit' if commit else 'check'}",
            group="imports")


def run_job_task(org_id: int, job_id: int, commit: bool, actor_id: int | None = None) -> str:
    """The django-q2 task: run the job with progress written as it goes."""
    from accounts.models import User

    with tenant_context(org_id, actor_id):
        job = ImportJob.objects.select_related("organization").get(pk=job_id)
        actor = User.objects.filter(pk=actor_id).first() if actor_id else None
        writer = ProgressWriter(job)
        try:
            writer.status(ImportStatus.RUNNING if commit else ImportStatus.CHECKING)
            try:
                with transaction.atomic():
                    run_job(job, commit=commit, actor=actor, progress=writer)
            except (ImportFileError, MappingError) as e:
                return f"refused: {e}"
            except Exception as e:
                logger.exception("import %s failed", job_id)
                ImportJob.objects.filter(pk=job_id).update(
                    status=ImportStatus.FAILED, message=f"The import stopped and nothing was imported: {e}"[:1000])
                raise
        finally:
            writer.close()
        return job.status
