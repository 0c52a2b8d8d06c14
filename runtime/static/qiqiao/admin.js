// The administration pages: searching pickers (Tom Select on <select data-picker>)
// and the copy button of a secret shown once.
(function () {
  "use strict";

  function pickers(root) {
    if (typeof window.TomSelect === "undefined") return;
    root.querySelectorAll("select[data-picker]").forEach(function (select) {
      if (select.tomselect) return;
      var multiple = select.multiple;
      // Tom Select points the <label> at its own search box; the <select> it
      // keeps (hidden, for the form post) keeps its name through aria-label.
      var label = select.id ? document.querySelector('label[for="' + select.id + '"]') : null;
      if (label) select.setAttribute("aria-label", label.textContent.trim());
      new window.TomSelect(select, {
        plugins: multiple ? ["remove_button"] : [],
        maxOptions: 500,
        allowEmptyOption: !multiple,
        // Tom Select copies the <select>'s label onto its own search input.
        controlInput: "<input>"
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { pickers(document); });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    var english = document.documentElement.lang === "en";
    var done = function () { if (window.qiqiaoToast) window.qiqiaoToast(english ? "Copied" : "已复制"); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, function () { select(source); });
    } else {
      select(source);
    }
  });

  // Without clipboard access, select the text so that Ctrl+C copies it.
  function select(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
})();
