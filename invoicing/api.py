"""API operations on invoices (ledger_site.api wires them).

Drafts are validated by the editor's own forms (`InvoiceForm`, `LineFormSet`, `check_preview`)
and saved by `invoicing.services.save_draft`; issuing, voiding, writing off and disputes call the
services the pages call. Nothing here writes a table of its own."""

from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.http import HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.locale import plain
from invoicing import documents, services
from invoicing.forms import InvoiceForm, LineFormSet, active_tax_rates, check_preview, preview_totals
from invoicing.models import Invoice, InvoiceStatus
from ledger_site.api_support import (
    DEFAULT_LIMIT,
    ERRORS,
    MAX_LIMIT,
    ApiError,
    DecimalStr,
    InputSchema,
    money,
    not_found,
    paginate,
    responses,
    since,
    write,
)

router = Router(tags=["invoices"])


class LineIn(InputSchema):
    description: str = Field(min_length=1, max_length=500)
    quantity: DecimalStr
    unit: str = Field("", max_length=20)
    unit_price: DecimalStr
    discount_percent: DecimalStr = "0"
    tax_rate_id: int | None = Field(None, description="One of the organization's tax rates (GET /tax-rates).")


class DraftIn(InputSchema):
    customer_id: int
    issue_date: date | None = Field(None, description="Default: today.")
    due_date: date | None = Field(None, description="Default: the issue date plus the customer's payment terms.")
    reference: str = Field("", max_length=100)
    discount_percent: DecimalStr = "0"
    notes: str | None = Field(None, max_length=5000, description="Default: the organization's default notes.")
    terms: str | None = Field(None, max_length=5000, description="Default: the organization's default terms.")
    lines: list[LineIn] = Field(min_length=1, max_length=services.MAX_LINES)


class IssueIn(InputSchema):
    issue_date: date | None = Field(None, description="Default: the draft's issue date.")


class ReasonIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)


class WriteOffIn(InputSchema):
    amount: DecimalStr
    reason: str = Field(min_length=1, max_length=500)


class DisputeIn(InputSchema):
    reason: str = Field(min_length=1, max_length=500)
    until: date | None = None


class LineOut(Schema):
    position: int
    description: str
    quantity: str
    unit: str
    unit_price: str
    discount_percent: str
    tax_rate_id: int | None
    tax_percent: str
    gross_amount: str
    net_amount: str
    tax_amount: str


class InvoiceSummary(Schema):
    id: int
    number: str | None
    kind: str
    status: str = Field(description="draft, issued or void.")
    display_status: str = Field(description="draft, void, open, partially_paid, overdue, paid or written_off.")
    customer_id: int
    currency: str
    issue_date: date
    due_date: date
    reference: str
    subtotal: str
    discount_total: str
    tax_total: str
    total: str
    amount_paid: str
    amount_credited: str
    amount_written_off: str
    amount_due: str
    disputed: bool
    issued_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceOut(InvoiceSummary):
    discount_percent: str
    notes: str
    terms: str
    dispute_reason: str
    dispute_until: date | None
    lines: list[LineOut]


class InvoicePage(Schema):
    items: list[InvoiceSummary]
    next_cursor: str | None


class TaxRateOut(Schema):
    id: int
    name: str
    percent: str
    archived: bool
    category: str = Field(description="EN 16931 VAT category (S, Z, E, AE, K, G, O); empty: Z at 0 %, S otherwise.")
    exemption_reason: str


def _summary_fields(i: Invoice) -> dict:
    c = i.currency
    return dict(
        id=i.pk, number=i.number, kind=i.kind, status=i.status, display_status=i.display_status,
        customer_id=i.customer_id, currency=c, issue_date=i.issue_date, due_date=i.due_date, reference=i.reference,
        subtotal=money(i.subtotal, c), discount_total=money(i.discount_total, c), tax_total=money(i.tax_total, c),
        total=money(i.total, c), amount_paid=money(i.amount_paid, c), amount_credited=money(i.amount_credited, c),
        amount_written_off=money(i.amount_written_off, c), amount_due=money(i.amount_due, c),
        disputed=i.is_disputed, issued_at=i.issued_at, created_at=i.created_at, updated_at=i.updated_at,
    )


def summary_out(i: Invoice) -> InvoiceSummary:
    return InvoiceSummary(**_summary_fields(i))


def invoice_out(i: Invoice) -> InvoiceOut:
    c = i.currency
    lines = [LineOut(position=li.position, description=li.description, quantity=plain(li.quantity), unit=li.unit,
                     unit_price=plain(li.unit_price), discount_percent=plain(li.discount_percent),
                     tax_rate_id=li.tax_rate_id, tax_percent=plain(li.tax_percent),
                     gross_amount=money(li.gross_amount, c), net_amount=money(li.net_amount, c),
                     tax_amount=money(li.tax_amount, c))
             for li in i.lines.all()]
    return InvoiceOut(**_summary_fields(i), discount_percent=plain(i.discount_percent), notes=i.notes,
                      terms=i.terms, dispute_reason=i.dispute_reason, dispute_until=i.dispute_until, lines=lines)


def get_invoice(request, invoice_id: int) -> Invoice:
    invoice = Invoice.objects.filter(organization=request.org, pk=invoice_id).first()
    if invoice is None:
        raise not_found("invoice")
    return invoice


def _fresh(invoice_id: int) -> InvoiceOut:
    return invoice_out(Invoice.objects.prefetch_related("lines").get(pk=invoice_id))


# --- Drafts: the editor's forms do the checking ---------------------------------------------------

def _form_data(org, payload: DraftIn) -> dict:
    from invoicing.models import InvoiceSettings

    notes, terms = payload.notes, payload.terms
    if notes is None or terms is None:  # the organization's defaults only when one is left out
        settings = InvoiceSettings.objects.only("default_notes", "default_terms").get(organization=org)
        notes = settings.default_notes if notes is None else notes
        terms = settings.default_terms if terms is None else terms
    data = {
        "customer": str(payload.customer_id),
        "issue_date": (payload.issue_date or org.today()).isoformat(),
        "due_date": payload.due_date.isoformat() if payload.due_date else "",
        "reference": payload.reference, "discount_percent": payload.discount_percent,
        "notes": notes, "terms": terms,
        "lines-TOTAL_FORMS": str(len(payload.lines)), "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0", "lines-MAX_NUM_FORMS": str(services.MAX_LINES),
    }
    for n, line in enumerate(payload.lines):
        data.update({f"lines-{n}-description": line.description, f"lines-{n}-quantity": line.quantity,
                     f"lines-{n}-unit": line.unit, f"lines-{n}-unit_price": line.unit_price,
                     f"lines-{n}-discount_percent": line.discount_percent,
                     f"lines-{n}-tax_rate": "" if line.tax_rate_id is None else str(line.tax_rate_id)})
    return data


_FIELD_NAMES = {"customer": "customer_id", "tax_rate": "tax_rate_id"}


def _errors(form, formset) -> ApiError:
    items = []
    for field, errors in form.errors.get_json_data().items():
        name = None if field == "__all__" else _FIELD_NAMES.get(field, field)
        items += [{"field": name, "code": e.get("code") or "invalid", "message": e["message"]} for e in errors]
    for n, line_errors in enumerate(formset.errors):
        for field, errors in line_errors.get_json_data().items():
            name = f"lines.{n}" if field == "__all__" else f"lines.{n}.{_FIELD_NAMES.get(field, field)}"
            items += [{"field": name, "code": e.get("code") or "invalid", "message": e["message"]} for e in errors]
    items += [{"field": "lines", "code": "invalid", "message": str(m)} for m in formset.non_form_errors()]
    error = ApiError(422, "invalid", "The invoice is not valid.")
    error.items = items or error.items
    return error


def _save_draft(request, invoice: Invoice | None, payload: DraftIn) -> Invoice:
    """The editor's forms check the draft, without what only a page needs: the customer by id
    (no count of customers to choose a widget), the tax rates and the organization's default
    texts read only when the draft uses them."""
    org = request.org
    rates = []
    if any(line.tax_rate_id is not None for line in payload.lines):
        keep = set(invoice.lines.exclude(tax_rate=None).values_list("tax_rate_id", flat=True)) if invoice else set()
        rates = list(active_tax_rates(org, keep))
    data = _form_data(org, payload)
    form = InvoiceForm(data, org=org, instance=invoice, plain_customer=True)
    formset = LineFormSet(data, prefix="lines", tax_rates=rates)
    if not (form.is_valid() and formset.is_valid()):
        raise _errors(form, formset)
    preview = preview_totals(formset.lines(), form.cleaned_data["discount_percent"],
                             form.cleaned_data["customer"].currency)
    if not check_preview(preview, formset):
        raise _errors(form, formset)
    fields = {k: form.cleaned_data[k] for k in ("customer", "issue_date", "due_date", "reference",
                                                  "discount_percent", "notes", "terms")}
    lines = [{k: line[k] for k in ("description", "quantity", "unit", "unit_price", "discount_percent", "tax_rate")}
             for line in formset.lines()]
    return services.save_draft(org, invoice, fields, lines, actor=request.actor)


# --- Operations ---------------------------------------------------------------------------------

STATUS_FILTERS = ("draft", "issued", "void", "open", "overdue", "paid")


@router.get("/invoices", response=responses(200, InvoicePage), summary="List invoices")
def list_invoices(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                  status: str | None = Query(None, pattern="^(" + "|".join(STATUS_FILTERS) + ")$",
                                             description="draft, issued, void, open (amount due > 0), "
                                                         "overdue, or paid (issued, nothing due)."),
                  customer_id: int | None = None, issued_from: date | None = None, issued_to: date | None = None,
                  due_from: date | None = None, due_to: date | None = None, updated_since: datetime | None = None):
    invoices = Invoice.objects.filter(organization=request.org)
    if status in ("draft", "issued", "void"):
        invoices = invoices.filter(status=status)
    elif status == "open":
        invoices = invoices.open()
    elif status == "overdue":
        invoices = invoices.overdue()
    elif status == "paid":
        invoices = invoices.filter(status=InvoiceStatus.ISSUED, amount_due=0)
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    for value, lookup in ((issued_from, "issue_date__gte"), (issued_to, "issue_date__lte"),
                          (due_from, "due_date__gte"), (due_to, "due_date__lte")):
        if value is not None:
            invoices = invoices.filter(**{lookup: value})
    if updated_since is not None:
        invoices = invoices.filter(updated_at__gte=since(updated_since))
    return paginate(invoices, cursor, limit, summary_out)


@router.get("/invoices/{invoice_id}", response=responses(200, InvoiceOut), summary="Get an invoice with its lines")
def get_invoice_op(request, invoice_id: int):
    return _fresh(get_invoice(request, invoice_id).pk)


@router.post("/invoices", response=responses(201, InvoiceOut), summary="Create a draft invoice")
@write(one_service=True)
def create_draft(request, payload: DraftIn):
    # The answer from what was inserted, not read back: the row's database default (updated_at)
    # comes back with the insert, and save_draft keeps the lines it wrote. (An update is read
    # back: a trigger sets its updated_at.)
    return 201, partial(invoice_out, _save_draft(request, None, payload))


@router.put("/invoices/{invoice_id}", response=responses(200, InvoiceOut), summary="Replace a draft")
@write
def update_draft(request, invoice_id: int, payload: DraftIn):
    """The draft's fields and lines are replaced by these. Refused once the invoice is issued."""
    invoice = get_invoice(request, invoice_id)
    if invoice.status != InvoiceStatus.DRAFT:
        raise ApiError(409, "not_a_draft", f"Invoice {invoice.number} is issued and can no longer be edited.")
    return 200, partial(_fresh, _save_draft(request, invoice, payload).pk)


@router.post("/invoices/{invoice_id}/issue", response=responses(200, InvoiceOut), summary="Issue a draft")
@write(one_service=True)
def issue(request, invoice_id: int, payload: IssueIn | None = None):
    """Gives the invoice its number and posts it to the ledger. Credit control applies."""
    # Not read first: issuing locks and reads the draft in this organization, or finds none.
    try:
        issued = services.issue_invoice(Invoice(pk=invoice_id, organization_id=request.org.pk), actor=request.actor,
                                        issue_date=payload.issue_date if payload else None)
    except services.InvoiceNotFound:
        raise not_found("invoice") from None
    # The answer from the invoice as issue_invoice stored it (its lines and the row's new updated_at
    # included), not read back after the commit.
    return 200, partial(invoice_out, issued)


@router.post("/invoices/{invoice_id}/void", response=responses(200, InvoiceOut), summary="Void an issued invoice")
@write
def void(request, invoice_id: int, payload: ReasonIn):
    """Only while nothing is paid, credited or written off on it: the issue entry is reversed."""
    services.void_invoice(get_invoice(request, invoice_id), payload.reason, actor=request.actor)
    return 200, partial(_fresh, invoice_id)


@router.post("/invoices/{invoice_id}/write-off", response=responses(200, InvoiceOut),
             summary="Write off part or all of what is due")
@write
def write_off(request, invoice_id: int, payload: WriteOffIn):
    services.write_off(get_invoice(request, invoice_id), Decimal(payload.amount), payload.reason,
                       actor=request.actor)
    return 200, partial(_fresh, invoice_id)


@router.post("/invoices/{invoice_id}/dispute", response=responses(200, InvoiceOut), summary="Put on dispute hold")
@write
def dispute(request, invoice_id: int, payload: DisputeIn):
    services.set_dispute(get_invoice(request, invoice_id), payload.reason, actor=request.actor, until=payload.until)
    return 200, partial(_fresh, invoice_id)


@router.post("/invoices/{invoice_id}/resolve-dispute", response=responses(200, InvoiceOut),
             summary="Clear a dispute hold")
@write
def resolve_dispute(request, invoice_id: int):
    services.clear_dispute(get_invoice(request, invoice_id), actor=request.actor)
    return 200, partial(_fresh, invoice_id)


PDF_RESPONSE = {200: {"description": "The invoice as PDF (drafts carry a DRAFT watermark).",
                      "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}


@router.get("/invoices/{invoice_id}/pdf", response=ERRORS, summary="The invoice's PDF",
            openapi_extra={"responses": PDF_RESPONSE})
def pdf(request, invoice_id: int):
    invoices = Invoice.objects.select_related("organization__invoice_settings").filter(organization=request.org)
    invoice = documents.with_latest_pdf(invoices).filter(pk=invoice_id).first()
    if invoice is None:
        raise not_found("invoice")
    served = documents.current_pdf(invoice, invoice)
    response = HttpResponse(served.content, content_type="application/pdf")
    response["ETag"] = f'"{served.sha256}"'
    response["Content-Disposition"] = f'inline; filename="{served.filename}"'
    return response


@router.get("/tax-rates", response=responses(200, list[TaxRateOut]), summary="The organization's tax rates")
def tax_rates(request):
    from invoicing.models import TaxRate

    return [TaxRateOut(id=r.pk, name=r.name, percent=plain(r.percent), archived=r.archived, category=r.category,
                       exemption_reason=r.exemption_reason)
            for r in TaxRate.objects.filter(organization=request.org).order_by("pk")]


# --- Credit notes -------------------------------------------------------------------------------

class CreditIn(InputSchema):
    amount: DecimalStr = Field(description="The gross amount credited, tax included.")
    reason: str = Field(min_length=1, max_length=500)
    tax_percent: DecimalStr = Field("0", description="The tax rate included in the amount.")


class StandaloneCreditIn(CreditIn):
    customer_id: int


class CreditNoteOut(Schema):
    id: int
    number: str
    customer_id: int
    invoice_id: int | None
    currency: str
    issue_date: date
    reason: str
    subtotal: str
    tax_total: str
    total: str
    amount_applied: str
    unapplied: str
    created_at: datetime


class CreditNotePage(Schema):
    items: list[CreditNoteOut]
    next_cursor: str | None


def credit_note_out(n) -> CreditNoteOut:
    c = n.currency
    return CreditNoteOut(id=n.pk, number=n.number, customer_id=n.customer_id, invoice_id=n.invoice_id, currency=c,
                         issue_date=n.issue_date, reason=n.reason, subtotal=money(n.subtotal, c),
                         tax_total=money(n.tax_total, c), total=money(n.total, c),
                         amount_applied=money(n.amount_applied, c), unapplied=money(n.unapplied, c),
                         created_at=n.created_at)


def _credit(request, customer, invoice, payload: CreditIn):
    from invoicing.credit_notes import credit_amount
    from ledger_site.api_support import service_key

    tax = Decimal(payload.tax_percent)
    if tax > 100:
        raise ApiError(422, "invalid", "Enter a percentage from 0 to 100.", "tax_percent")
    note = credit_amount(customer, Decimal(payload.amount), payload.reason, actor=request.actor, invoice=invoice,
                         tax_percent=tax, idempotency_key=service_key(request, "credit"))
    note.refresh_from_db()  # the allocation to the invoice changed its amount applied
    return 201, credit_note_out(note)


@router.post("/invoices/{invoice_id}/credit-notes", response=responses(201, CreditNoteOut),
             summary="Credit an issued invoice")
@write
def credit_invoice(request, invoice_id: int, payload: CreditIn):
    """Issues a credit note against the invoice and applies it to what is due."""
    invoice = Invoice.objects.select_related("customer").filter(organization=request.org, pk=invoice_id).first()
    if invoice is None:
        raise not_found("invoice")
    return _credit(request, invoice.customer, invoice, payload)


@router.post("/credit-notes", response=responses(201, CreditNoteOut), summary="A credit note without an invoice")
@write
def credit_customer(request, payload: StandaloneCreditIn):
    """The credit stays unapplied on the customer's account until a payment allocation uses it."""
    from accounts.models import Customer

    customer = Customer.objects.filter(organization=request.org, pk=payload.customer_id).first()
    if customer is None:
        raise ApiError(422, "not_found", "No such customer.", "customer_id")
    return _credit(request, customer, None, payload)


@router.get("/credit-notes", response=responses(200, CreditNotePage), summary="List credit notes")
def list_credit_notes(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                      customer_id: int | None = None, invoice_id: int | None = None):
    from invoicing.models import CreditNote

    notes = CreditNote.objects.filter(organization=request.org)
    if customer_id is not None:
        notes = notes.filter(customer_id=customer_id)
    if invoice_id is not None:
        notes = notes.filter(invoice_id=invoice_id)
    return paginate(notes, cursor, limit, credit_note_out)


@router.get("/credit-notes/{credit_note_id}", response=responses(200, CreditNoteOut), summary="Get a credit note")
def get_credit_note(request, credit_note_id: int):
    from invoicing.models import CreditNote

    note = CreditNote.objects.filter(organization=request.org, pk=credit_note_id).first()
    if note is None:
        raise not_found("credit note")
    return credit_note_out(note)


EINVOICE_RESPONSE = {200: {"description": "UBL 2.1 following Peppol BIS Billing 3.0, checked against the official "
                                          "UBL 2.1 XSD. 409 lists what the document lacks for the standard.",
                           "content": {"application/xml": {"schema": {"type": "string"}}}}}


def _ubl_response(source) -> HttpResponse:
    from invoicing.einvoice import EInvoiceError
    from invoicing.views.einvoice import produce

    try:
        xml = produce(source, "ubl")
    except EInvoiceError as e:
        error = ApiError(409, "einvoice_incomplete", e.missing[0])
        error.items = [{"field": None, "code": "einvoice_incomplete", "message": m} for m in e.missing]
        raise error from e
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{source.number}-ubl.xml"'
    return response


@router.get("/invoices/{invoice_id}/ubl", response=ERRORS, summary="The invoice as a Peppol UBL e-invoice",
            openapi_extra={"responses": EINVOICE_RESPONSE})
def invoice_ubl(request, invoice_id: int):
    invoice = Invoice.objects.select_related("customer", "organization").filter(
        organization=request.org, pk=invoice_id).first()
    if invoice is None:
        raise not_found("invoice")
    return _ubl_response(invoice)


@router.get("/credit-notes/{credit_note_id}/ubl", response=ERRORS,
            summary="The credit note as a Peppol UBL e-invoice (CreditNote)",
            openapi_extra={"responses": EINVOICE_RESPONSE})
def credit_note_ubl(request, credit_note_id: int):
    from invoicing.models import CreditNote

    note = CreditNote.objects.select_related("customer", "organization", "invoice").filter(
        organization=request.org, pk=credit_note_id).first()
    if note is None:
        raise not_found("credit note")
    return _ubl_response(note)
