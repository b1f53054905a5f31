// Allocation screen, progressive enhancement: live preview of each invoice's new amount due and
// of what stays unapplied; typing an amount switches to manual; choosing another customer reloads
// the open invoices (a "reload": a Preview that shows no "required" errors for fields not filled
// in yet). Without this file, the Preview button does the same.
(function () {
  "use strict";
  const form = document.querySelector("[data-alloc-form]");
  const table = form && form.querySelector(".alloc-table");
  if (!form) return;

  // A <select>, or the hidden input of the customer picker (customer_picker.js), which also
  // changes (to empty) while a new name is typed: only a chosen customer reloads the screen.
  const customer = form.querySelector("[name=customer]");
  if (customer) {
    customer.addEventListener("change", () => {
      if (customer.tagName !== "SELECT" && !customer.value) return;
      const action = document.createElement("input");
      action.type = "hidden"; action.name = "action"; action.value = "reload";
      form.appendChild(action);
      form.submit();
    });
  }
  if (!table) return;

  const currency = table.closest("[data-currency]").dataset.currency;
  const places = { JPY: 0, KRW: 0, ISK: 0, CLP: 0, VND: 0, XOF: 0, XAF: 0, UGX: 0, PYG: 0,
    KWD: 3, BHD: 3, JOD: 3, OMR: 3, TND: 3, LYD: 3, IQD: 3 }[currency] ?? 2;
  const scale = 10n ** BigInt(places);

  // Decimal text → integer minor units (BigInt), or null when blank / unreadable / too precise.
  // Typed text is read by the organization's rules (numbers.js); data-* attributes are machine text.
  function toMinor(text, machine) {
    const s = machine ? String(text || "").trim() : window.LedgerNumbers.parse(text);
    if (s === null) return null;
    if (s === "") return 0n;
    const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(s);
    if (!m || (m[2] === "" && !m[3])) return null;
    const frac = (m[3] || "").replace(/0+$/, "");
    if (frac.length > places) return null;
    const v = BigInt(m[2] || "0") * scale + BigInt((frac + "0".repeat(places)).slice(0, places) || "0");
    return m[1] ? -v : v;
  }
  function format(minor) {
    const neg = minor < 0n; let v = neg ? -minor : minor;
    const whole = window.LedgerNumbers.group((v / scale).toString());
    const frac = places ? window.LedgerNumbers.DECIMAL + (v % scale).toString().padStart(places, "0") : "";
    // The minus sign U+2212, as the server writes amounts (accounts.money.format_amount).
    return (neg ? "\u2212" : "") + whole + frac + " " + currency;
  }
  function plain(minor) {
    if (minor === 0n) return "";
    const whole = (minor / scale).toString();
    return places ? whole + window.LedgerNumbers.DECIMAL + (minor % scale).toString().padStart(places, "0") : whole;
  }

  const rows = Array.from(table.querySelectorAll("tr.alloc-row"));
  const amountInput = form.querySelector("input[name=amount]");
  const modeInputs = Array.from(form.querySelectorAll("input[name=mode]"));
  const mode = () => (modeInputs.find((i) => i.checked) || {}).value || "auto";
  const labelsNode = document.getElementById("alloc-labels");
  const labels = labelsNode ? JSON.parse(labelsNode.textContent) : {};

  function available() {
    if (amountInput) return toMinor(amountInput.value) ?? 0n;
    return toMinor(form.dataset.available, true) ?? 0n;
  }

  function update() {
    let left = available(), total = 0n;
    for (const row of rows) {
      const input = row.querySelector("input");
      const due = toMinor(row.dataset.due, true);
      let apply;
      if (mode() === "auto") {
        apply = row.dataset.disputed ? 0n : (left > due ? due : (left > 0n ? left : 0n));
        left -= apply;
        input.value = plain(apply);
      } else {
        apply = toMinor(input.value);
      }
      const bad = apply === null || apply < 0n || apply > due;
      row.classList.toggle("has-error", bad);
      const newDue = bad ? due : due - apply;
      row.querySelector(".alloc-new").textContent = format(newDue);
      const after = row.querySelector(".alloc-after .badge");
      if (after) {
        if (!after.dataset.orig) {
          after.dataset.orig = row.querySelector("td:nth-child(3) .badge").dataset.status;
        }
        const status = bad || apply === 0n ? after.dataset.orig
          : (newDue === 0n ? "paid" : (row.dataset.overdue ? "overdue" : "partially_paid"));
        const source = status === after.dataset.orig ? row.querySelector("td:nth-child(3) .badge") : null;
        after.textContent = source ? source.textContent : (labels[status] || status);
        after.dataset.status = status;
        after.className = source ? source.className
          : "badge " + (status === "paid" ? "badge-ok" : status === "overdue" ? "badge-danger" : "badge-info");
      }
      if (!bad) total += apply;
    }
    const remaining = available() - total;
    table.querySelector(".alloc-total").textContent = format(total);
    const rem = table.querySelector(".alloc-remaining");
    rem.textContent = format(remaining);
    rem.classList.toggle("neg", remaining < 0n);
  }

  table.addEventListener("input", (e) => {
    if (e.target.matches("input") && mode() !== "manual") {
      const manual = modeInputs.find((i) => i.value === "manual");
      if (manual) manual.checked = true;
    }
    update();
  });
  modeInputs.forEach((i) => i.addEventListener("change", update));
  if (amountInput) amountInput.addEventListener("input", update);
})();
