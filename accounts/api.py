"""API operations on customers, their balances and their transactions (ledger_site.api wires them).

Creating and changing a customer goes through `accounts.forms.CustomerForm`, the same rules as
the web form (code suggested when empty and unique per organization, e-mail list, terms, currency
fixed once there is activity)."""

from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from accounts.customer_activity import has_financial_activity
from accounts.forms import CustomerForm
from accounts.ledger import customer_balance
from accounts.models import Customer, JournalLine
from ledger_site.api_support import (
    DEFAULT_LIMIT,
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

router = Router(tags=["customers"])


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    billing_emails: list[str]
    contact_person: str
    phone: str
    billing_address: str
    tax_id: str
    country: str
    endpoint_scheme: str = Field(description="Peppol electronic address scheme (EAS code), e.g. 9930.")
    endpoint_id: str = Field(description="Peppol endpoint id in that scheme.")
    currency: str
    payment_terms_days: int
    credit_limit: str
    language: str
    tags: list[str]
    notes: str
    archived: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None


class CustomerCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    code: str = Field("", max_length=20, description="Empty: suggested from the name.")
    billing_emails: list[str] = Field(default_factory=list, max_length=20)
    contact_person: str = Field("", max_length=150)
    phone: str = Field("", max_length=40)
    billing_address: str = Field("", max_length=1000)
    tax_id: str = Field("", max_length=50)
    country: str = Field("", max_length=2, description="ISO 3166 alpha-2; e-invoices need it.")
    endpoint_scheme: str = Field("", max_length=4, description="Peppol EAS code; with endpoint_id.")
    endpoint_id: str = Field("", max_length=50, description="Peppol endpoint id; with endpoint_scheme.")
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="Default: the organization's base currency.")
    payment_terms_days: int = Field(30, ge=0, le=365)
    credit_limit: DecimalStr = Field("0", description="0 means no limit.")
    language: str = Field("en", max_length=10)
    tags: list[str] = Field(default_factory=list, max_length=30)
    notes: str = Field("", max_length=5000)


class CustomerUpdate(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    code: str | None = Field(None, min_length=1, max_length=20)
    billing_emails: list[str] | None = Field(None, max_length=20)
    contact_person: str | None = Field(None, max_length=150)
    phone: str | None = Field(None, max_length=40)
    billing_address: str | None = Field(None, max_length=1000)
    tax_id: str | None = Field(None, max_length=50)
    country: str | None = Field(None, max_length=2)
    endpoint_scheme: str | None = Field(None, max_length=4)
    endpoint_id: str | None = Field(None, max_length=50)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    payment_terms_days: int | None = Field(None, ge=0, le=365)
    credit_limit: DecimalStr | None = None
    language: str | None = Field(None, max_length=10)
    tags: list[str] | None = Field(None, max_length=30)
    notes: str | None = Field(None, max_length=5000)


class BalanceOut(Schema):
    customer_id: int
    currency: str
    as_of: date | None
    balance: str = Field(description="What the customer owes (positive) or has in credit (negative).")


class TransactionOut(Schema):
    entry_seq: int
    date: date
    memo: str
    source_type: str
    source_id: int | None
    source_label: str
    amount: str = Field(description="Debit (what the customer owes more) positive, credit negative.")
    balance: str = Field(description="The customer's balance after this line.")


class TransactionPage(Schema):
    currency: str
    items: list[TransactionOut]
    next_cursor: str | None


def customer_out(c: Customer) -> CustomerOut:
    return CustomerOut(
        id=c.pk, code=c.code, name=c.name, billing_emails=c.email_list, contact_person=c.contact_person,
        phone=c.phone, billing_address=c.billing_address, tax_id=c.tax_id, country=c.country,
        endpoint_scheme=c.endpoint_scheme, endpoint_id=c.endpoint_id, currency=c.currency,
        payment_terms_days=c.payment_terms_days, credit_limit=money(c.credit_limit, c.currency),
        language=c.language, tags=c.tag_list, notes=c.notes, archived=c.is_archived, archived_at=c.archived_at,
        created_at=c.created_at, updated_at=c.updated_at,
    )


def get_customer(request, customer_id: int, lock: bool = False) -> Customer:
    customers = Customer.objects.filter(organization=request.org)
    if lock:
        customers = customers.select_for_update()
    customer = customers.filter(pk=customer_id).first()
    if customer is None:
        raise not_found("customer")
    return customer


def _form_errors(form) -> ApiError:
    error = ApiError(422, "invalid", "The customer is not valid.")
    error.items = [{"field": None if field == "__all__" else field, "code": e.get("code") or "invalid",
                    "message": e["message"]}
                   for field, errors in form.errors.get_json_data().items() for e in errors]
    return error


FORM_FIELDS = ["name", "code", "contact_person", "billing_emails", "phone", "tax_id", "billing_address",
               "country", "endpoint_scheme", "endpoint_id", "currency", "payment_terms_days", "credit_limit",
               "language", "tags", "notes"]


def _form_data(values: dict) -> dict:
    data = {}
    for name in FORM_FIELDS:
        value = values.get(name)
        if name in ("billing_emails", "tags") and isinstance(value, list):
            value = ", ".join(value)
        data[name] = "" if value is None else str(value)
    return data


def _save(request, data: dict, instance: Customer | None) -> Customer:
    form = CustomerForm(data, instance=instance, org=request.org)
    if not form.is_valid():
        raise _form_errors(form)
    return form.save()


@router.get("/customers", response=responses(200, CustomerPage), summary="List customers")
def list_customers(request, cursor: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                   archived: bool | None = None, q: str | None = Query(None, max_length=100),
                   updated_since: datetime | None = None):
    """Oldest first. `archived`: only archived (true) or only active (false) customers;
    `q`: part of the name or code; `updated_since`: changed at or after this time."""
    customers = Customer.objects.filter(organization=request.org)
    if archived is not None:
        customers = customers.filter(archived_at__isnull=not archived)
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(code__icontains=q))
    if updated_since is not None:
        customers = customers.filter(updated_at__gte=since(updated_since))
    return paginate(customers, cursor, limit, customer_out)


@router.get("/customers/{customer_id}", response=responses(200, CustomerOut), summary="Get a customer")
def get_customer_op(request, customer_id: int):
    return customer_out(get_customer(request, customer_id))


@router.post("/customers", response=responses(201, CustomerOut), summary="Create a customer")
@write
def create_customer(request, payload: CustomerCreate):
    values = payload.model_dump()
    values["currency"] = values["currency"] or request.org.base_currency
    customer = _save(request, _form_data(values), None)
    customer.refresh_from_db()
    return 201, customer_out(customer)


@router.patch("/customers/{customer_id}", response=responses(200, CustomerOut), summary="Change a customer")
@write
def update_customer(request, customer_id: int, payload: CustomerUpdate):
    """Only the fields sent change. The currency is fixed once the customer has ledger activity."""
    customer = get_customer(request, customer_id, lock=True)
    changes = payload.model_dump(exclude_unset=True)
    if None in changes.values():
        field = next(k for k, v in changes.items() if v is None)
        raise ApiError(422, "null", "Leave a field out to keep it; null is not a value.", field)
    if "currency" in changes and changes["currency"] != customer.currency and has_financial_activity(customer):
        raise ApiError(422, "currency_fixed", "The currency is fixed once the customer has ledger activity.",
                       "currency")
    current = {name: getattr(customer, name) for name in FORM_FIELDS}
    for name in ("credit_limit", "payment_terms_days"):
        if name in changes and Decimal(str(changes[name])) != Decimal(str(current[name])):
            # An API key acts for the organization, not for an owner (accounts.credit_terms).
            raise ApiError(403, "owner_decision", "Credit limit and payment terms are changed by an owner in the "
                           "app (finance proposes them there); leave them out.", name)
    customer = _save(request, _form_data({**current, **changes}), customer)
    customer.refresh_from_db()
    return 200, customer_out(customer)


def _set_archived(request, customer_id: int, archived: bool):
    customer = get_customer(request, customer_id, lock=True)
    if customer.is_archived != archived:
        customer.archived_at = timezone.now() if archived else None
        customer.save(update_fields=["archived_at"])
    customer.refresh_from_db()
    return 200, customer_out(customer)


@router.post("/customers/{customer_id}/archive", response=responses(200, CustomerOut), summary="Archive a customer")
@write
def archive_customer(request, customer_id: int):
    """Archived customers keep their history; they cannot be invoiced or paid until restored."""
    return _set_archived(request, customer_id, True)


@router.post("/customers/{customer_id}/restore", response=responses(200, CustomerOut),
             summary="Restore an archived customer")
@write
def restore_customer(request, customer_id: int):
    return _set_archived(request, customer_id, False)


@router.get("/customers/{customer_id}/balance", response=responses(200, BalanceOut), summary="A customer's balance")
def balance(request, customer_id: int, as_of: date | None = None):
    """Now, or at the end of `as_of`, from the ledger."""
    customer = get_customer(request, customer_id)
    amount = customer_balance(customer, as_of=as_of)
    return BalanceOut(customer_id=customer.pk, currency=customer.currency, as_of=as_of,
                      balance=money(amount, customer.currency))


def _decode_position(cursor: str | None):
    from ledger_site.api_support import decode_cursor

    if not cursor:
        return None
    raw = decode_cursor(cursor)  # the journal line's id: its (date, seq, line) is read back
    line = JournalLine.objects.filter(pk=raw).select_related("entry").first()
    if line is None:
        raise ApiError(422, "invalid_cursor", "This cursor is not one the API gave out.", "cursor")
    return line


@router.get("/customers/{customer_id}/transactions", response=responses(200, TransactionPage),
            summary="A customer's transactions with the running balance")
def transactions(request, customer_id: int, cursor: str | None = None,
                 limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
                 start: date | None = None, end: date | None = None):
    """The customer's receivable lines oldest first (by date, then the journal's sequence), each
    with the balance after it. `start`/`end` bound the dates; the first line's balance includes
    everything before `start`."""
    from ledger_site.api_support import encode_cursor

    customer = get_customer(request, customer_id)
    lines = JournalLine.objects.filter(organization=request.org, customer=customer, currency=customer.currency)
    if start is not None:
        lines = lines.filter(effective_date__gte=start)
    if end is not None:
        lines = lines.filter(effective_date__lte=end)
    after = _decode_position(cursor)
    if after is not None:
        d, s, n = after.effective_date, after.entry.seq, after.line_no
        lines = lines.filter(Q(effective_date__gt=d) | Q(effective_date=d, entry__seq__gt=s)
                             | Q(effective_date=d, entry__seq=s, line_no__gt=n))
    page = list(lines.select_related("entry").order_by("effective_date", "entry__seq", "line_no")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    running = Decimal(0)
    if page:
        first = page[0]
        before = JournalLine.objects.filter(organization=request.org, customer=customer, currency=customer.currency)
        before = before.filter(Q(effective_date__lt=first.effective_date)
                               | Q(effective_date=first.effective_date, entry__seq__lt=first.entry.seq)
                               | Q(effective_date=first.effective_date, entry__seq=first.entry.seq,
                                   line_no__lt=first.line_no))
        running = before.aggregate(s=Sum("amount"))["s"] or Decimal(0)
    items = []
    for line in page:
        running += line.amount
        e = line.entry
        items.append(TransactionOut(entry_seq=e.seq, date=line.effective_date, memo=e.memo, source_type=e.source_type,
                                    source_id=e.source_id, source_label=e.source_label,
                                    amount=money(line.amount, customer.currency),
                                    balance=money(running, customer.currency)))
    return TransactionPage(currency=customer.currency, items=items,
                           next_cursor=encode_cursor(page[-1].pk) if more else None)
