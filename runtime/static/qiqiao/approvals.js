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
