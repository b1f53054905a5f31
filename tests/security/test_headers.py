"""Strict headers: CSP without inline code, Permissions-Policy, no caching of signed-in pages (issue 22, #7)."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_org

ROOT = Path(__file__).resolve().parents[2]
PDF_TEMPLATES = ("templates/invoicing/pdf/", "templates/reports/pdf/", "templates/payments/receipt_pdf.html",
                 # HTML e-mail bodies: read in a mail client, never served under our CSP (clients drop <link>)
                 "templates/reports/email/")


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_signed_in_pages_get_a_strict_csp_permissions_policy_and_no_store():
    org, owner = make_org(slug="headers")
    client = Client()
    client.force_login(owner)
    for name in ("dashboard", "customer_list", "invoice_list", "aging_report", "member_list"):
        response = client.get(reverse(name, kwargs={"org_slug": org.slug}))
        assert response.status_code == 200, name
        csp = directives(response)
        assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], name
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"] and csp["base-uri"] == ["'none'"]
        assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]
        assert response["Cache-Control"] == "private, no-store", name


@pytest.mark.django_db
def test_anonymous_pages_get_the_csp_too_but_may_be_cached_by_the_browser():
    response = Client().get(reverse("login"))
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "no-store" not in response.get("Cache-Control", "")


def test_no_template_has_inline_script_handlers_or_styles():
    """What the CSP would block: an inline <script>, an on...= handler, a style attribute or element
    (PDF templates excepted: WeasyPrint renders them, no browser; so are HTML e-mail bodies)."""
    offenders = []
    for path in sorted((ROOT / "templates").rglob("*.html")) + sorted(ROOT.glob("*/templates/**/*.html")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(PDF_TEMPLATES):
            continue
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)[^>]*>", r"\son[a-z]+\s*=", r"\sstyle\s*=", r"<style\b",
                        r"javascript:"):
            if re.search(pattern, text, re.I):
                offenders.append((rel, pattern))
    assert offenders == []


def test_no_script_writes_inline_handlers_or_evaluates_text():
    for path in (ROOT / "static/js").glob("*.js"):
        text = path.read_text()
        assert not re.search(r"\beval\(|new Function\(|setAttribute\(\s*[\"']on|\.innerHTML\s*=.*style=", text), path
