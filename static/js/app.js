// Progressive enhancement only: every page works without this file.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form.dataset.confirm;
  if (question && !window.confirm(question)) {
    event.preventDefault();
    return;
  }
  // Guard against double submission; the server also refuses duplicates (idempotency keys).
  // getAttribute, not form.method: a field named "method" (e.g. a payment method) shadows the property.
  if ((form.getAttribute("method") || "get").toLowerCase() === "post") {
    window.setTimeout(() => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    }, 0);
  }
});

// Progress bars: the width comes from data-percent (the Content-Security-Policy allows no style attribute).
document.querySelectorAll(".progress > span[data-percent], .revenue-bar[data-percent]").forEach((bar) => {
  bar.style.width = `${Math.max(0, Math.min(100, Number(bar.dataset.percent) || 0))}%`;
});

// A filter select that applies itself when changed (the form's button does it without JavaScript).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});

// A table that scrolls sideways (a phone) can be scrolled with the keyboard too (issue 21).
function markScrollableTables() {
  document.querySelectorAll(".table").forEach((table) => {
    if (table.scrollWidth > table.clientWidth + 1) {
      table.tabIndex = 0;  // its table semantics stay: no role is changed
    }
  });
}
markScrollableTables();
window.addEventListener("resize", markScrollableTables);
