"""API operations on reports (ledger_site.api wires them): aging as of a date, the journal export."""

from datetime import date, timedelta

from django.http import HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from ledger_site.api_support import (
    DEFAULT_LIMIT,
    ERRORS,
    MAX_LIMIT,
    ApiError,
    decode_cursor,
    encode_cursor,
    money,
    responses,
)
from reports import aging as aging_report
from reports import journal_export
from reports.asof import org_currencies

router = Router(tags=["reports"])


class BucketOut(Schema):
    label: str
    from_days: int | None
    to_days: int | None


class AgingRowOut(Schema):
    customer_id: int
    code: str
    name: str
    buckets: list[str]
    unapplied: str = Field(description="Unapplied payments and credits (subtracted in the total).")
    total: str
    overdue: str


class AgingTotalsOut(Schema):
    buckets: list[str]
    unapplied: str
    total: str
    overdue: str
    customers: int


class AgingOut(Schema):
    as_of: date
    currency: str
    basis: str
    buckets: list[BucketOut]
    rows: list[AgingRowOut]
    totals: AgingTotalsOut
    ar_control: str = Field(description="The AR control account as of the date, in this currency.")
    difference: str = Field(description="totals.total minus ar_control: zero when the ledger reconciles.")
    next_cursor: str | None


@router.get("/reports/aging", response=responses(200, AgingOut), summary="Aging as of a date")
def aging(request, as_of: date | None = None, currency: str | None = Query(None, pattern=r"^[A-Z]{3}$"),
          cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)):
    """What each customer owed at the end of `as_of` (default today) by age, in one currency
    (default the base currency), with the totals of all customers and the AR control account."""
    org = request.org
    as_of = as_of or request.org.today()
    currency = currency or org.base_currency
    if currency != org.base_currency and currency not in org_currencies(org):
        raise ApiError(422, "unknown_currency", f"No customer of this organization uses {currency}.", "currency")
    page = decode_cursor(cursor) or 1
    if page > 10_000_000:
        raise ApiError(422, "invalid_cursor", "This cursor is not one the API gave out.", "cursor")
    q = aging_report.query_for(org, as_of, currency, page=page, page_size=limit, sort="code")
    report = aging_report.aging(org, q)
    c = report.currency
    rows = [AgingRowOut(customer_id=r.customer_id, code=r.code, name=r.name, buckets=[money(b, c) for b in r.buckets],
                        unapplied=money(r.unapplied, c), total=money(r.total, c), overdue=money(r.overdue, c))
            for r in report.rows]
    t = report.everything
    totals = AgingTotalsOut(buckets=[money(b, c) for b in t.buckets], unapplied=money(t.unapplied, c),
                            total=money(t.total, c), overdue=money(t.overdue, c), customers=t.customers)
    more = page * limit < report.row_count
    return AgingOut(as_of=report.as_of, currency=c, basis=report.basis,
                    buckets=[BucketOut(label=b.label, from_days=b.low, to_days=b.high) for b in report.buckets],
                    rows=rows, totals=totals, ar_control=money(report.control, c),
                    difference=money(report.difference, c), next_cursor=encode_cursor(page + 1) if more else None)


EXPORT_RESPONSE = {200: {"description": "The journal lines of the period (layout: docs/journal_export.md). "
                                        "Header X-Ledger-Chain-Head: <seq>:<sha256> of the period's last entry.",
                         "content": {"text/csv": {"schema": {"type": "string"}},
                                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":
                                         {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/journal/export", response=ERRORS, summary="The journal of a period for the general ledger",
            openapi_extra={"responses": EXPORT_RESPONSE})
def export_journal(request, start: date, end: date,
                   format: str = Query("csv", pattern="^(csv|xlsx|xero|fec)$")):  # noqa: A002 - the API's name
    try:
        export = journal_export.journal_export(request.org, start, end)
        content, content_type, filename = journal_export.render(export, format, request.org)
    except journal_export.ExportError as e:
        raise ApiError(422, "invalid_period" if "period" in str(e) or "years" in str(e) else "unsupported",
                       str(e)) from e
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Ledger-Chain-Head"] = export.head_text
    return response


PACK_RESPONSE = {200: {"description": "The auditor pack of the period (layout: docs/journal_export.md). "
                                      "Header X-Ledger-Verified: ok or failed.",
                       "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/journal/auditor-pack", response=ERRORS, summary="The auditor pack of a period (ZIP)",
            openapi_extra={"responses": PACK_RESPONSE})
def auditor_pack(request, start: date, end: date):
    """Journal, trial balance, AR tie-out, every issued document's PDF with a SHA-256 manifest, the
    FEC and a verification run (docs/journal_export.md)."""
    from reports import auditor_pack as pack_builder

    try:
        pack = pack_builder.build(request.org, start, end)
    except journal_export.ExportError as e:
        raise ApiError(422, "invalid_period", str(e)) from e
    response = HttpResponse(pack.content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{pack.filename}"'
    response["X-Ledger-Verified"] = "ok" if pack.verified else "failed"
    return response


PDF_RESPONSE = {200: {"description": "The customer's statement as PDF.",
                      "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/customers/{customer_id}/statement", response=ERRORS, summary="A customer's statement (PDF)",
            openapi_extra={"responses": PDF_RESPONSE})
def statement_pdf(request, customer_id: int, start: date | None = None, end: date | None = None,
                  style: str = Query("balance_forward", pattern="^(balance_forward|open_item)$")):
    """The statement the customer page renders: `start` defaults to 90 days ago, `end` to today."""
    from accounts.models import Customer
    from ledger_site.api_support import not_found
    from reports import statements

    end = end or request.org.today()
    start = start or end - timedelta(days=90)
    try:
        journal_export.check_period(start, end)
    except journal_export.ExportError as e:
        raise ApiError(422, "invalid_period", str(e), "start") from e
    customer = Customer.objects.select_related("organization").filter(organization=request.org, pk=customer_id).first()
    if customer is None:
        raise not_found("customer")
    doc = statements.stored_pdf(statements.build(customer, style, start, end))
    response = HttpResponse(bytes(doc.content), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{doc.filename}"'
    return response
