// The top bar's search (issue 21): "/" focuses it, suggestions as you type (customers, invoices,
// payments), arrows move, Enter opens the chosen one (or the full results page), Escape closes.
// Without this file the box submits to the results page.
(function () {
  "use strict";
  const form = document.querySelector(".global-search");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const list = form.querySelector(".global-search-results");
  const url = form.dataset.searchUrl;
  const titles = { customers: "Customers", invoices: "Invoices", payments: "Payments" };
  let items = [], active = -1, timer = null, seq = 0;

  document.addEventListener("keydown", function (e) {
    const t = e.target;
    const typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      input.focus();
      input.select();
    }
  });

  function close() {
    list.hidden = true; list.replaceChildren(); items = []; active = -1;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }
  function mark(n) {
    items.forEach(function (li, i) { li.setAttribute("aria-selected", i === n ? "true" : "false"); });
    active = n;
    if (n >= 0) input.setAttribute("aria-activedescendant", items[n].id);
  }
  function show(data) {
    list.replaceChildren(); items = [];
    Object.keys(titles).forEach(function (kind) {
      (data[kind] || []).forEach(function (hit) {
        const li = document.createElement("li");
        li.id = "gs-" + items.length;
        li.setAttribute("role", "option");
        li.dataset.url = hit.url;
        li.dataset.kind = hit.kind;
        const label = document.createElement("span");
        label.className = "gs-label"; label.textContent = hit.label;
        const detail = document.createElement("span");
        detail.className = "gs-detail"; detail.textContent = titles[kind] + (hit.detail ? " · " + hit.detail : "");
        li.append(label, detail);
        li.addEventListener("mousedown", function (e) { e.preventDefault(); window.location.assign(hit.url); });
        list.appendChild(li); items.push(li);
      });
    });
    list.hidden = items.length === 0;
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    mark(items.length ? 0 : -1);
  }
  input.addEventListener("input", function () {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q.length < 2) { close(); return; }
    timer = setTimeout(function () {
      const mine = ++seq;
      fetch(url + "?format=json&q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : {}; })
        .then(function (data) { if (mine === seq) show(data); })
        .catch(close);
    }, 120);
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "ArrowDown" && items.length) { e.preventDefault(); mark((active + 1) % items.length); }
    else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); mark((active - 1 + items.length) % items.length); }
    else if (e.key === "Escape") { close(); }
    else if (e.key === "Enter" && active >= 0 && items[active]) {
      e.preventDefault(); window.location.assign(items[active].dataset.url);
    }
  });
  input.addEventListener("blur", function () { setTimeout(close, 150); });
})();
