// The record page: the delete confirmation is a native <dialog> (the CSP
// forbids inline handlers, so the buttons say what they open or close).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        dialog.showModal();
        var cancel = dialog.querySelector("[data-close-dialog]");
        if (cancel) cancel.focus();  // the safe choice has the focus
      }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var open = closer.closest("dialog");
      if (open) open.close();
    }
  });

  // A click on the backdrop (outside the dialog's box) closes it too.
  document.addEventListener("click", function (event) {
    if (event.target.tagName === "DIALOG" && event.target.open) event.target.close();
  });
})();
