// Live totals for the invoice editor. Progressive enhancement: without this file the
// "Add line" and "Recalculate" buttons do the same on the server.
//
// Mirrors invoicing/totals.py exactly, in decimal (BigInt) arithmetic, never floats:
//   gross = round(qty × price × (1 − line discount/100))
//   net   = round(qty × price × (1 − line discount/100) × (1 − invoice discount/100))
//   tax   = round(net × tax/100)
// each rounded once, half away from zero, to the currency's minor unit; totals are sums.
(function () {
  "use strict";
  const form = document.getElementById("invoice-form");
  if (!form || typeof BigInt === "undefined") return;

  // --- exact decimals: {n: BigInt, s: scale} means n / 10^s -----------------------------
  const TEN = BigInt(10);
  function pow10(k) { let r = BigInt(1); for (let i = 0; i < k; i++) r *= TEN; return r; }
  // Typed text by the organization's rules (numbers.js) unless `machine` (data-* attributes).
  function parse(text, fallback, machine) {
    const t = machine ? (text || "").trim() : window.LedgerNumbers.parse(text);
    if (t === null) return null;
    if (t === "") return fallback === undefined ? null : fallback;
    const m = /^(-?)(\d*)(?:\.(\d*))?$/.exec(t);
    if (!m || (m[2] === "" && (m[3] || "") === "")) return null;
    const frac = m[3] || "";
    const n = BigInt((m[2] || "0") + frac) * (m[1] === "-" ? BigInt(-1) : BigInt(1));
    return { n: n, s: frac.length };
  }
  function mul(a, b) { return { n: a.n * b.n, s: a.s + b.s }; }
  function oneMinusPercent(p) { // 1 − p/100
    return { n: pow10(p.s + 2) - p.n, s: p.s + 2 };
  }
  function percentOf(p) { return { n: p.n, s: p.s + 2 }; } // p/100
  function round(a, places) { // half away from zero
    if (a.s <= places) return { n: a.n * pow10(places - a.s), s: places };
    const d = pow10(a.s - places);
    const neg = a.n < 0;
    const abs = neg ? -a.n : a.n;
    let q = abs / d;
    if ((abs % d) * BigInt(2) >= d) q += BigInt(1);
    return { n: neg ? -q : q, s: places };
  }
  function add(a, b) { // same scale
    return { n: a.n + b.n, s: a.s };
  }
  function zero(places) { return { n: BigInt(0), s: places }; }
  function format(a, currency) {
    const neg = a.n < 0;
    let digits = (neg ? -a.n : a.n).toString();
    while (digits.length <= a.s) digits = "0" + digits;
    let intPart = digits.slice(0, digits.length - a.s);
    const frac = a.s ? window.LedgerNumbers.DECIMAL + digits.slice(digits.length - a.s) : "";
    intPart = window.LedgerNumbers.group(intPart);
    // The minus sign U+2212, as the server writes amounts (accounts.money.format_amount).
    return (neg ? "\u2212" : "") + intPart + frac + (currency ? " " + currency : "");
  }
  function percentLabel(p) {
    const D = window.LedgerNumbers.DECIMAL;
    let t = format(p, "").split(window.LedgerNumbers.GROUP).join("");
    if (t.indexOf(D) >= 0) t = t.replace(/0+$/, "");
    if (t.endsWith(D)) t = t.slice(0, -D.length);
    return t;
  }

  // --- the form ----------------------------------------------------------------------------
  const rowsBody = document.getElementById("line-rows");
  const template = document.getElementById("line-template");
  const total = form.querySelector("input[name$='-TOTAL_FORMS']");
  const maxLines = parseInt(form.dataset.maxLines || "500", 10);
  const customer = form.querySelector("[name='customer']"); // a <select>, or the picker's hidden input
  const issueDate = form.querySelector("input[name='issue_date']");
  const dueDate = form.querySelector("input[name='due_date']");
  const invoiceDiscount = form.querySelector("input[name='discount_percent']");
  const out = {
    currency: document.getElementById("currency-display"),
    subtotal: document.getElementById("t-subtotal"),
    discount: document.getElementById("t-discount"),
    taxes: document.getElementById("t-taxes"),
    total: document.getElementById("t-total"),
  };
  const taxLabel = form.dataset.taxLabel || "Tax {rate} on {base}";
  let currency = form.dataset.currency || "";
  let places = parseInt(form.dataset.minorUnits || "2", 10);

  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }
  function isRemoved(row) { const d = field(row, "DELETE"); return d && d.checked; }

  // The chosen customer's element carries data-currency, data-minor-units and data-terms: the
  // selected <option>, or the hidden input that customer_picker.js fills for large organizations.
  function selectedCustomer() {
    if (!customer) return null;
    if (customer.tagName === "SELECT") return customer.selectedOptions.length ? customer.selectedOptions[0] : null;
    return customer.value ? customer : null;
  }

  function recalc() {
    const opt = selectedCustomer();
    if (opt && opt.dataset.currency) {
      currency = opt.dataset.currency;
      places = parseInt(opt.dataset.minorUnits || "2", 10);
    }
    if (out.currency) out.currency.textContent = currency || "—";
    const invDisc = parse(invoiceDiscount ? invoiceDiscount.value : "", { n: BigInt(0), s: 0 });
    let subtotal = zero(places), net = zero(places), tax = zero(places), ok = invDisc !== null;
    const byRate = new Map();
    rowsBody.querySelectorAll("tr.line-row").forEach(function (row) {
      const cell = row.querySelector(".line-amount");
      row.classList.toggle("is-removed", isRemoved(row));
      const q = parse(field(row, "quantity").value);
      const p = parse(field(row, "unit_price").value);
      const d = parse(field(row, "discount_percent").value, { n: BigInt(0), s: 0 });
      const taxSelect = field(row, "tax_rate");
      const taxOpt = taxSelect && taxSelect.selectedOptions.length ? taxSelect.selectedOptions[0] : null;
      const t = parse(taxOpt && taxOpt.value ? taxOpt.dataset.percent : "0", { n: BigInt(0), s: 0 }, true);
      const blank = !field(row, "description").value.trim() && q === null && p === null;
      if (isRemoved(row) || blank) { cell.textContent = "—"; return; }
      if (q === null || p === null || d === null || t === null || !ok) { cell.textContent = "—"; ok = false; return; }
      const exactGross = mul(mul(q, p), oneMinusPercent(d));
      const g = round(exactGross, places);
      const n = round(mul(exactGross, oneMinusPercent(invDisc)), places);
      const x = round(mul(n, percentOf(t)), places);
      cell.textContent = format(g, currency);
      subtotal = add(subtotal, g); net = add(net, n); tax = add(tax, x);
      const key = percentLabel(t);
      const prev = byRate.get(key) || { p: t, base: zero(places), tax: zero(places) };
      byRate.set(key, { p: prev.p, base: add(prev.base, n), tax: add(prev.tax, x) });
    });
    if (!ok) {
      out.subtotal.textContent = out.discount.textContent = out.total.textContent = "—";
      out.taxes.replaceChildren();
      return;
    }
    out.subtotal.textContent = format(subtotal, currency);
    const discount = { n: subtotal.n - net.n, s: places };
    out.discount.textContent = (discount.n > 0 ? "−" : "") + format(discount, currency);
    out.total.textContent = format(add(net, tax), currency);
    const rows = Array.from(byRate.values()).sort(function (a, b) {
      const sa = Math.max(a.p.s, b.p.s);
      const an = a.p.n * pow10(sa - a.p.s), bn = b.p.n * pow10(sa - b.p.s);
      return an < bn ? -1 : an > bn ? 1 : 0;
    });
    out.taxes.replaceChildren.apply(out.taxes, rows.map(function (r) {
      const tr = document.createElement("tr");
      tr.className = "tax-row";
      const th = document.createElement("th");
      th.textContent = taxLabel.replace("{rate}", percentLabel(r.p) + "%").replace("{base}", format(r.base, currency));
      const td = document.createElement("td");
      td.className = "num";
      td.textContent = format(r.tax, currency);
      tr.append(th, td);
      return tr;
    }));
  }

  // --- adding lines in the page ----------------------------------------------------------
  const addButton = document.getElementById("add-line");
  function lineCount() { return parseInt(total.value, 10); }
  function addLine() {
    const n = lineCount();
    if (n >= maxLines) { addButton.disabled = true; return; }
    const html = template.innerHTML.replace(/__prefix__/g, String(n));
    const holder = document.createElement("tbody");
    holder.innerHTML = html;
    const row = holder.querySelector("tr");
    const rows = rowsBody.querySelectorAll("tr.line-row");
    const last = rows[rows.length - 1];
    if (last) field(row, "tax_rate").value = field(last, "tax_rate").value; // same tax as the line above
    rowsBody.appendChild(row);
    total.value = String(n + 1);
    addButton.disabled = n + 1 >= maxLines;
    field(row, "description").focus();
    recalc();
  }
  if (addButton) {
    addButton.addEventListener("click", function (event) { event.preventDefault(); addLine(); });
  }

  // --- due date follows the customer's terms until edited by hand -------------------------
  function suggestedDue() {
    const opt = selectedCustomer();
    if (!opt || !opt.dataset.terms || !issueDate || !issueDate.value) return "";
    const d = new Date(issueDate.value + "T00:00:00Z");
    if (isNaN(d.getTime())) return "";
    d.setUTCDate(d.getUTCDate() + parseInt(opt.dataset.terms, 10));
    return d.toISOString().slice(0, 10);
  }
  let dueTouched = dueDate && dueDate.value !== "" && dueDate.value !== suggestedDue();
  function suggestDue() {
    const value = suggestedDue();
    if (dueDate && !dueTouched && value) dueDate.value = value;
  }
  if (dueDate) dueDate.addEventListener("input", function () { dueTouched = dueDate.value !== ""; });
  if (customer) customer.addEventListener("change", function () { suggestDue(); recalc(); });
  if (issueDate) issueDate.addEventListener("change", suggestDue);

  form.addEventListener("input", recalc);
  form.addEventListener("change", recalc);
  const recalcButton = document.getElementById("recalculate");
  if (recalcButton) { recalcButton.hidden = true; recalcButton.style.display = "none"; } // totals are live
  recalc();
})();
