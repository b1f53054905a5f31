"""The customer page's payments panel: unapplied credit (payments and credit notes)
with Apply / Refund buttons, and the latest payments."""

from accounts.models import Role
from accounts.permissions import can
from payments.models import Payment
from payments.services import open_invoices, unapplied_sources

RECENT = 5


def customer_payments_panel(request, customer):
    sources = unapplied_sources(customer)
    recent = list(Payment.objects.filter(organization=request.org, customer=customer)
                  .order_by("-received_date", "-pk")[:RECENT])
    return "payments/_customer_panel.html", {
        "customer": customer,
        "unapplied": sum((s.unapplied for s in sources), 0),
        "sources": [{"kind": "payment" if isinstance(s, Payment) else "credit_note", "obj": s} for s in sources],
        "recent": recent, "payment_count": len(recent),
        "open_count": open_invoices(customer).exists(),
        "can_act": can(request, Role.FINANCE),
    }
