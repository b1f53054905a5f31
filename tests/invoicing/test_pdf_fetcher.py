"""The renderer fetches nothing the template does not own; the logo upload is validated."""

import http.server
import io
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pypdf import PdfReader

from invoicing import pdf as pdfmod
from invoicing.models import InvoiceSettings
from invoicing.pdf import FetchRefused, check_url, html_to_pdf, render_invoice_pdf, restricted_fetcher, static_dir
from tests.documents_helpers import documents_world
from tests.invoicing_helpers import issued

doc_world = pytest.fixture(documents_world)

TINY_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
            "hKmMIQAAAABJRU5ErkJggg==")


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def http_listener():
    """A real HTTP server on 127.0.0.1 that records every request it gets."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def png_bytes(size=(40, 20), fmt="PNG", color=(47, 91, 211)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format=fmt)
    return buf.getvalue()


# --- the fetcher, directly ----------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "file://localhost/etc/passwd",
    "file://evil.example/etc/passwd",
    "http://127.0.0.1:1/logo.png",
    "https://example.com/logo.png",
    "ftp://example.com/x",
    "FILE:///etc/hostname",
    "javascript:alert(1)",
    "gopher://127.0.0.1/",
])
def test_the_fetcher_refuses_anything_outside_the_template(url):
    fetcher = restricted_fetcher()
    with pytest.raises(FetchRefused):
        fetcher.fetch(url)


def test_the_fetcher_refuses_paths_that_climb_out_of_static():
    static = static_dir()
    fetcher = restricted_fetcher()
    for url in [f"{static.as_uri()}/../ledger_site/settings.py", f"{static.as_uri()}/%2e%2e/manage.py",
                f"{static.as_uri()}/../../../../etc/passwd"]:
        with pytest.raises(FetchRefused):
            fetcher.fetch(url)


def test_the_fetcher_opens_static_files_and_small_data_urls():
    fetcher = restricted_fetcher()
    css = static_dir() / "css" / "app.css"
    response = fetcher.fetch(css.as_uri())
    assert response.read() == css.read_bytes()
    response.close()
    assert fetcher.fetch(TINY_PNG).read().startswith(b"\x89PNG")
    with pytest.raises(FetchRefused):
        fetcher.fetch("data:text/plain;base64," + "A" * (pdfmod.MAX_DATA_URL + 10))


def test_a_symlink_in_static_pointing_outside_is_refused(tmp_path, settings):
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "ok.css").write_text("p { color: red }")
    (tmp_path / "static" / "leak.css").symlink_to("/etc/passwd")
    settings.BASE_DIR = tmp_path
    fetcher = restricted_fetcher()
    assert fetcher.fetch((tmp_path / "static" / "ok.css").as_uri()).read() == b"p { color: red }"
    with pytest.raises(FetchRefused):
        fetcher.fetch((tmp_path / "static" / "leak.css").as_uri())


def test_only_the_given_logo_file_in_media_is_allowed(tmp_path):
    mine, theirs = tmp_path / "org1-logo.png", tmp_path / "org2-logo.png"
    mine.write_bytes(png_bytes())
    theirs.write_bytes(png_bytes())
    fetcher = restricted_fetcher(mine)
    assert fetcher.fetch(mine.as_uri()).read().startswith(b"\x89PNG")
    with pytest.raises(FetchRefused):
        fetcher.fetch(theirs.as_uri())


@settings(deadline=None, max_examples=150)
@given(path=st.lists(st.sampled_from(["..", ".", "css", "js", "img", "app.css", "etc", "passwd", "%2e%2e",
                                      "", "static", "x.png"]), max_size=8),
       scheme=st.sampled_from(["file://", "file://localhost", "http://", "https://", "ftp://", ""]))
def test_property_a_url_is_allowed_only_if_it_resolves_to_a_file_under_static(path, scheme):
    static = static_dir()
    url = scheme + str(static) + "/" + "/".join(path)
    try:
        check_url(url, static, None)
        allowed = True
    except FetchRefused:
        allowed = False
    from urllib.parse import unquote

    target = Path(unquote(str(static) + "/" + "/".join(path))).resolve()
    expected = scheme in ("file://", "file://localhost") and target.is_relative_to(static) and target.is_file()
    assert allowed == expected


# --- through WeasyPrint -------------------------------------------------------------------

def test_a_raw_template_with_local_and_remote_references_fetches_nothing(http_listener):
    base, hits = http_listener
    calls = []
    fetcher = restricted_fetcher()
    original = fetcher.fetch

    def spy(url, headers=None):
        try:
            result = original(url, headers)
        except FetchRefused:
            calls.append((url, "refused"))
            raise
        calls.append((url, "fetched"))
        return result

    fetcher.fetch = spy
    html = (f'<html><head><link rel="stylesheet" href="{base}/style.css"></head><body>'
            f'<img src="file:///etc/passwd"><img src="{base}/logo.png"><p>hello</p>'
            f'<div style="background: url({base}/bg.png)">x</div></body></html>')
    pdf = html_to_pdf(html, fetcher)
    assert pdf.startswith(b"%PDF")
    assert hits == []  # the HTTP server never saw a request
    refused = {url for url, outcome in calls if outcome == "refused"}
    assert "file:///etc/passwd" in refused and f"{base}/logo.png" in refused
    assert all(outcome == "refused" for _, outcome in calls)


def test_markup_in_lines_and_notes_is_printed_as_text_and_fetches_nothing(doc_world, http_listener):
    base, hits = http_listener
    invoice = issued(doc_world.org, doc_world.customer, notes=f'<link rel="stylesheet" href="{base}/n.css"> notes',
                     lines=(('<img src="file:///etc/passwd">', "1", "10.00", "20"),
                            (f'<img src="{base}/x.png"> widget', "2", "5.00", "20")))
    text = " ".join(pdfmod_text(render_invoice_pdf(invoice)).split())
    assert '<img src="file:///etc/passwd">' in text and f'<img src="{base}/x.png"> widget' in text
    assert hits == []


def pdfmod_text(pdf: bytes) -> str:
    from tests.documents_helpers import pdf_pages_text

    return "\n".join(pdf_pages_text(pdf))


# --- the logo -----------------------------------------------------------------------------

@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def test_an_uploaded_logo_appears_in_the_pdf(doc_world, client, media):
    client.force_login(doc_world.owner)
    upload = SimpleUploadedFile("brand.png", png_bytes((300, 120)), content_type="image/png")
    response = client.post(doc_world.url("invoice_logo"), {"logo": upload})
    assert response.status_code == 302
    with doc_world.ctx():
        s = InvoiceSettings.objects.get(organization=doc_world.org)
        assert s.logo.name.startswith(f"logos/org{doc_world.org.pk}-logo") and s.logo.name.endswith(".png")
        invoice = issued(doc_world.org, doc_world.customer)
        pdf = render_invoice_pdf(invoice)
    images = [img for page in PdfReader(io.BytesIO(pdf)).pages for img in page.images]
    assert len(images) == 1
    assert client.get(doc_world.url("invoice_logo_image")).content == png_bytes((300, 120))


@pytest.mark.parametrize("name, content, message", [
    ("notes.png", b"this is not an image at all", "Upload a valid image"),
    ("anim.gif", png_bytes(fmt="GIF"), "PNG or JPEG"),
    ("huge.png", None, "larger than 1 MB"),
    ("wide.png", png_bytes((4100, 10)), "too large"),
], ids=["not-an-image", "gif", "over-1mb", "too-wide"])
def test_a_bad_logo_is_refused_with_a_message_and_nothing_changes(doc_world, client, media, name, content, message):
    if content is None:  # over 1 MB: noise does not compress
        import os

        img = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
        buf = io.BytesIO()
        img.save(buf, format="PNG")
        content = buf.getvalue()
        assert len(content) > 1024 * 1024
    client.force_login(doc_world.owner)
    response = client.post(doc_world.url("invoice_logo"), {"logo": SimpleUploadedFile(name, content)})
    assert response.status_code == 200
    assert message in response.content.decode()
    with doc_world.ctx():
        assert not InvoiceSettings.objects.get(organization=doc_world.org).logo
    assert not (media / "logos").exists() or not any((media / "logos").iterdir())


def test_only_owners_upload_a_logo_and_removal_asks_first(doc_world, client, media):
    client.force_login(doc_world.finance)
    assert client.get(doc_world.url("invoice_logo")).status_code == 403
    client.force_login(doc_world.owner)
    client.post(doc_world.url("invoice_logo"), {"logo": SimpleUploadedFile("a.jpg", png_bytes(fmt="JPEG"))})
    with doc_world.ctx():
        path = Path(InvoiceSettings.objects.get(organization=doc_world.org).logo.path)
    assert path.exists() and path.suffix == ".jpg"
    assert client.get(doc_world.url("invoice_logo_remove")).status_code == 200  # the confirmation page
    with doc_world.ctx():
        assert InvoiceSettings.objects.get(organization=doc_world.org).logo
    assert client.post(doc_world.url("invoice_logo_remove")).status_code == 302
    with doc_world.ctx():
        assert not InvoiceSettings.objects.get(organization=doc_world.org).logo
    assert not path.exists()
