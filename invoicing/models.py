"""Invoices, their lines, tax rates, numbering, credit notes, write-offs and the timeline.

An invoice is editable while it is a draft. Issuing freezes it: it gets its number, a snapshot
of seller, buyer and lines, and posts to the ledger. What is then owed on it follows from the
rows that apply money to it (payments.Allocation), credit notes and write-offs; the maintained
amounts on the invoice are updated in the same transaction as those rows, and a database
CHECK keeps `amount_due = total - paid - credited - written off >= 0`.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer, JournalEntry, Organization
from accounts.models_org import today_in
from ledger_site.sorting import indexed_columns
from ledger_site.tenancy import organization_of

AMOUNT = {"max_digits": 18, "decimal_places": 3}
PERCENT = {"max_digits": 7, "decimal_places": 4,
           "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]}
ZERO = Decimal("0")


class TaxCategory(models.TextChoices):
    """VAT category codes of EN 16931 (UNCL 5305 subset). Empty on a rate means "by its percent":
    Z at 0 %, S otherwise. Every category but S and Z needs an exemption reason on e-invoices."""

    STANDARD = "S", _("S — standard rate")
    ZERO = "Z", _("Z — zero rated")
    EXEMPT = "E", _("E — exempt from VAT")
    REVERSE_CHARGE = "AE", _("AE — reverse charge")
    INTRA_EU = "K", _("K — intra-community supply (VAT exempt)")
    EXPORT = "G", _("G — export outside the EU (free export item)")
    NOT_SUBJECT = "O", _("O — outside the scope of VAT")


def tax_category(category: str, percent) -> str:
    """The category a line is taxed in: the rate's own, or Z/S by its percent."""
    return category or ("Z" if Decimal(percent) == 0 else "S")


class TaxRate(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="tax_rates")
    name = models.CharField(_("name"), max_length=60)
    percent = models.DecimalField(_("rate (%)"), **PERCENT)
    archived = models.BooleanField(_("archived"), default=False)
    # E-invoices (invoicing.einvoice): the VAT category and, for E, AE, K, G and O, why no VAT is due.
    category = models.CharField(_("VAT category"), max_length=2, blank=True, choices=TaxCategory.choices)
    exemption_reason = models.CharField(_("exemption reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["percent", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="taxrate_name_unique"),
            models.CheckConstraint(condition=Q(percent__gte=0, percent__lte=100), name="taxrate_percent_range"),
        ]

    def __str__(self):
        percent = f"{self.percent:f}".rstrip("0").rstrip(".")  # 20.0000 → "20", never "2E+1"
        return f"{self.name} ({percent}%)"


class PaperSize(models.TextChoices):
    A4 = "A4", "A4"
    LETTER = "Letter", "Letter"


class InvoiceSettings(models.Model):
    """Per-organization numbering, layout, payment instructions and e-mail templates."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="invoice_settings")
    invoice_prefix = models.CharField(_("invoice number prefix"), max_length=10, default="INV-")
    credit_note_prefix = models.CharField(_("credit note prefix"), max_length=10, default="CN-")
    late_fee_prefix = models.CharField(_("late fee prefix"), max_length=10, default="LF-")
    number_includes_year = models.BooleanField(_("include the year in numbers"), default=True)
    number_padding = models.PositiveSmallIntegerField(
        _("digits"), default=5, validators=[MinValueValidator(1), MaxValueValidator(10)])
    reset_yearly = models.BooleanField(_("restart numbering every year"), default=True)
    paper_size = models.CharField(_("paper size"), max_length=6, choices=PaperSize.choices, default=PaperSize.A4)
    payment_methods = models.CharField(_("accepted payment methods"), max_length=200,
                                       default="Bank transfer, card")
    bank_details = models.TextField(_("bank details"), max_length=1000, blank=True)
    default_terms = models.TextField(_("default terms"), max_length=2000, blank=True)
    default_notes = models.TextField(_("default notes"), max_length=2000, blank=True)
    logo = models.ImageField(_("logo"), upload_to="logos/", blank=True)
    email_subject = models.CharField(_("e-mail subject"), max_length=200,
                                     default="Invoice {number} from {organization}")
    email_body = models.TextField(
        _("e-mail body"), max_length=5000,
        default=("Dear {customer},\n\nPlease find attached invoice {number} for {amount_due}, "
                 "due on {due_date}.\n\nYou can also view it online: {link}\n\nKind regards,\n{organization}"),
    )

    def __str__(self):
        return f"invoice settings of {self.organization_id}"


class NumberSeries(models.Model):
    """The last number used per organization, document kind and (with yearly reset) year.
    Locked FOR UPDATE while a number is taken, inside the issuing transaction: no gaps, no
    duplicates, also under concurrent issuing."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()  # 0 when numbering does not restart yearly
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "year"], name="number_series_unique")
        ]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last_number}"


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    VOID = "void", _("Void")


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", _("Invoice")
    LATE_FEE = "late_fee", _("Late fee")


# The invoice rules, one home each (docs/architecture.md "Where each rule lives"). The same rules
# for raw SQL are in invoicing/invoice_sql.py; tests/invoicing/test_rule_homes.py proves both
# select the same invoices. `today`/`day` is always the organization's date (Organization.today).
def open_q(via: str = "") -> Q:
    """Open: issued with an amount due. `via`: the path to the invoice from another model's
    queryset, e.g. "invoice__" for promises or disputes."""
    return Q(**{f"{via}status": InvoiceStatus.ISSUED, f"{via}amount_due__gt": 0})


OPEN_Q = open_q()


def overdue_q(today) -> Q:
    return OPEN_Q & Q(due_date__lt=today)


def disputed_q(day) -> Q:
    """Disputed on `day` (on hold): a dispute is recorded, its end date, if any, is not yet past, and
    it covers the whole amount due (`disputed_amount` empty, or at least the amount due). A partial
    dispute holds only its part: the rest is chased (reminders state the undisputed amount)."""
    return (Q(disputed_at__isnull=False) & (Q(dispute_until__isnull=True) | Q(dispute_until__gte=day))
            & (Q(disputed_amount__isnull=True) | Q(disputed_amount__gte=F("amount_due"))))


def not_disputed_q(day) -> Q:
    return Q(disputed_at__isnull=True) | Q(dispute_until__lt=day) | Q(disputed_amount__lt=F("amount_due"))


# Void: only an issued invoice to which nothing is applied (payments, credits, write-offs).
CAN_VOID_Q = Q(status=InvoiceStatus.ISSUED, amount_paid=0, amount_credited=0, amount_written_off=0)
# Write off: an issued invoice with an amount due (an open one).
CAN_WRITE_OFF_Q = OPEN_Q


class InvoiceQuerySet(models.QuerySet):
    def open(self):
        return self.filter(OPEN_Q)

    def overdue(self, today=None):
        return self.filter(overdue_q(today or today_in()))

    def disputed_on(self, day):
        return self.filter(disputed_q(day))

    def not_disputed_on(self, day):
        return self.filter(not_disputed_q(day))

    def can_void(self):
        return self.filter(CAN_VOID_Q)

    def can_write_off(self):
        return self.filter(CAN_WRITE_OFF_Q)


# The invoice list's sorts, in one place (issue 23): ?sort=<key> or -<key> -> ORDER BY column, then id.
# Each column gets the index (organization, column, id) below, so any page of the list is an index
# range scan (backwards for descending) that stops after 50 rows, never a sort of the organization.


class Invoice(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="invoices")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    kind = models.CharField(max_length=10, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    status = models.CharField(max_length=10, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    number = models.CharField(_("number"), max_length=40, null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    issue_date = models.DateField(_("issue date"))
    due_date = models.DateField(_("due date"))
    reference = models.CharField(_("reference / PO number"), max_length=100, blank=True)
    discount_percent = models.DecimalField(_("invoice discount (%)"), default=ZERO, **PERCENT)
    notes = models.TextField(_("notes"), max_length=5000, blank=True)
    terms = models.TextField(_("terms"), max_length=5000, blank=True)
    # Totals: recomputed from the lines while a draft, frozen when issued.
    subtotal = models.DecimalField(default=ZERO, **AMOUNT)
    discount_total = models.DecimalField(default=ZERO, **AMOUNT)
    tax_total = models.DecimalField(default=ZERO, **AMOUNT)
    total = models.DecimalField(default=ZERO, **AMOUNT)
    # Maintained with the allocation / credit / write-off rows, in the same transaction.
    amount_paid = models.DecimalField(default=ZERO, **AMOUNT)
    amount_credited = models.DecimalField(default=ZERO, **AMOUNT)
    amount_written_off = models.DecimalField(default=ZERO, **AMOUNT)
    amount_due = models.DecimalField(default=ZERO, **AMOUNT)
    snapshot = models.JSONField(null=True, blank=True, editable=False)  # seller, buyer, lines as issued
    issue_entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")
    # The exchange rate this document was posted at: base units per unit of its currency (issue 17,
    # accounts.fx); 1 in the base currency; NULL on documents posted before rates were stored.
    fx_rate = models.DecimalField(_("exchange rate"), max_digits=28, decimal_places=12, null=True, blank=True)
    void_entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, null=True, related_name="+")
    issued_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    related_invoice = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="late_fees")  # a late fee's invoice
    # Dispute hold: shown everywhere, respected by reminders.
    disputed_at = models.DateTimeField(null=True, blank=True)
    dispute_reason = models.CharField(max_length=500, blank=True)
    disputed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    dispute_until = models.DateField(null=True, blank=True)
    disputed_amount = models.DecimalField(null=True, blank=True, **AMOUNT)  # a part only; empty: all of it
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    # Set by a database trigger on every UPDATE (issuing, payments, credits...): the API's updated_since.
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    objects = InvoiceQuerySet.as_manager()

    class Meta:
        ordering = ["-issue_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="invoice_number_unique_per_org"),
            models.CheckConstraint(
                name="invoice_amount_due_consistent",
                condition=(Q(status="void", amount_due=0)
                           | (~Q(status="void")
                              & Q(amount_due=F("total") - F("amount_paid") - F("amount_credited")
                                  - F("amount_written_off")))),
            ),
            models.CheckConstraint(name="invoice_amounts_not_negative",
                                   condition=Q(amount_due__gte=0, amount_paid__gte=0, amount_credited__gte=0,
                                               amount_written_off__gte=0, total__gte=0)),
            models.CheckConstraint(name="invoice_due_after_issue", condition=Q(due_date__gte=F("issue_date"))),
            models.CheckConstraint(name="invoice_issued_has_number",
                                   condition=Q(status="draft") | Q(number__isnull=False)),
        ]
        indexes = [
            # The global search: a trigram index on number/reference where the database has pg_trgm
            # (accounts/search_indexes.py); the amount typed uses invoice_list_total below.
            # Open by customer (allocation order, statements) and, covering currency and amount due, the
            # sub-ledger check's open amounts of the customers an incremental check touches (index-only;
            # "<> 0" so that check's predicate matches, and "> 0" queries are implied by it).
            models.Index(fields=["organization", "customer", "due_date"], name="invoice_open_by_customer",
                         include=["currency", "amount_due"], condition=Q(status="issued") & ~Q(amount_due=0)),
            models.Index(fields=["organization", "status", "issue_date"]),
            # One per sort the invoice list offers (ledger_site.sorting); the total's serves search too.
            *[models.Index(fields=["organization", column, "id"], name=f"invoice_list_{column}")
              for column in indexed_columns("invoices")],
            # The list's open and overdue filters in its default order (newest issued first): due_date
            # is a trailing key so "due before today" is checked inside the index, not on the heap rows
            # of the ~20,000 newest invoices that are not yet due (1M invoices: 40 -> 5 ms).
            models.Index(fields=["organization", "issue_date", "id", "due_date"], name="invoice_list_open_issued",
                         condition=Q(status="issued", amount_due__gt=0)),
            # For reports: open invoices by due date (aging, dashboard, forecast), sales by day, by id
            # with what the as-of sums read (index-only under row-level security).
            models.Index(fields=["organization", "due_date"], name="rep_invoice_open_due",
                         include=["customer", "amount_due", "issue_date", "currency", "id"],
                         condition=Q(status="issued", amount_due__gt=0)),
            models.Index(fields=["organization", "issue_date"], name="rep_invoice_issued_day",
                         include=["total", "currency", "status", "customer"], condition=~Q(status="draft")),
            models.Index(fields=["id"], name="rep_invoice_id_cover",
                         include=["organization", "customer", "currency", "issue_date", "due_date", "total", "status",
                                  "void_entry"]),
            # For the aging from a period-end snapshot: voided invoices (a few hundred of a million).
            models.Index(fields=["organization"], name="rep_invoice_voided", include=["void_entry"],
                         condition=Q(void_entry__isnull=False)),
            # For the reminder scan: open ordinary invoices by due date.
            models.Index(fields=["organization", "due_date"], name="reminders_open_invoice_due", include=["customer"],
                         condition=Q(status="issued", amount_due__gt=0, kind="invoice")),
            models.Index(fields=["organization", "updated_at"], name="invoice_updated"),
            # Open invoices on dispute hold (a few): the dashboard's "in dispute" today.
            models.Index(fields=["organization", "currency"], name="invoice_on_hold",
                         condition=Q(disputed_at__isnull=False, status="issued", amount_due__gt=0)),
        ]

    def __str__(self):
        return self.number or f"Draft #{self.pk}"

    @property
    def fx_rate_text(self) -> str:
        """The stored exchange rate as people read it (accounts.fx.rate_text)."""
        from accounts.fx import rate_text

        return rate_text(self.fx_rate)

    @property
    def booked_base(self):
        """The total in the base currency as the issue entry booked it (issue 17), None before."""
        from accounts.ledger import booked_base

        return booked_base(self.issue_entry_id) if self.issue_entry_id else None

    @property
    def is_draft(self):
        return self.status == InvoiceStatus.DRAFT

    @property
    def today(self):
        """Today in the invoice's organization (its time zone), not the server's date."""
        return organization_of(self).today()

    @property
    def is_open(self) -> bool:
        """OPEN_Q: issued and something is still due."""
        return self.status == InvoiceStatus.ISSUED and self.amount_due > 0

    def is_overdue_on(self, today) -> bool:
        """overdue_q: open and the due date is before `today`."""
        return self.is_open and self.due_date < today

    def is_disputed_on(self, day) -> bool:
        """disputed_q: a dispute is recorded, its end date, if any, is not before `day`, and it covers
        the whole amount due."""
        return (self.disputed_at is not None and (self.dispute_until is None or self.dispute_until >= day)
                and (self.disputed_amount is None or self.disputed_amount >= self.amount_due))

    def disputed_part_on(self, day) -> Decimal:
        """How much of the amount due is in dispute on `day` (all of it while on hold)."""
        if self.disputed_at is None or (self.dispute_until is not None and self.dispute_until < day):
            return ZERO
        return min(self.amount_due, self.amount_due if self.disputed_amount is None else self.disputed_amount)

    @property
    def can_void(self) -> bool:
        """CAN_VOID_Q: issued, and no payment, credit or write-off is applied to it."""
        return (self.status == InvoiceStatus.ISSUED and not self.amount_paid and not self.amount_credited
                and not self.amount_written_off)

    @property
    def can_write_off(self) -> bool:
        """CAN_WRITE_OFF_Q: an open invoice."""
        return self.is_open

    @property
    def is_disputed(self):
        return self.is_disputed_on(self.today)

    @property
    def is_overdue(self):
        return self.is_overdue_on(self.today)

    @property
    def days_overdue(self) -> int:
        return max(0, (self.today - self.due_date).days) if self.is_overdue else 0

    @property
    def display_status(self) -> str:
        """draft, void, paid, written_off, partially_paid, overdue or open."""
        if self.status != InvoiceStatus.ISSUED:
            return self.status
        if self.amount_due == 0:
            return "written_off" if self.amount_written_off and not self.amount_paid else "paid"
        if self.is_overdue:
            return "overdue"
        if self.amount_due < self.total:
            return "partially_paid"
        return "open"


# The fields a person types on a line, in the editor's order: what a line carries from a quote or a
# schedule to an invoice (`DocumentLine.entry`) and back into the editor (`editor_row`).
LINE_ENTRY_FIELDS = ("description", "quantity", "unit", "unit_price", "discount_percent", "tax_rate", "item")


class DocumentLine(models.Model):
    """The one line rule of invoices, quotes and recurring schedules: the same fields, the same
    limits, and the amounts by invoicing.totals (`amounts`). InvoiceLine, QuoteLine and
    RecurringLine add their document and what each stores of the amounts."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    description = models.CharField(_("description"), max_length=500)
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3,
                                   validators=[MinValueValidator(Decimal("0.001"))])
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    unit_price = models.DecimalField(_("unit price"), max_digits=18, decimal_places=4,
                                     validators=[MinValueValidator(Decimal("0"))])
    discount_percent = models.DecimalField(_("discount (%)"), default=ZERO, **PERCENT)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The catalogue item the line was filled from (invoicing.models_items); the line keeps its own copy.
    item = models.ForeignKey("invoicing.Item", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        abstract = True
        ordering = ["position", "pk"]

    def __str__(self):
        return self.description

    def rate_percent(self) -> Decimal:
        """The tax rate's percent now (0 without a rate); a stored line freezes it in `tax_percent`."""
        return self.tax_rate.percent if self.tax_rate_id else ZERO

    def amounts(self, currency: str, invoice_discount_percent: Decimal = ZERO, tax_percent: Decimal | None = None):
        """Gross, net and tax of this line (invoicing.totals.line_amounts); `tax_percent`: the
        frozen percent of a stored line, else the rate's."""
        from invoicing.totals import line_amounts

        return line_amounts(self.quantity, self.unit_price, self.discount_percent, invoice_discount_percent,
                            self.rate_percent() if tax_percent is None else tax_percent, currency)

    @classmethod
    def from_entry(cls, org, position: int, entry: dict, **document):
        """A new line from what the save services take (`entry`); `document`: invoice=, quote= or schedule=."""
        return cls(organization=org, position=position, description=entry["description"],
                   quantity=entry["quantity"], unit=entry.get("unit", ""), unit_price=entry["unit_price"],
                   discount_percent=entry.get("discount_percent") or ZERO, tax_rate=entry.get("tax_rate"),
                   item=entry.get("item"), **document)

    def entry(self) -> dict:
        """The line as the save services take it (save_draft, save_quote, save_schedule)."""
        return {name: getattr(self, name) for name in LINE_ENTRY_FIELDS}

    def editor_row(self, plain) -> dict:
        """The line as the editor's line formset shows it; `plain` writes a number as typed."""
        return {"description": self.description, "quantity": plain(self.quantity), "unit": self.unit,
                "unit_price": plain(self.unit_price), "discount_percent": plain(self.discount_percent),
                "tax_rate": self.tax_rate_id, "item": self.item_id}


class InvoiceLine(DocumentLine):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    tax_percent = models.DecimalField(default=ZERO, **PERCENT)  # the rate's percent, frozen on the line
    gross_amount = models.DecimalField(default=ZERO, **AMOUNT)  # quantity × price less the line discount
    net_amount = models.DecimalField(default=ZERO, **AMOUNT)  # after the invoice-level discount too
    tax_amount = models.DecimalField(default=ZERO, **AMOUNT)

    class Meta(DocumentLine.Meta):
        # An invoice's lines under row-level security (the policy adds organization_id to every
        # query): one index answers both conditions. Without it the planner may AND the invoice's
        # index with the organization's, which reads all of the organization's lines for each
        # invoice; the seal trigger does that for every invoice an import inserts (issue 14).
        indexes = [models.Index(fields=["organization", "invoice"], name="invoiceline_org_invoice")]


class CreditNote(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="credit_notes")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="credit_notes")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="credit_notes")
    number = models.CharField(max_length=40)
    currency = models.CharField(max_length=3)
    issue_date = models.DateField()
    reason = models.CharField(_("reason"), max_length=500)
    subtotal = models.DecimalField(default=ZERO, **AMOUNT)
    tax_total = models.DecimalField(default=ZERO, **AMOUNT)
    total = models.DecimalField(default=ZERO, **AMOUNT)
    amount_applied = models.DecimalField(default=ZERO, **AMOUNT)  # maintained with allocation rows
    snapshot = models.JSONField(null=True, editable=False)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    # The exchange rate this document was posted at: base units per unit of its currency (issue 17,
    # accounts.fx); 1 in the base currency; NULL on documents posted before rates were stored.
    fx_rate = models.DecimalField(_("exchange rate"), max_digits=28, decimal_places=12, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-issue_date", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="credit_note_number_unique_per_org"),
            models.CheckConstraint(name="credit_note_applied_within_total",
                                   condition=Q(amount_applied__gte=0, amount_applied__lte=F("total"))),
        ]
        # For reports: credit notes with something unapplied.
        indexes = [models.Index(fields=["organization", "customer"], name="rep_creditnote_unapplied",
                                include=["currency", "issue_date", "total", "amount_applied"],
                                condition=~Q(Exact(F("total") - F("amount_applied"), 0)))]

    def __str__(self):
        return self.number

    @property
    def unapplied(self) -> Decimal:
        return self.total - self.amount_applied


class CreditNoteLine(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, null=True, related_name="+")
    position = models.PositiveIntegerField()
    description = models.CharField(max_length=500)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=18, decimal_places=4)
    tax_percent = models.DecimalField(default=ZERO, **PERCENT)
    net_amount = models.DecimalField(**AMOUNT)
    tax_amount = models.DecimalField(**AMOUNT)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return self.description


class WriteOff(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**AMOUNT)
    reason = models.CharField(max_length=500)
    effective_date = models.DateField()
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    # A reversal (invoicing.services.reverse_write_off) is a negative row pointing at the one it undoes.
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(name="write_off_positive_or_reversal",
                                   condition=Q(amount__gt=0, reverses__isnull=True)
                                   | Q(amount__lt=0, reverses__isnull=False)),
            models.UniqueConstraint(fields=["organization", "reverses"], condition=Q(reverses__isnull=False),
                                    name="write_off_reversed_once"),
        ]
        # For the aging from a period-end snapshot: the invoices written off in (snapshot, day].
        indexes = [models.Index(fields=["organization", "effective_date"], include=["invoice"],
                                name="rep_writeoff_org_day")]

    def __str__(self):
        return f"write-off {self.amount} of {self.invoice_id}"


class InvoiceEvent(models.Model):
    """One line of an invoice's timeline: issued, e-mailed, viewed, paid, credited, reminded..."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=30)
    message = models.CharField(max_length=500)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["invoice", "at"]),
            # Payment behaviour's disputed split (reports.behaviour): the organization's dispute events only.
            models.Index(fields=["organization", "invoice"], include=["at"], condition=models.Q(kind="disputed"),
                         name="invoice_event_disputed"),
        ]

    def __str__(self):
        return f"{self.kind}: {self.message}"


class DisputeHoldChange(models.Model):
    """One change of an invoice's dispute hold, written with it by invoicing.services.set_dispute /
    clear_dispute (the hold's only writers) in the same transaction: from `at` on, the hold said
    `held`, of `amount` (null: the whole amount due) until `until` (null: no end). The hold of a
    past day is the last change at or before the end of that day in the organization's time zone
    (invoice_sql.disputed_part_as_of), so "in dispute on 30 September" has an answer (issue 20)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="hold_changes")
    at = models.DateTimeField(default=timezone.now)
    held = models.BooleanField()
    amount = models.DecimalField(null=True, blank=True, **AMOUNT)
    until = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["invoice", "at"], name="dispute_hold_by_invoice")]

    def __str__(self):
        return f"hold {'on' if self.held else 'off'} for {self.invoice_id} at {self.at}"


class CreditOverride(models.Model):
    """An owner's decision to let an invoice take a customer over its credit limit (or past the
    overdue threshold), with the reason: the audit trail of credit control (invoicing.credit_control).
    Append-only: triggers reject UPDATE, DELETE and TRUNCATE."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    amount = models.DecimalField(**AMOUNT)  # the new exposure asked for
    balance = models.DecimalField(**AMOUNT)  # the customer's balance at the time
    credit_limit = models.DecimalField(**AMOUNT)
    problems = models.CharField(max_length=500)
    reason = models.CharField(max_length=500)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "reports_creditoverride"  # created by reports (migration 0001) before the model moved here
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"credit override for {self.customer_id} by {self.approved_by_id}"


from invoicing.models_bulk import BulkJob, BulkJobRow, BulkJobStatus  # noqa: E402, F401
from invoicing.models_documents import EmailDelivery, PublicLink, StoredDocument  # noqa: E402, F401
from invoicing.models_items import Item, ItemPrice  # noqa: E402, F401
from invoicing.models_quotes import Quote, QuoteLine  # noqa: E402, F401
from invoicing.models_recurring import RecurringLine, RecurringRun, RecurringSchedule  # noqa: E402, F401
