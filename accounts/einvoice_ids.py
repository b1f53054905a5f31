"""Electronic addresses for e-invoices (Peppol BIS Billing 3.0): an endpoint id and its scheme.

The scheme is a code of the Electronic Address Scheme (EAS) list that Peppol publishes; the ones
below are those most used in Europe and the other Peppol countries. Organizations and customers
carry one each (`endpoint_scheme`, `endpoint_id`); a Peppol UBL invoice names both parties by it.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

EAS_SCHEMES = [
    ("0002", "0002 — FR SIRENE"), ("0007", "0007 — SE Organisationsnummer"), ("0009", "0009 — FR SIRET"),
    ("0037", "0037 — FI LY-tunnus"), ("0060", "0060 — DUNS"), ("0088", "0088 — GLN (GS1)"),
    ("0096", "0096 — DK P-number"), ("0106", "0106 — NL KvK"), ("0130", "0130 — EU institutions"),
    ("0135", "0135 — IT SIA"), ("0151", "0151 — AU ABN"), ("0184", "0184 — DK CVR"),
    ("0188", "0188 — JP Corporate number"), ("0190", "0190 — NL OIN"), ("0192", "0192 — NO Organisasjonsnummer"),
    ("0195", "0195 — SG UEN"), ("0196", "0196 — IS Kennitala"), ("0198", "0198 — DK SE-number"),
    ("0204", "0204 — DE Leitweg-ID"), ("0208", "0208 — BE enterprise number"), ("0209", "0209 — GS1 identification"),
    ("0211", "0211 — IT Partita IVA"), ("0213", "0213 — FI OVT"), ("0216", "0216 — FI OVTcode"),
    ("0221", "0221 — JP invoice registration"), ("0230", "0230 — MY national e-invoicing"),
    ("9901", "9901 — DK CPR"), ("9906", "9906 — IT VAT"), ("9910", "9910 — HU VAT"),
    ("9914", "9914 — AT UID"), ("9915", "9915 — AT VKZ"), ("9918", "9918 — IBAN"), ("9919", "9919 — AT Firmenbuch"),
    ("9920", "9920 — ES VAT"), ("9922", "9922 — AD VAT"), ("9923", "9923 — AL VAT"), ("9924", "9924 — BA VAT"),
    ("9925", "9925 — BE VAT"), ("9926", "9926 — BG VAT"), ("9927", "9927 — CH VAT"), ("9928", "9928 — CY VAT"),
    ("9929", "9929 — CZ VAT"), ("9930", "9930 — DE VAT"), ("9931", "9931 — EE VAT"), ("9932", "9932 — GB VAT"),
    ("9933", "9933 — GR VAT"), ("9934", "9934 — HR VAT"), ("9935", "9935 — IE VAT"), ("9936", "9936 — LI VAT"),
    ("9937", "9937 — LT VAT"), ("9938", "9938 — LU VAT"), ("9939", "9939 — LV VAT"), ("9940", "9940 — MC VAT"),
    ("9941", "9941 — ME VAT"), ("9942", "9942 — MK VAT"), ("9943", "9943 — MT VAT"), ("9944", "9944 — NL VAT"),
    ("9945", "9945 — PL VAT"), ("9946", "9946 — PT VAT"), ("9947", "9947 — RO VAT"), ("9948", "9948 — RS VAT"),
    ("9949", "9949 — SI VAT"), ("9950", "9950 — SK VAT"), ("9951", "9951 — SM VAT"), ("9952", "9952 — TR VAT"),
    ("9953", "9953 — VA VAT"), ("9957", "9957 — FR VAT"), ("9959", "9959 — US EIN"),
]
ENDPOINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.:_/-]{0,49}$")


def validate_endpoint_id(value: str) -> None:
    if value and not ENDPOINT_ID.match(value):
        raise ValidationError(_("Letters, digits and . : _ / - only, no spaces, at most 50 characters."))


def clean_endpoint(scheme: str, endpoint: str) -> dict[str, str]:
    """Errors by field when only one of the pair is given (both or neither)."""
    if endpoint and not scheme:
        return {"endpoint_scheme": _("Choose the scheme of the endpoint id.")}
    if scheme and not endpoint:
        return {"endpoint_id": _("Give the endpoint id for this scheme, or choose no scheme.")}
    return {}
