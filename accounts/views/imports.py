"""Settings → Import: upload a file, map its columns, dry run, import, see the result.

Owners and finance staff. Every step is a POST that redirects to the job's page; a small file
is checked and imported in the request, a large one (above settings.IMPORT_INLINE_MAX_BYTES) is
queued for the worker, and the page then refreshes itself to show the progress.
"""


from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.forms_import import MappingForm, UploadForm
from accounts.imports import OPTIONS, REGISTRY, get_importer, kinds
from accounts.imports.engine import MappingError, suggest_mapping
from accounts.imports.exports import export_csv, export_xlsx
from accounts.imports.jobs import create_job, inline_max_bytes, is_running, queue_job, run_job, table_of
from accounts.imports.parsing import DATE_FORMATS, ImportFileError, max_bytes
from accounts.models import ImportJob, ImportMapping, ImportStatus, Role
from accounts.permissions import org_view
from ledger_site.exports import csv_bytes, download

PREVIEW_ROWS = 5


@org_view(Role.FINANCE)
def import_list(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > max_bytes():
            form.add_error("file", _("The file is %(size).1f MB; the limit is %(limit).0f MB. Split it into smaller "
                                     "files.") % {"size": upload.size / 1048576, "limit": max_bytes() / 1048576})
        else:
            try:
                with transaction.atomic():
                    job = create_job(request.org, form.cleaned_data["kind"], upload.name, upload.read(),
                                     actor=request.user, encoding=form.cleaned_data["encoding"],
                                     delimiter=form.cleaned_data["delimiter"])
            except ImportFileError as e:
                form.add_error("file", str(e))
            else:
                return redirect("import_detail", org_slug=request.org.slug, pk=job.pk)
    jobs = ImportJob.objects.filter(organization=request.org).defer("content")[:20]
    return render(request, "accounts/import_list.html", {"form": form, "jobs": jobs, "active": "import_list",
                                                         "limit_mb": max_bytes() // 1048576, "kinds": kinds()})


def _job(request, pk) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("organization"), organization=request.org, pk=pk)


@org_view(Role.FINANCE)
def import_detail(request, pk):
    job = _job(request, pk)
    importer = get_importer(job.kind)
    try:
        table = table_of(job)
    except ImportFileError as e:
        messages.error(request, str(e))
        return redirect("import_list", org_slug=request.org.slug)
    saved = ImportMapping.objects.filter(organization=request.org, kind=job.kind).order_by("-updated_at").first()
    mapping = job.mapping or suggest_mapping(importer, table.headers, saved.mapping if saved else None)
    options = job.options or (saved.options if saved else {})
    form = MappingForm(request.POST or None, importer=importer, headers=table.headers, initial_mapping=mapping,
                       initial_options=options)
    if request.method == "POST":
        return _act(request, job, form)
    preview = []
    for n, (_number, cells) in enumerate(table.rows()):
        if n >= PREVIEW_ROWS:
            break
        preview.append(cells)
    report = job.report or {}
    return render(request, "accounts/import_detail.html", {
        "job": job, "importer": importer, "form": form, "headers": table.headers, "preview": preview,
        "report": report, "active": "import_list", "table": table, "running": job.is_active,
        "can_commit": job.status == ImportStatus.CHECKED and report and not report.get("error_count"),
        "date_labels": DATE_FORMATS,
    })


def _act(request, job, form):
    action = request.POST.get("action")
    back = redirect("import_detail", org_slug=request.org.slug, pk=job.pk)
    if job.status == ImportStatus.DONE:
        messages.error(request, _("This file has been imported already."))
        return back
    if job.is_active and is_running(job):
        messages.error(request, _("This import is running; wait for it to finish."))
        return back
    if action == "check":
        if not form.is_valid():
            messages.error(request, _("Choose a column for every required field."))
            return render(request, "accounts/import_detail.html", {
                "job": job, "importer": get_importer(job.kind), "form": form, "report": {}, "active": "import_list",
                "headers": [], "preview": []})
        job.mapping, job.options = form.mapping(), form.options()
        job.report, job.status = None, ImportStatus.UPLOADED
        job.save(update_fields=["mapping", "options", "report", "status"])
        if form.cleaned_data["save_as"]:
            ImportMapping.objects.update_or_create(
                organization=request.org, kind=job.kind, name=form.cleaned_data["save_as"],
                defaults={"mapping": job.mapping,  # the columns and formats; not this file's books start
                          "options": {k: v for k, v in job.options.items()
                                      if k != "books_start" and k not in {o.name for o in OPTIONS}}})
    elif action != "commit":
        messages.error(request, _("Unknown action."))
        return back
    commit = action == "commit"
    if len(job.content) > inline_max_bytes():
        queue_job(job, commit=commit, actor=request.user)
        return back
    try:
        with transaction.atomic():
            run_job(job, commit=commit, actor=request.user)
    except (MappingError, ImportFileError) as e:
        messages.error(request, str(e))
        return back
    if commit and job.status == ImportStatus.DONE:
        messages.success(request, _("Imported %(n)s new records.") % {"n": job.report["new"]})
    elif commit:
        messages.error(request, _("Nothing was imported: %(why)s") % {"why": job.message})
    return back


@require_GET
@org_view(Role.FINANCE)
def import_errors_csv(request, pk):
    job = _job(request, pk)
    rows = [["row", "column", "value", "message"]]
    rows += [[e["row"] or "", e["column"], e["value"], e["message"]] for e in (job.report or {}).get("errors", [])]
    return download(csv_bytes(rows, bom=False), "text/csv; charset=utf-8", f"import-{job.pk}-errors.csv")


@require_GET
@org_view(Role.FINANCE)
def import_export(request, kind, fmt):
    """The organization's customers, invoices, credit notes or payments in the import's layout."""

    if kind not in REGISTRY or fmt not in ("csv", "xlsx") or REGISTRY[kind].export_rows(request.org) is None:
        raise Http404
    if fmt == "csv":
        response = HttpResponse(export_csv(request.org, kind), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(export_xlsx(request.org, kind), content_type=(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
    response["Content-Disposition"] = f'attachment; filename="{request.org.slug}-{kind}.{fmt}"'
    return response
