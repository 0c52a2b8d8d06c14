// The approval inbox: "select all on this page", and the batch dialogs'
// comment (one textarea per dialog; only the opened dialog's is sent).
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var all = event.target.closest("[data-select-all]");
    if (!all) return;
    var name = all.getAttribute("data-select-all");
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (box) {
      box.checked = all.checked;
    });
  });

  document.addEventListener("click", function (event) {
    var opener = event.target.closest('[data-open-dialog^="batch-"]');
    if (!opener) return;
    var action = opener.getAttribute("data-open-dialog").slice("batch-".length);
    document.querySelectorAll("[data-batch-comment]").forEach(function (box) {
      box.disabled = box.getAttribute("data-batch-comment") !== action;
    });
  });
})();

// The dialogs' people pickers: all active people over /inbox/people
// (picker.js), or the engine's candidates for a step, searched in the page.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.TomSelect) return;
    document.querySelectorAll("dialog select[data-picker]").forEach(function (select) { window.qqPicker(select); });
    document.querySelectorAll("dialog select[data-choose]").forEach(function (select) {
      if (select.tomselect) return;
      new TomSelect(select, {maxOptions: 50, plugins: select.multiple ? ["remove_button"] : [],
        placeholder: select.getAttribute("data-placeholder") || ""});
      var label = document.querySelector('label[for="' + select.id + '"]');
      if (label) select.setAttribute("aria-label", label.textContent.trim());
    });
  });
})();
