// Item suggestions in the invoice editor's line descriptions (invoicing/items.py `suggest`).
// Progressive enhancement: without this file lines are typed by hand, as before.
//
// Typing in a description asks /items/lookup/?q=…&currency=… and lists matching items; choosing
// one copies its text, unit, price in the invoice's currency and tax rate into the line and
// notes the item's id in the row's hidden input. The line keeps that copy: edit it freely.
(function () {
  "use strict";
  const form = document.getElementById("invoice-form");
  const rows = document.getElementById("line-rows");
  if (!form || !rows || !form.dataset.itemLookupUrl) return;
  const url = form.dataset.itemLookupUrl;
  const DELAY_MS = 150;
  const list = document.createElement("ul");
  list.className = "picker-list item-picker-list";
  list.id = "item-picker-list";
  list.setAttribute("role", "listbox");
  list.hidden = true;
  let input = null, items = [], active = -1, timer = null, controller = null;

  function currency() {
    const shown = document.getElementById("currency-display");
    const text = shown ? shown.textContent.trim() : "";
    return /^[A-Z]{3}$/.test(text) ? text : (form.dataset.currency || "");
  }
  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }

  function close() {
    list.hidden = true;
    active = -1;
    if (input) { input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); }
  }
  function highlight(index) {
    active = index;
    Array.from(list.children).forEach(function (li, i) { li.setAttribute("aria-selected", String(i === index)); });
    if (index >= 0 && input) input.setAttribute("aria-activedescendant", list.children[index].id);
  }

  function choose(item) {
    window.clearTimeout(timer);
    if (controller) controller.abort();
    const row = input.closest("tr");
    input.value = item.description;
    field(row, "item").value = String(item.id);
    if (item.unit) field(row, "unit").value = item.unit;
    if (item.unit_price !== null) field(row, "unit_price").value = window.LedgerNumbers.toInput(item.unit_price);
    const qty = field(row, "quantity");
    if (!qty.value.trim()) qty.value = "1";
    const tax = field(row, "tax_rate");
    if (item.tax_rate !== null && tax.querySelector("option[value='" + item.tax_rate + "']")) {
      tax.value = String(item.tax_rate);
    }
    close();
    input.dispatchEvent(new Event("change", { bubbles: true })); // the live totals recalculate
    (item.unit_price === null ? field(row, "unit_price") : qty).focus();
  }

  // On the page, not in the row: the lines table scrolls sideways and would clip the list.
  function place() {
    if (!input) return;
    const box = input.getBoundingClientRect();
    const width = Math.min(Math.max(box.width, 320), document.documentElement.clientWidth - 16);
    const left = Math.max(8, Math.min(box.left, document.documentElement.clientWidth - width - 8));
    list.style.left = (left + window.scrollX) + "px";
    list.style.top = (box.bottom + window.scrollY + 4) + "px";
    list.style.width = width + "px";
  }

  function show(results) {
    items = results;
    const noPrice = form.dataset.itemNoPrice || "no {currency} price";
    list.replaceChildren.apply(list, results.map(function (item, i) {
      const li = document.createElement("li");
      li.id = list.id + "-" + i;
      li.setAttribute("role", "option");
      const name = document.createElement("span");
      name.className = "picker-name";
      name.textContent = item.name;
      const meta = document.createElement("span");
      meta.className = "picker-meta";
      const price = item.unit_price !== null ? item.unit_price + " " + item.currency
        : noPrice.replace("{currency}", item.currency || "");
      meta.textContent = item.code + " · " + price + (item.unit ? " / " + item.unit : "");
      li.append(name, meta);
      li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); });
      return li;
    }));
    if (!results.length) { close(); return; }
    if (!list.isConnected) document.body.appendChild(list);
    place();
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "true");
    list.hidden = false;
    highlight(0);
  }

  function lookup() {
    const text = input ? input.value.trim() : "";
    if (controller) controller.abort();
    if (text.length < 2) { close(); return; }
    controller = new AbortController();
    const query = new URL(url, window.location.href);
    query.searchParams.set("q", text);
    query.searchParams.set("currency", currency());
    const asked = input;
    fetch(query, { headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal })
      .then(function (response) {
        if (!response.ok) throw new Error("lookup failed: " + response.status);
        return response.json();
      })
      .then(function (body) { if (document.activeElement === asked) show(body.results); })
      .catch(function (error) { if (error.name !== "AbortError") close(); });
  }

  function isDescription(el) { return el && el.classList && el.classList.contains("line-description"); }

  rows.addEventListener("input", function (event) {
    if (!isDescription(event.target)) return;
    input = event.target;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    window.clearTimeout(timer);
    timer = window.setTimeout(lookup, DELAY_MS);
  });
  rows.addEventListener("keydown", function (event) {
    if (!isDescription(event.target) || event.target !== input) return;
    const open = !list.hidden && items.length > 0;
    if (!open) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if (event.key === "Enter" && active >= 0) {
      event.preventDefault(); // choose; never submit the form
      event.stopPropagation();
      choose(items[active]);
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  }, true);
  window.addEventListener("resize", function () { if (!list.hidden) place(); });
  rows.addEventListener("focusout", function (event) { if (event.target === input) close(); });
})();
