// The list page (runtime/web/lists.py): row selection for bulk edit and
// delete, the filter builder's "add" and "remove" of conditions. Everything
// else is htmx attributes in the templates.
(function () {
  "use strict";

  function bulkForm() { return document.getElementById("bulk-form"); }

  function selected() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-row-select]:checked"));
  }

  // The bulk bar shows while rows are selected, with how many.
  function refreshSelection() {
    var form = bulkForm();
    if (!form) return;
    var count = selected().length;
    form.hidden = count === 0;
    var label = form.querySelector(".bulk-count");
    if (label) label.textContent = (label.getAttribute("data-selected-text") || "%(n)s").replace("%(n)s", String(count));
    var all = document.querySelector("[data-select-all]");
    var rows = document.querySelectorAll("[data-row-select]");
    if (all) {
      all.checked = rows.length > 0 && count === rows.length;
      all.indeterminate = count > 0 && count < rows.length;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      document.querySelectorAll("[data-row-select]").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all], [data-row-select]")) refreshSelection();
  });

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-remove-condition]");
    if (remove) {
      var row = remove.closest(".condition");
      var box = row && row.parentElement;
      if (row) row.remove();
      if (box && box.children.length === 0) {
        var add = document.querySelector("[data-add-condition]");
        if (add) add.click();  // the builder always has a row to fill in
      }
    }
  });

  // A new condition takes the next free index (c<i>-field ...).
  document.addEventListener("htmx:configRequest", function (event) {
    var source = event.detail.elt;
    if (!source.matches || !source.matches("[data-add-condition]")) return;
    var next = 0;
    document.querySelectorAll("#conditions .condition").forEach(function (row) {
      next = Math.max(next, Number(row.getAttribute("data-index")) + 1);
    });
    event.detail.parameters.i = String(next);
  });

  // A relation's values are picked by searching its form (picker.js), as in the record's form.
  function pickers(root) {
    if (!window.qqPicker || !root.querySelectorAll) return;
    root.querySelectorAll("select[data-picker]").forEach(window.qqPicker);
  }
  if (window.htmx) htmx.onLoad(pickers);
  else document.addEventListener("DOMContentLoaded", function () { pickers(document.body); });

  // After the rows change (new page of results, more rows, a bulk change), the selection is what is ticked.
  document.addEventListener("htmx:afterSettle", refreshSelection);
  document.addEventListener("DOMContentLoaded", refreshSelection);
})();
