"""Files attached to a dispute (issue 19 #1): a delivery note or a photo from the customer's link,
or staff's own evidence. The one home of the rules:

* a file's type is decided by its first bytes only (PDF, PNG, JPEG), never by its name or by the
  content type the browser sent; the stored name gets the extension of the real type;
* caps: MAX_FILE_BYTES a file, MAX_DISPUTE_BYTES and MAX_FILES per dispute; the same file twice
  on a dispute is refused (a double submit, not new evidence);
* every file of an upload is checked before anything is stored: one bad file refuses the upload
  and stores nothing;
* rows are written in the caller's transaction (the portal's, with its one-time key), never
  changed or deleted afterwards (the database refuses it and seals each row);
* served only as a download (`response`), with `nosniff` and a cleaned filename.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import PurePath

from django.db import transaction
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.template.defaultfilters import filesizeformat
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from invoicing.services import record_event
from reminders.models_collections import AttachmentType, Dispute, DisputeAttachment

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DISPUTE_BYTES = 15 * 1024 * 1024
MAX_FILES = 10
# The signatures of the accepted types, and the extension a stored name gets.
SIGNATURES = (
    (b"%PDF-", AttachmentType.PDF, "pdf"),
    (b"\x89PNG\r\n\x1a\n", AttachmentType.PNG, "png"),
    (b"\xff\xd8\xff", AttachmentType.JPEG, "jpg"),
)
EXTENSIONS = {content_type: ext for _sig, content_type, ext in SIGNATURES}
UNSAFE_NAME = re.compile(r"[^\w .()+-]+")


class AttachmentError(ValueError):
    pass


@dataclass(frozen=True)
class Checked:
    """An uploaded file that passed every check, ready to store."""

    filename: str
    content_type: str
    content: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


def sniff(content: bytes) -> str | None:
    """The accepted type these bytes start with, or None."""
    for signature, content_type, _ext in SIGNATURES:
        if content.startswith(signature):
            return content_type
    return None


def clean_filename(name: str, content_type: str) -> str:
    """A name safe in a header and on any disk: no folders, no control or quoting characters, at most
    80 characters, ending in the extension of what the file really is ("note.html" that is a PDF
    becomes "note.pdf")."""
    stem = PurePath(unicodedata.normalize("NFC", (name or "").replace("\\", "/"))).name
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    stem = UNSAFE_NAME.sub("_", stem).strip(" ._")[:80] or "attachment"
    return f"{stem}.{EXTENSIONS[content_type]}"


def check(files, dispute: Dispute | None = None) -> list[Checked]:
    """Every uploaded file (Django UploadedFile objects) checked against the rules, or AttachmentError
    naming the first that breaks one. `dispute`: the files are added to it (its files count in the caps)."""
    files = [f for f in files if f is not None]
    used_count, used_bytes, seen = 0, 0, set()
    if dispute is not None:
        used = DisputeAttachment.objects.filter(dispute=dispute).aggregate(n=Count("pk"), b=Sum("size"))
        used_count, used_bytes = used["n"], used["b"] or 0
        seen = set(DisputeAttachment.objects.filter(dispute=dispute).values_list("sha256", flat=True))
    if used_count + len(files) > MAX_FILES:
        raise AttachmentError(
            ngettext(
                "At most %(n)d file can be attached to a dispute.",
                "At most %(n)d files can be attached to a dispute.",
                MAX_FILES,
            )
            % {"n": MAX_FILES}
        )
    checked = []
    for upload in files:
        name = PurePath((upload.name or "").replace("\\", "/")).name[:100]
        # The size the upload handler counted, before reading: an oversized file is never read into memory.
        if upload.size > MAX_FILE_BYTES:
            raise AttachmentError(
                _("%(name)s is %(size)s; a file may be at most %(max)s.")
                % {"name": name, "size": filesizeformat(upload.size), "max": filesizeformat(MAX_FILE_BYTES)}
            )
        content = upload.read(MAX_FILE_BYTES + 1)
        if not content:
            raise AttachmentError(_("%(name)s is empty.") % {"name": name})
        content_type = sniff(content)
        if content_type is None:
            raise AttachmentError(
                _("%(name)s is not a PDF, PNG or JPEG file (whatever its name says); please attach one of those.")
                % {"name": name}
            )
        digest = hashlib.sha256(content).hexdigest()
        if digest in seen:
            raise AttachmentError(_("%(name)s is already attached to this dispute.") % {"name": name})
        seen.add(digest)
        used_bytes += len(content)
        if used_bytes > MAX_DISPUTE_BYTES:
            raise AttachmentError(
                _("The files of a dispute may come to at most %(max)s in all.")
                % {"max": filesizeformat(MAX_DISPUTE_BYTES)}
            )
        checked.append(Checked(clean_filename(name, content_type), content_type, content, digest))
    return checked


def store(dispute: Dispute, files: list[Checked], *, actor=None, link_id=None, ip=None) -> list[DisputeAttachment]:
    """Add checked files to the dispute (the caller's transaction) and say so on the invoice's timeline.
    No actor: the customer, through link `link_id`."""
    rows = []
    for f in files:
        rows.append(
            DisputeAttachment.objects.create(
                organization_id=dispute.organization_id,
                dispute=dispute,
                filename=f.filename,
                content_type=f.content_type,
                size=f.size,
                sha256=f.sha256,
                content=f.content,
                from_customer=actor is None,
                uploaded_by=actor,
                link_id=link_id,
                ip=ip,
            )
        )
        who = _("the customer") if actor is None else str(actor)
        record_event(
            dispute.invoice,
            "dispute_attachment",
            _("%(name)s (%(size)s) attached to dispute #%(id)s by %(who)s")
            % {"name": f.filename, "size": filesizeformat(f.size), "id": dispute.pk, "who": who},
            actor,
        )
    return rows


@transaction.atomic
def attach(dispute: Dispute, uploads, *, actor) -> list[DisputeAttachment]:
    """Staff add files to an open dispute. The dispute is locked first, so two uploads at once are
    counted against the caps one after the other (and the same file twice is refused once)."""
    dispute = Dispute.objects.select_for_update(of=("self",)).select_related("invoice").get(pk=dispute.pk)
    if not dispute.is_open:
        raise AttachmentError(_("A resolved dispute takes no more files."))
    checked = check(uploads, dispute)
    if not checked:
        raise AttachmentError(_("Choose a file to attach."))
    return store(dispute, checked, actor=actor)


def listing(queryset):
    """Attachments without their bytes (a page lists them; a download reads one)."""
    return queryset.defer("content").select_related("uploaded_by")


def response(attachment: DisputeAttachment) -> HttpResponse:
    """The file as a download: its sniffed type, never rendered by the browser as a page."""
    reply = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    reply["Content-Disposition"] = content_disposition_header(True, attachment.filename)
    reply["Content-Length"] = str(attachment.size)
    reply["X-Content-Type-Options"] = "nosniff"
    reply["Content-Security-Policy"] = "default-src 'none'; sandbox"
    reply["Cache-Control"] = "private, no-store"
    return reply
