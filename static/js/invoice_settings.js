// Live example of the next invoice and credit note numbers while the pattern is edited.
// Mirrors invoicing/numbering.py format_number(). Progressive enhancement only.
(function () {
  "use strict";
  const form = document.getElementById("invoice-settings");
  if (!form) return;
  const get = function (name) { return form.querySelector("[name='" + name + "']"); };
  function example(prefixField, yearlyNext, continuousNext) {
    const padding = Math.min(10, Math.max(1, parseInt(get("number_padding").value || "5", 10) || 5));
    const withYear = get("number_includes_year").checked;
    const yearly = get("reset_yearly").checked;
    const n = String(yearly ? yearlyNext : continuousNext).padStart(padding, "0");
    return get(prefixField).value.trim() + (withYear ? form.dataset.year + "-" : "") + n;
  }
  function update() {
    const d = form.dataset;
    document.getElementById("next-invoice").textContent =
      example("invoice_prefix", d.invoiceYearly, d.invoiceContinuous);
    document.getElementById("next-credit-note").textContent =
      example("credit_note_prefix", d.creditYearly, d.creditContinuous);
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
})();
