"""The tax rates proposed for an organization's country (issue 21 point 9): a new organization
starts with one 20% rate, which is wrong in most countries. The tax-rates page proposes the
country's VAT/GST rates, adds them in one click (owners), and points at active rates the country
does not have.

The table holds national standard and main reduced rates as in force at the start of 2026. Rates
change: the page says to check them, and nothing is ever added without an owner's click.
Countries without one national rate (the United States' state sales taxes) are not listed.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invoicing.models import TaxRate

STANDARD, REDUCED, SUPER = gettext_lazy("Standard"), gettext_lazy("Reduced"), gettext_lazy("Super-reduced")
VAT, GST = "VAT", "GST"

# ISO country -> (tax name, [(kind, percent)]), standard rate first.
COUNTRY_RATES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "AT": (VAT, [(STANDARD, "20"), (REDUCED, "13"), (REDUCED, "10")]),
    "BE": (VAT, [(STANDARD, "21"), (REDUCED, "12"), (REDUCED, "6")]),
    "DE": (VAT, [(STANDARD, "19"), (REDUCED, "7")]),
    "DK": (VAT, [(STANDARD, "25")]),
    "ES": (VAT, [(STANDARD, "21"), (REDUCED, "10"), (SUPER, "4")]),
    "FR": (VAT, [(STANDARD, "20"), (REDUCED, "10"), (REDUCED, "5.5"), (SUPER, "2.1")]),
    "GB": (VAT, [(STANDARD, "20"), (REDUCED, "5")]),
    "IE": (VAT, [(STANDARD, "23"), (REDUCED, "13.5")]),
    "IT": (VAT, [(STANDARD, "22"), (REDUCED, "10"), (REDUCED, "5"), (SUPER, "4")]),
    "LU": (VAT, [(STANDARD, "17"), (REDUCED, "14"), (REDUCED, "8"), (SUPER, "3")]),
    "NL": (VAT, [(STANDARD, "21"), (REDUCED, "9")]),
    "PL": (VAT, [(STANDARD, "23"), (REDUCED, "8"), (REDUCED, "5")]),
    "PT": (VAT, [(STANDARD, "23"), (REDUCED, "13"), (REDUCED, "6")]),
    "SE": (VAT, [(STANDARD, "25"), (REDUCED, "12"), (REDUCED, "6")]),
    "CH": (VAT, [(STANDARD, "8.1"), (REDUCED, "3.8"), (REDUCED, "2.6")]),
    "NO": (VAT, [(STANDARD, "25"), (REDUCED, "15"), (REDUCED, "12")]),
    "AU": (GST, [(STANDARD, "10")]),
    "NZ": (GST, [(STANDARD, "15")]),
    "CA": (GST, [(STANDARD, "5")]),
    "IN": (GST, [(STANDARD, "18"), (REDUCED, "5")]),
}


@dataclass
class Proposed:
    name: str
    percent: Decimal
    state: str  # "in_use", "archived" (restored on adding) or "missing" (created on adding)


@dataclass
class Proposal:
    country: str
    rates: list[Proposed]
    foreign: list[TaxRate]  # active, non-zero rates this country does not have

    @property
    def to_add(self) -> list[Proposed]:
        return [r for r in self.rates if r.state != "in_use"]


def proposal(org) -> Proposal | None:
    """What the organization's country would add; None without a country or one not in the table."""
    known = COUNTRY_RATES.get((org.country or "").upper())
    if known is None:
        return None
    tax, rates = known
    existing = list(TaxRate.objects.filter(organization=org))
    active = {r.percent for r in existing if not r.archived}
    archived = {r.percent for r in existing if r.archived}
    proposed = []
    for kind, text in rates:
        percent = Decimal(text)
        state = "in_use" if percent in active else "archived" if percent in archived else "missing"
        proposed.append(Proposed(f"{kind} {tax} {text}%", percent, state))
    wanted = {p.percent for p in proposed}
    foreign = [r for r in existing if not r.archived and r.percent and r.percent not in wanted]
    return Proposal(org.country.upper(), proposed, foreign)


@transaction.atomic
def add_proposed(org) -> list[str]:
    """Add the country's rates the organization lacks (restoring archived ones of the same
    percent); returns their names. Existing rates are never changed otherwise."""
    found = proposal(org)
    if found is None:
        return []
    added = []
    for rate in found.to_add:
        if rate.state == "archived":
            TaxRate.objects.filter(organization=org, percent=rate.percent, archived=True).update(archived=False)
            added.append(rate.name)
            continue
        name = rate.name
        if TaxRate.objects.filter(organization=org, name=name).exists():
            name = _("%(name)s (proposed)") % {"name": name}
        TaxRate.objects.create(organization=org, name=name[:60], percent=rate.percent)
        added.append(name)
    return added
