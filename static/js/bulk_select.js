// Checkbox selection on a list (issue 21): "tick all on this page", a live count of ticked rows,
// and the bulk buttons enabled only while something is ticked. Without this script the boxes
// still work and the server says when nothing was ticked.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) return;
  var all = document.getElementById("bulk-all");
  var count = document.getElementById("bulk-count");
  var boxes = function () { return Array.prototype.slice.call(form.querySelectorAll("input[name=ids]")); };
  var buttons = form.querySelectorAll(".bulk-bar button");
  var idle = count ? count.textContent : "";
  // "Select all N matching" is offered once the whole page is ticked (without this script it is
  // always shown); unticking a row takes it back.
  var matching = document.getElementById("bulk-all-matching");
  var matchingBox = document.getElementById("bulk-all-matching-box");

  function refresh() {
    var list = boxes();
    var ticked = list.filter(function (b) { return b.checked; }).length;
    if (count) {
      var text = ticked === 1 ? count.dataset.one : count.dataset.many;
      count.textContent = ticked && text ? text.replace("%s", ticked) : idle;
    }
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = ticked === 0;
    if (all) {
      all.checked = ticked > 0 && ticked === list.length;
      all.indeterminate = ticked > 0 && ticked < list.length;
    }
    form.classList.toggle("has-selection", ticked > 0);
    var whole = ticked > 0 && ticked === list.length;
    if (matching) matching.hidden = !whole;
    if (matchingBox && !whole) matchingBox.checked = false;
    if (matchingBox && matchingBox.checked && count && matchingBox.parentNode) {
      count.textContent = matchingBox.parentNode.textContent.trim();
    }
  }

  if (all) {
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes().forEach(function (b) { b.checked = all.checked; });
      refresh();
    });
  }
  form.addEventListener("change", function (e) {
    if (e.target && (e.target.name === "ids" || e.target.name === "all_matching")) refresh();
  });
  // The export downloads a file and the page stays: give the buttons back (app.js disables them).
  form.addEventListener("submit", function (e) {
    if (e.submitter && e.submitter.id === "bulk-export") window.setTimeout(refresh, 1500);
  });
  refresh();
})();
