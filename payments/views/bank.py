"""Bank pages: bank accounts, statement import (upload → preview → commit), each line with its
explained suggestions (confirm, post to an account, undo) and the reconciliation of the account.

Reading is for every member; every change is a POST by finance staff or owners. Each action is
safe to submit twice: the import's status, the bank line's row lock and state refuse the second.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.ledger import LedgerError
from accounts.locale import active_locale
from accounts.models import Account, Role
from accounts.permissions import can, org_view
from payments.bank import (
    MAX_BYTES,
    BankError,
    confirm_match,
    confirm_split,
    create_bank_account,
    discard_import,
    ledger_accounts,
    post_line,
    reconcile_lines,
    reconciliation,
    split_plan,
    stage_import,
    start_import,
    summarize,
    unmatch_line,
)
from payments.matching import MatchContext
from payments.models_bank import BankAccount, BankLine, BankLineStatus, StatementImport
from payments.statements import DATE_FORMATS, ENCODINGS, CsvMapping, StatementError, csv_header, detect_format

PAGE_SIZE = 50
MAPPING_FIELDS = [f for f in CsvMapping.__dataclass_fields__]


def _account(request, pk) -> BankAccount:
    return get_object_or_404(BankAccount.objects.select_related("account"), organization=request.org, pk=pk)


def _line(request, pk) -> BankLine:
    return get_object_or_404(BankLine.objects.select_related("bank_account", "bank_account__account", "payment",
                                                             "customer", "matched_by", "reconciled_by",
                                                             "posted_account"),
                             organization=request.org, pk=pk)


def _error(e) -> str:
    return " ".join(e.messages) if isinstance(e, LedgerError) else str(e)


@org_view(Role.VIEWER)
def bank_account_list(request):
    return _account_list(request)


@org_view(Role.FINANCE)
@require_POST
def bank_account_create(request):
    data = request.POST
    raw = str(data.get("account", ""))
    account = ledger_accounts(request.org).filter(pk=raw).first() if raw.isdigit() else None
    try:
        if account is None:
            raise BankError(_("Choose the ledger account the bank account is booked on."))
        created = create_bank_account(request.org, name=data.get("name", ""), currency=data.get("currency", ""),
                                      account=account, iban=data.get("iban", ""))
    except BankError as e:
        return _account_list(request, _error(e), data)
    messages.success(request, _("Bank account %(name)s added.") % {"name": created.name})
    return redirect("bank_account_detail", org_slug=request.org.slug, pk=created.pk)


def _account_list(request, error="", data=None):
    data = data or {}
    accounts = list(BankAccount.objects.filter(organization=request.org).select_related("account"))
    for a in accounts:
        a.unmatched = BankLine.objects.filter(bank_account=a, status=BankLineStatus.UNMATCHED).count()
    return render(request, "payments/bank/account_list.html", {
        "accounts": accounts, "ledger_accounts": ledger_accounts(request.org), "error": error, "data": data,
        "can_act": can(request, Role.FINANCE), "default_currency": request.org.base_currency,
    }, status=400 if error else 200)


@org_view(Role.VIEWER)
def bank_account_detail(request, pk):
    account = _account(request, pk)
    status = request.GET.get("status", "")
    lines = BankLine.objects.filter(organization=request.org, bank_account=account).select_related(
        "customer", "payment").order_by("-booking_date", "-pk")
    if status in BankLineStatus.values:
        lines = lines.filter(status=status)
    page = Paginator(lines, PAGE_SIZE).get_page(request.GET.get("page"))
    unmatched = [li for li in page if li.status == BankLineStatus.UNMATCHED and li.amount > 0]
    if unmatched:
        context = MatchContext.for_lines(account, unmatched)
        for li in unmatched:
            found = context.suggest(li)
            li.best = found[0] if found else None
    return render(request, "payments/bank/account_detail.html", {
        "account": account, "page": page, "status": status, "statuses": BankLineStatus.choices,
        "imports": StatementImport.objects.filter(bank_account=account).exclude(
            status=StatementImport.Status.DISCARDED)[:10],
        "can_act": can(request, Role.FINANCE), "query": f"status={status}" if status else "",
    })


@org_view(Role.FINANCE)
@require_http_methods(["GET", "POST"])
def statement_upload(request, pk):
    account = _account(request, pk)
    mapping = dict(account.csv_mapping or {})
    error, columns = "", []
    if request.method == "POST":
        upload = request.FILES.get("file")
        fmt = request.POST.get("format", "")
        mapping = {f: request.POST.get(f, "") for f in MAPPING_FIELDS}
        mapping["decimal_comma"] = request.POST.get("decimal_comma") == "on"
        mapping = {k: v for k, v in mapping.items() if v not in ("", None)}
        try:
            if upload is None:
                raise StatementError(_("Choose a statement file to upload."))
            if upload.size > MAX_BYTES:
                raise StatementError(_("The file is %(size).1f MB; at most %(max).0f MB is accepted. Export a "
                                       "shorter period.") % {"size": upload.size / 2**20, "max": MAX_BYTES / 2**20})
            data = upload.read()
            if fmt not in ("", "csv", "camt053", "ofx"):
                raise StatementError(_("Unknown format."))
            try:
                imp = stage_import(account, filename=upload.name, data=data, fmt=fmt, mapping=mapping,
                                   actor=request.user)
            except StatementError:
                if (fmt or detect_format(data, upload.name)) == "csv":
                    try:
                        columns = csv_header(data, CsvMapping.from_dict(mapping))[0]
                    except StatementError:
                        columns = []
                raise
            return redirect("statement_preview", org_slug=request.org.slug, pk=imp.pk)
        except StatementError as e:
            error = str(e)
    return render(request, "payments/bank/upload.html", {
        "account": account, "mapping": mapping, "error": error, "columns": columns,
        "date_formats": DATE_FORMATS.items(), "encodings": ENCODINGS.items(), "max_mb": round(MAX_BYTES / 2**20),
    }, status=400 if error else 200)


def _import(request, pk) -> StatementImport:
    return get_object_or_404(StatementImport.objects.select_related("bank_account"), organization=request.org, pk=pk)


@org_view(Role.FINANCE)
@require_POST
def statement_commit(request, pk):
    imp = _import(request, pk)
    if request.POST.get("action") == "discard":
        discard_import(imp)
        messages.info(request, _("The file was discarded; nothing was imported."))
        return redirect("bank_account_detail", org_slug=request.org.slug, pk=imp.bank_account_id)
    try:
        imp = start_import(imp, actor=request.user)
    except BankError as e:
        messages.error(request, _error(e))
        return redirect("statement_preview", org_slug=request.org.slug, pk=imp.pk)
    if imp.status == StatementImport.Status.IMPORTING:
        messages.info(request, _("A large file: it is imported in the background. This page shows the progress."))
        return redirect("statement_preview", org_slug=request.org.slug, pk=imp.pk)
    messages.success(request, _("Imported %(n)s new line(s); %(d)s already known were skipped.")
                     % {"n": imp.lines_added, "d": imp.lines_duplicate})
    return redirect("bank_account_detail", org_slug=request.org.slug, pk=imp.bank_account_id)


@org_view(Role.VIEWER)
def statement_preview(request, pk):
    imp = _import(request, pk)
    summary, error = None, ""
    if imp.status == StatementImport.Status.PREVIEW:
        try:
            summary = summarize(imp)
        except StatementError as e:
            error = str(e)
    new_keys = {li.dedupe_key for li in summary.new} if summary else set()
    return render(request, "payments/bank/preview.html", {
        "imp": imp, "summary": summary, "error": error, "new_keys": new_keys,
        "percent": int(100 * imp.progress / imp.lines_total) if imp.lines_total else 0,
        "can_act": can(request, Role.FINANCE),
    })


@org_view(Role.VIEWER)
def bank_line_detail(request, pk):
    return _line_page(request, _line(request, pk))


def _line_page(request, line, plan=None, advice="", status=200):
    suggestions = []
    if line.status == BankLineStatus.UNMATCHED:
        suggestions = MatchContext.for_lines(line.bank_account, [line]).suggest(line)
    return render(request, "payments/bank/line_detail.html", {
        "line": line, "suggestions": suggestions, "events": line.events.select_related("created_by"),
        "post_accounts": Account.objects.filter(organization=request.org).exclude(
            pk=line.bank_account.account_id).exclude(system_key="ar").order_by("code"),
        "can_act": can(request, Role.FINANCE), "plan": plan, "advice": advice,
        "expected": ",".join(f"{k}:{v}" for k, v in sorted(plan.allocation.items())) if plan else "",
    }, status=status)


def _expected(raw: str) -> dict[int, Decimal] | None:
    try:
        pairs = [p.split(":") for p in raw.split(",") if p]
        return {int(k): Decimal(v) for k, v in pairs}
    except (ValueError, ArithmeticError):
        return None


@org_view(Role.FINANCE)
@require_POST
def bank_line_split(request, pk):
    """A pasted remittance advice: "preview" shows the plan; "confirm" records it (payments.remittance)."""
    line = _line(request, pk)
    advice = request.POST.get("advice", "")[:20000]
    if request.POST.get("action") == "confirm":
        expected = _expected(request.POST.get("expected", ""))
        try:
            if expected is None:
                raise BankError(_("The plan was not understood; look at it again."))
            line = confirm_split(line, advice, active_locale(), expected=expected, actor=request.user,
                                 settle=request.POST.get("settle", ""), settle_reason=request.POST.get("reason", ""))
        except LedgerError as e:
            messages.error(request, _error(e))
        else:
            messages.success(request, _("Matched: payment #%(p)s recorded for %(c)s, split over %(n)s invoices.") % {
                "p": line.payment_id, "c": line.customer.name, "n": len(expected)})
        return redirect("bank_line_detail", org_slug=request.org.slug, pk=line.pk)
    plan = split_plan(line, advice, active_locale())
    return _line_page(request, line, plan=plan, advice=advice, status=200 if plan.ok else 400)


def _line_action(request, pk, action):
    line = _line(request, pk)
    try:
        action(line)
    except LedgerError as e:
        messages.error(request, _error(e))
    return redirect("bank_line_detail", org_slug=request.org.slug, pk=line.pk)


@org_view(Role.FINANCE)
@require_POST
def bank_line_confirm(request, pk):
    def act(line):
        line = confirm_match(line, request.POST.get("suggestion", ""), actor=request.user,
                             settle=request.POST.get("settle", ""), settle_reason=request.POST.get("reason", ""))
        if line.entry_linked:
            messages.success(request, _("Matched: %(r)s") % {"r": line.match_reason})
        else:
            messages.success(request, _("Matched: payment #%(p)s recorded for %(c)s.") % {
                "p": line.payment_id, "c": line.customer.name} if line.payment_created else
                _("Matched to payment #%(p)s.") % {"p": line.payment_id})
    return _line_action(request, pk, act)


@org_view(Role.FINANCE)
@require_POST
def bank_line_post(request, pk):
    def act(line):
        raw = request.POST.get("account", "")
        account = Account.objects.filter(organization=request.org, pk=raw).first() if raw.isdigit() else None
        if account is None:
            raise BankError(_("Choose the account to post the line to."))
        post_line(line, account=account, reason=request.POST.get("reason", ""), actor=request.user)
        messages.success(request, _("Posted to %(a)s.") % {"a": account})
    return _line_action(request, pk, act)


@org_view(Role.FINANCE)
@require_POST
def bank_line_unmatch(request, pk):
    def act(line):
        unmatch_line(line, reason=request.POST.get("reason", ""), actor=request.user)
        messages.success(request, _("The match was undone."))
    return _line_action(request, pk, act)


@org_view(Role.FINANCE)
@require_POST
def bank_reconcile(request, pk):
    account = _account(request, pk)
    ids = [int(x) for x in request.POST.getlist("line") if x.isdigit()]
    n = reconcile_lines(account, ids, actor=request.user)
    messages.success(request, _("%(n)s line(s) marked reconciled.") % {"n": n})
    return redirect("bank_reconciliation", org_slug=request.org.slug, pk=account.pk)


@org_view(Role.VIEWER)
def bank_reconciliation(request, pk):
    account = _account(request, pk)
    as_of = parse_date(request.GET.get("as_of", "") or "") if request.GET.get("as_of") else None
    rec = reconciliation(account, as_of)
    matched = BankLine.objects.filter(organization=request.org, bank_account=account, status=BankLineStatus.MATCHED,
                                      booking_date__lte=rec.as_of).select_related("customer", "payment")
    return render(request, "payments/bank/reconciliation.html", {
        "account": account, "rec": rec, "matched": matched, "can_act": can(request, Role.FINANCE),
        "zero": Decimal(0),
    })
