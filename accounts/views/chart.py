"""The chart of accounts: everyone reads it; owners add, rename and delete accounts.

System accounts (those the posting rules use) are never deleted, and an account with journal
lines is never deleted either: the journal is append-only and points at it.
"""

from collections import defaultdict

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.forms_ledger import AccountForm
from accounts.ledger_queries import account_balances, accounts_with_lines
from accounts.models import Account, Role
from accounts.permissions import can, org_view


def _rows(org):
    balances = defaultdict(list)
    for (account_id, currency), amount in sorted(account_balances(org).items(), key=lambda kv: kv[0][1]):
        if amount:
            balances[account_id].append((amount, abs(amount), currency))
    used = accounts_with_lines(org)
    return [{"account": a, "balances": balances.get(a.pk, []), "used": a.pk in used,
             "deletable": not a.is_system and a.pk not in used}
            for a in Account.objects.filter(organization=org).order_by("code")]


@org_view(Role.VIEWER)
def chart_of_accounts(request):
    org = request.org
    form = None
    if can(request, Role.OWNER):
        form = AccountForm(org=org, prefix="new")
    return render(request, "ledger/chart.html", {
        "rows": _rows(org), "form": form,
    })


@require_POST
@org_view(Role.OWNER)
def account_create(request):
    org = request.org
    form = AccountForm(request.POST, org=org, prefix="new", instance=Account(organization=org))
    if form.is_valid() and _save(form):
        messages.success(request, _("Account %(code)s “%(name)s” added.")
                         % {"code": form.instance.code, "name": form.instance.name})
        return redirect("chart_of_accounts", org_slug=org.slug)
    return render(request, "ledger/chart.html", {
        "rows": _rows(org), "form": form,
    }, status=400)


@org_view(Role.OWNER)
def account_edit(request, pk):
    org = request.org
    account = get_object_or_404(Account.objects.filter(organization=org), pk=pk)
    locked = account.is_system or pk in accounts_with_lines(org)
    form = AccountForm(request.POST or None, org=org, instance=account, type_locked=locked)
    if request.method == "POST" and form.is_valid() and _save(form):
        messages.success(request, _("Account %(code)s saved.") % {"code": account.code})
        return redirect("chart_of_accounts", org_slug=org.slug)
    return render(request, "ledger/account_form.html", {"form": form, "account": account},
                  status=400 if request.method == "POST" else 200)


def _save(form) -> bool:
    """Save; a code taken by a concurrent request meanwhile becomes a form error."""
    try:
        with transaction.atomic():
            form.save()
    except IntegrityError:
        form.add_error("code", _("Code %(code)s is already used by another account.")
                       % {"code": form.cleaned_data["code"]})
        return False
    return True


@require_POST
@org_view(Role.OWNER)
def account_delete(request, pk):
    org = request.org
    account = get_object_or_404(Account.objects.filter(organization=org), pk=pk)
    if account.is_system:
        messages.error(request, _("%(name)s is a system account used by the posting rules; it cannot be "
                                  "deleted. You can rename it.") % {"name": account.name})
        return redirect("chart_of_accounts", org_slug=org.slug)
    if account.pk in accounts_with_lines(org):
        messages.error(request, _("%(name)s has journal entries; an account with postings cannot be "
                                  "deleted.") % {"name": account.name})
        return redirect("chart_of_accounts", org_slug=org.slug)
    try:
        with transaction.atomic():
            account.delete()
    except (ProtectedError, IntegrityError):
        messages.error(request, _("%(name)s is in use and cannot be deleted.") % {"name": account.name})
        return redirect("chart_of_accounts", org_slug=org.slug)
    messages.success(request, _("Account %(code)s “%(name)s” deleted.") % {"code": account.code,
                                                                           "name": account.name})
    return redirect("chart_of_accounts", org_slug=org.slug)
