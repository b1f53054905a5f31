"""Reminder message templates and the schedule a policy describes.

Templates are plain text with `{placeholder}` fields. `{{` and `}}` stand for literal braces.
They are parsed here, not with str.format: a template can only ask for the names below (no
attribute or index access such as `{customer.__class__}`), and every error is reported with
its position, so the policy editor can say exactly where the problem is.

The schedule: each step fires at `offset_days` relative to the due date (negative = before).
After the last step a policy may repeat the last step's message every N days, up to a limit.
Every firing ("point") is identified by its offset, so a point fires at most once per invoice
whatever happens to the policy later (the outbox has a unique key on invoice and offset).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

PLACEHOLDERS = {
    "customer": "Acme Trading Ltd",
    "invoice_number": "INV-2026-00042",
    "amount_due": "1,250.00 EUR",
    "due_date": "2026-03-31",
    "due_when": "was due on 31 March 2026",
    "days_overdue": "7",
    "link": "https://ledgerline.example/p/invoice/…",
    "organization": "Your Company",
    "late_fee": "25.00 EUR",
}
MAX_TEMPLATE_LENGTH = 5000


class TemplateError(ValueError):
    """A template that cannot be used; `position` is the 0-based character offset."""

    def __init__(self, message: str, position: int, text: str, hint: str = ""):
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        self.position, self.line, self.column = position, line, column
        super().__init__(_("%(message)s at line %(line)s, column %(column)s (character %(pos)s).")
                         % {"message": message, "line": line, "column": column, "pos": position + 1}
                         + (f" {hint}" if hint else ""))


def parse(text: str) -> list[tuple[str, str]]:
    """Split a template into ("text", s) and ("field", name) parts, or raise TemplateError."""
    parts, buf, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if i + 1 < n and text[i + 1] == "{":
                buf.append("{")
                i += 2
                continue
            end = text.find("}", i + 1)
            nested = text.find("{", i + 1)
            if end == -1 or (nested != -1 and nested < end):
                raise TemplateError(_("“{” is never closed (write {{ for a literal brace)"), i, text)
            name = text[i + 1:end]
            if not name.strip():
                raise TemplateError(_("Empty placeholder {}"), i, text)
            if name not in PLACEHOLDERS:
                raise TemplateError(
                    _("Unknown placeholder {%(name)s}") % {"name": name[:40]}, i, text,
                    hint=_("Use one of %(names)s.") % {"names": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)})
            if buf:
                parts.append(("text", "".join(buf)))
                buf = []
            parts.append(("field", name))
            i = end + 1
        elif ch == "}":
            if i + 1 < n and text[i + 1] == "}":
                buf.append("}")
                i += 2
                continue
            raise TemplateError(_("A lone “}” (write }} for a literal brace)"), i, text)
        else:
            buf.append(ch)
            i += 1
    if buf:
        parts.append(("text", "".join(buf)))
    return parts


def render(text: str, values: dict[str, str]) -> str:
    """Fill the placeholders. Without a fee (`late_fee` empty) every line that uses {late_fee} is
    left out, so a message never announces a fee that is not charged ("A late fee of  was added")."""
    lines = []
    for line in text.split("\n"):  # a placeholder never spans lines, so each line parses alone
        parts = parse(line)
        if not values.get("late_fee") and ("field", "late_fee") in parts:
            continue
        lines.append("".join(value if kind == "text" else str(values.get(value, "")) for kind, value in parts))
    return "\n".join(lines)


# --- The text of a step in a customer's language (issue 17) ---------------------------------

def step_text(step, language: str, default_language: str) -> tuple[str, str, bool]:
    """(subject, body, fell_back) of a step for a reader of `language` (a catalog language: "de",
    not "de-at"): the step's own text when that is the organization's default language, its text in
    `step.texts` when there is one, else its own text and fell_back=True."""
    language = language.split("-")[0]
    if language == default_language:
        return step.subject, step.body, False
    own = (getattr(step, "texts", None) or {}).get(language) or {}
    if own.get("subject", "").strip() and own.get("body", "").strip():
        return own["subject"], own["body"], False
    return step.subject, step.body, True


def missing_languages(step, default_language: str, languages) -> list[str]:
    """The languages among `languages` that have no text of their own on the step."""
    return [lang for lang in languages if step_text(step, lang, default_language)[2]]


# --- The schedule --------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One firing of a policy: a step, or a repeat of the last step."""

    offset_days: int
    step_id: int | None
    repeat: int  # 0 for the step itself, 1.. for repeats of the last step
    tone: str
    subject: str
    body: str
    attach_pdf: bool
    fee_type: str
    fee_value: Decimal | None
    fee_cap: Decimal | None

    def on(self, due_date: date) -> date:
        return due_date + timedelta(days=self.offset_days)

    @property
    def label(self) -> str:
        sign = "+" if self.offset_days > 0 else ""
        text = _("day %(offset)s") % {"offset": f"{sign}{self.offset_days}"}
        if self.repeat:
            text += " " + _("(repeat %(n)s)") % {"n": self.repeat}
        return text


def points(policy, steps=None) -> list[Point]:
    """The policy's firings in order: its steps, then the repeats of the last one."""
    steps = sorted(steps if steps is not None else policy.steps.all(), key=lambda s: s.offset_days)
    result = [Point(s.offset_days, s.pk, 0, s.tone, s.subject, s.body, s.attach_pdf, s.fee_type, s.fee_value,
                    s.fee_cap) for s in steps]
    if steps and policy.repeat_every_days and policy.repeat_limit:
        last = steps[-1]
        for k in range(1, policy.repeat_limit + 1):
            result.append(Point(last.offset_days + k * policy.repeat_every_days, last.pk, k, last.tone,
                                last.subject, last.body, last.attach_pdf, last.fee_type, last.fee_value,
                                last.fee_cap))
    return result


def catch_up(schedule: list[Point], due_date: date, today: date, last_offset: int | None):
    """The catch-up rule in one place (the scan's SQL implements the same rule set-based):
    of the points not yet handled (offset above the last one handled) that are due by today,
    only the latest is sent; the earlier ones are recorded as skipped. Returns (send, skipped)."""
    due = [p for p in schedule if p.on(due_date) <= today and (last_offset is None or p.offset_days > last_offset)]
    if not due:
        return None, []
    return due[-1], due[:-1]
