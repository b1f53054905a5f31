"""Shared by the document tests (PDF, e-mail, public link): an organization with details, a
customer with billing e-mails, PDF text and PNG extraction with poppler."""

import subprocess
import tempfile
from pathlib import Path

from tests.factories import CustomerFactory, make_org

PNG_DIR = Path(tempfile.gettempdir()) / "ledgerline-pdf-pngs"


def make_billing_org(**fields):
    fields.setdefault("name", "Northwind Tools Ltd")
    fields.setdefault("address", "12 Harbour Road\nBristol BS1 4RN\nUnited Kingdom")
    fields.setdefault("tax_id", "GB 123 4567 89")
    return make_org(**fields)


def make_billing_customer(org, **fields):
    fields.setdefault("name", "Contoso Trading GmbH")
    fields.setdefault("billing_emails", "ap@contoso.example, finance@contoso.example")
    fields.setdefault("billing_address", "Hauptstraße 5\n10115 Berlin\nGermany")
    fields.setdefault("contact_person", "Jana Berg")
    fields.setdefault("tax_id", "DE811907980")
    fields.setdefault("currency", "EUR")
    return CustomerFactory(organization=org, **fields)


def pdf_pages_text(pdf: bytes) -> list[str]:
    """The text of each page (pdftotext -layout), split on form feeds."""
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    pages = out.decode("utf-8").split("\f")
    return [p for p in pages if p.strip()]


def pdf_to_pngs(pdf: bytes, name: str, resolution: int = 60) -> list[Path]:
    """Render every page to PNG (pdftoppm) under PNG_DIR/<name>-N.png, to look at."""
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    for old in PNG_DIR.glob(f"{name}-*.png"):
        old.unlink()
    src = PNG_DIR / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(resolution), "-png", str(src), str(PNG_DIR / name)], check=True)
    return sorted(PNG_DIR.glob(f"{name}-*.png"))


class World:
    """An organization with invoice settings, a customer, and a member of each role."""

    def __init__(self):
        from accounts.models import Role
        from invoicing.models import InvoiceSettings
        from ledger_site.tenancy import tenant_context
        from tests.factories import add_member

        self.org, self.owner = make_billing_org()
        self.finance = add_member(self.org, Role.FINANCE)
        self.viewer = add_member(self.org, Role.VIEWER)
        with tenant_context(self.org):
            self.customer = make_billing_customer(self.org)
            s = InvoiceSettings.objects.get(organization=self.org)
            s.bank_details = "IBAN GB33 BUKB 2020 1555 5555 55\nBIC BUKBGB22"
            s.save()

    def ctx(self):
        """Re-enter the tenant context (a test-client request resets it when it ends)."""
        from ledger_site.tenancy import tenant_context

        return tenant_context(self.org)

    def url(self, name, **kwargs):
        from django.urls import reverse

        return reverse(name, kwargs={"org_slug": self.org.slug, **kwargs})


def documents_world(db, settings):
    """Fixture body: `doc_world = pytest.fixture(documents_world)` in a test module. The test runs
    inside the organization's tenant context."""
    from ledger_site.tenancy import tenant_context

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test users

    world = World()
    with tenant_context(world.org):
        yield world


def pdf_text_pypdf(pdf: bytes) -> str:
    """All text through pypdf, which also reads rotated text (the watermark)."""
    import io

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
