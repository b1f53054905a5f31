"""The customer page's invoicing panel: this customer's invoices, open ones first, and what is overdue."""

from decimal import Decimal

from django.db.models import Case, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When

from accounts.models import Role
from accounts.models_org import today_in
from accounts.permissions import can
from invoicing.models import OPEN_Q, CreditNote, Invoice, InvoiceStatus, overdue_q

PANEL_ROWS = 10


def customer_invoices_panel(request, customer):
    today = today_in(request.org)
    invoices = Invoice.objects.filter(organization=request.org, customer=customer)
    sums = invoices.filter(status=InvoiceStatus.ISSUED).aggregate(
        open=Sum("amount_due"), overdue=Sum("amount_due", filter=Q(due_date__lt=today)),
        open_count=Sum(Case(When(OPEN_Q, then=Value(1)), default=Value(0), output_field=IntegerField())),
    )
    rows = list(invoices.annotate(rank=Case(
        When(OPEN_Q, then=Value(0)),
        When(status=InvoiceStatus.DRAFT, then=Value(1)),
        default=Value(2), output_field=IntegerField(),
    )).order_by("rank", "due_date", "-pk")[:PANEL_ROWS])
    unapplied = CreditNote.objects.filter(organization=request.org, customer=customer).aggregate(
        s=Sum(F("total") - F("amount_applied")))["s"] or Decimal(0)
    return "invoicing/_customer_panel.html", {
        "customer": customer, "invoices": rows, "open_amount": sums["open"] or Decimal(0),
        "overdue_amount": sums["overdue"] or Decimal(0), "open_count": sums["open_count"] or 0,
        "total_count": invoices.count(), "unapplied_credit": unapplied, "can_act": can(request, Role.FINANCE),
    }


def overdue_per_customer(org):
    """The customer list's "Overdue" column: the sum of each customer's overdue amounts due (the
    one overdue rule, overdue_q, on the organization's today)."""
    sums = (Invoice.objects.filter(overdue_q(today_in(org)), organization=org, customer=OuterRef("pk"))
            .order_by().values("customer").annotate(s=Sum("amount_due")).values("s"))
    return Subquery(sums, output_field=DecimalField(max_digits=18, decimal_places=3))


def overdue_sums(org):
    """The same sums as rows (cid, s), one per customer with anything overdue: the customer list
    sorted by "Overdue" joins them once (accounts.views.customers.SortedBySum); read from
    rep_invoice_open_due's index alone."""
    return (Invoice.objects.filter(overdue_q(today_in(org)), organization=org).order_by()
            .annotate(cid=F("customer")).values("cid").annotate(s=Sum("amount_due")).values("cid", "s"))
