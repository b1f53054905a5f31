// How this organization writes numbers, for the live previews (issue 21). The same rules as the
// server's one parser, accounts/locale.py parse_number: the locale's decimal mark, its group mark
// only in correct groups ("1,5" in English or "1.5" in German is refused, not read as 15), an
// optional leading minus. The marks come from <html data-decimal data-group data-grouping>.
(function () {
  "use strict";
  const root = document.documentElement.dataset;
  const DECIMAL = root.decimal || ".";
  const GROUP = root.group || ",";
  const grouping = (root.grouping || "3,3").split(",").map(Number);
  const SPACES = " \u00a0\u202f";
  const typedGroup = SPACES.indexOf(GROUP) >= 0 ? SPACES : ("'\u2019".indexOf(GROUP) >= 0 ? "'\u2019" : GROUP);

  function groupedOk(parts) {
    if (!parts.every((p) => /^[0-9]+$/.test(p))) return false;
    const last = parts[parts.length - 1];
    if (last.length !== grouping[0]) return false;
    const head = parts.slice(0, -1).reverse();
    if (!head.length) return true;
    const first = head[head.length - 1];
    return head.slice(0, -1).every((p) => p.length === grouping[1]) && first.length >= 1 && first.length <= grouping[1];
  }

  // Typed text → machine text "-1234.5"; "" for blank; null when it is not a number here.
  function parse(text) {
    let s = String(text == null ? "" : text).trim();
    if (s === "") return "";
    let sign = "";
    if ("-\u2212+".indexOf(s[0]) >= 0) { sign = s[0] === "+" ? "" : "-"; s = s.slice(1).trim(); }
    const at = s.indexOf(DECIMAL);
    let whole = at < 0 ? s : s.slice(0, at);
    const frac = at < 0 ? "" : s.slice(at + 1);
    if (frac !== "" && !/^[0-9]+$/.test(frac)) return null;
    if (whole === "" && frac === "") return null;
    const marks = whole.replace(/[0-9]/g, "");
    if (marks) {
      const mark = marks[0];
      if (typedGroup.indexOf(mark) < 0 || marks.split("").some((c) => c !== mark)) return null;
      if (!groupedOk(whole.split(mark))) return null;
      whole = whole.split(mark).join("");
    }
    return sign + (whole || "0") + (frac ? "." + frac : "");
  }

  // "1234567" → "1,234,567" with the locale's mark and group sizes.
  function group(digits) {
    const out = [];
    let rest = digits, size = grouping[0];
    while (rest.length > size) {
      out.unshift(rest.slice(-size));
      rest = rest.slice(0, -size);
      size = grouping[1];
    }
    out.unshift(rest);
    return out.join(GROUP);
  }

  // Machine text ("1234.50") → how an input shows it here ("1234,50"), ungrouped.
  function toInput(machine) {
    return String(machine).replace(".", DECIMAL);
  }

  window.LedgerNumbers = { parse: parse, group: group, toInput: toInput, DECIMAL: DECIMAL, GROUP: GROUP };
})();
