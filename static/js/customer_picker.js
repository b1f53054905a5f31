// Type-ahead for the customer field of a large organization (accounts/customer_picker.py).
// Progressive enhancement: without this file the server resolves the typed name or code.
//
// Choosing a suggestion puts the customer's id and its data-* attributes (currency, minor
// units, terms) on the hidden input and fires "change" there, so the live editors read the
// chosen customer the same way as a selected <option>. Editing the text clears the choice.
(function () {
  "use strict";
  const DELAY_MS = 150; // typing pause before asking the server

  function setup(box) {
    const input = box.querySelector("input[type=text]");
    const hidden = box.querySelector("input[type=hidden]");
    const url = input.dataset.lookupUrl;
    const list = document.createElement("ul");
    list.className = "picker-list";
    list.id = input.id + "-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.appendChild(list);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");

    let items = [], active = -1, timer = null, controller = null;

    function choose(item) {
      window.clearTimeout(timer); // a lookup still pending for the typed text is moot now
      if (controller) controller.abort();
      hidden.value = item ? String(item.id) : "";
      Object.keys(hidden.dataset).forEach(function (key) { delete hidden.dataset[key]; });
      if (item) {
        Object.keys(item.data).forEach(function (key) { hidden.setAttribute("data-" + key, item.data[key]); });
        input.value = item.label;
      }
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      Array.from(list.children).forEach(function (li, i) { li.setAttribute("aria-selected", String(i === index)); });
      if (index >= 0) {
        const li = list.children[index];
        input.setAttribute("aria-activedescendant", li.id);
        li.scrollIntoView({ block: "nearest" });
      }
    }

    function show(results, text) {
      items = results;
      list.replaceChildren.apply(list, results.map(function (item, i) {
        const li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        const name = document.createElement("span");
        name.className = "picker-name";
        name.textContent = item.name;
        const meta = document.createElement("span");
        meta.className = "picker-meta";
        meta.textContent = item.code + " · " + (item.data.currency || "");
        if (item.archived) {  // only a list's filter (?archived=1) suggests archived customers
          const mark = document.createElement("span");
          mark.className = "badge picker-archived";
          mark.textContent = input.dataset.archivedLabel || "archived";
          meta.append(" ", mark);
        }
        li.append(name, meta);
        // mousedown, not click: it comes before the input's blur closes the list
        li.addEventListener("mousedown", function (event) { event.preventDefault(); choose(item); close(); });
        return li;
      }));
      if (!results.length) {
        const li = document.createElement("li");
        li.className = "picker-empty";
        li.textContent = (input.dataset.noMatch || "").replace("{text}", text);
        list.appendChild(li);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(results.length ? 0 : -1);
    }

    function lookup() {
      const text = input.value.trim();
      if (controller) controller.abort();
      if (!text) { close(); return; }
      controller = new AbortController();
      const query = new URL(url, window.location.href); // may carry ?archived=1 already
      query.searchParams.set("q", text);
      fetch(query, {
        headers: { Accept: "application/json" }, credentials: "same-origin", signal: controller.signal,
      }).then(function (response) {
        if (!response.ok) throw new Error("lookup failed: " + response.status);
        return response.json();
      }).then(function (body) {
        if (document.activeElement === input) show(body.results, text);
      }).catch(function (error) {
        if (error.name !== "AbortError") close(); // the server still resolves the text on submit
      });
    }

    input.addEventListener("input", function () {
      if (hidden.value) choose(null); // the text no longer names the chosen customer
      window.clearTimeout(timer);
      timer = window.setTimeout(lookup, DELAY_MS);
    });
    input.addEventListener("keydown", function (event) {
      const open = !list.hidden && items.length > 0;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!open) { if (!hidden.value) lookup(); return; }
        event.preventDefault();
        const step = event.key === "ArrowDown" ? 1 : -1;
        highlight((active + step + items.length) % items.length);
      } else if (event.key === "Enter" && open && active >= 0) {
        event.preventDefault(); // choose, do not submit the form
        choose(items[active]);
        close();
      } else if (event.key === "Escape" && !list.hidden) {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", close);
  }

  document.querySelectorAll("[data-customer-picker]").forEach(setup);
})();
