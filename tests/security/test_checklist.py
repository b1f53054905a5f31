"""docs/security.md maps each control to the tests that prove it: every test it names must exist,
so the checklist cannot silently point at a renamed or deleted test (issue 22, "an OWASP-style
checklist in docs/security.md mapping each control to its test")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_FILE = re.compile(r"^(tests/[\w/]+\.py|test_\w+\.py)(?:::(\w+))?$")


def named_tests():
    """(row id, file, test name or None) for every test reference in the checklist's rows. A bare
    `::name` refers to the last file named in the same row; a bare `test_x.py` to the one file of
    that name under tests/."""
    text = (ROOT / "docs" / "security.md").read_text()
    for row in text.splitlines():
        if not row.startswith("| ") or row.startswith("| #"):
            continue
        row_id = row.split("|")[1].strip()
        last = None
        for token in re.findall(r"`([^`]+)`", row):
            match = TEST_FILE.match(token)
            if match:
                name = match.group(1)
                if not name.startswith("tests/"):
                    found = sorted((ROOT / "tests").rglob(name))
                    name = str(found[0].relative_to(ROOT)) if len(found) == 1 else name
                last = name
                yield row_id, name, match.group(2)
            elif token.startswith("::") and last:
                yield row_id, last, token[2:]


def test_every_test_the_checklist_names_exists():
    refs = list(named_tests())
    assert len(refs) > 60, len(refs)  # the parser found the table
    missing = []
    for row_id, name, test in refs:
        path = ROOT / name
        if not path.exists():
            missing.append(f"{row_id}: {name}")
        elif test and not re.search(rf"^(async )?def {test}\(", path.read_text(), re.M):
            missing.append(f"{row_id}: {name}::{test}")
    assert missing == []


def test_every_point_of_issue_22_has_a_row():
    """The eleven attacks of issue 22 each have at least one control row (by its id)."""
    text = (ROOT / "docs" / "security.md").read_text()
    rows = {line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ")}
    by_point = {1: {"A1", "A2", "A3", "A4"}, 2: {"S1", "S2", "S3"}, 3: {"E1"}, 4: {"P1", "P2", "P3"},
                5: {"I1", "I2"}, 6: {"T2"}, 7: {"H1", "H2", "H3"}, 8: {"A5", "A6"}, 9: {"A10", "A11", "A12"},
                10: {"L1"}, 11: {"W1", "W2", "W3", "W5"}}
    assert {point: ids - rows for point, ids in by_point.items() if ids - rows} == {}
