"""Reports pages: the dashboard, aging, open items, statements, insights, forecast, credit control, P&L."""

from django.shortcuts import render

from accounts.models import Customer, Role
from accounts.permissions import org_view


@org_view(Role.VIEWER)
def dashboard(request):
    return render(request, "reports/dashboard.html", {
        "customer_count": Customer.objects.filter(organization=request.org).count(),
    })
