// The header's bell and todo icon: a panel loads its contents each time it
// opens (so counts and lists are fresh), one panel is open at a time, and a
// click outside or Escape closes it.
(function () {
  "use strict";

  function menus() {
    return Array.prototype.slice.call(document.querySelectorAll("details[data-inbox-panel]"));
  }

  function closeAll(except) {
    menus().forEach(function (menu) { if (menu !== except) menu.open = false; });
  }

  // "toggle" does not bubble: listen while it comes down (capture).
  document.addEventListener("toggle", function (event) {
    var menu = event.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.hasAttribute("data-inbox-panel") || !menu.open) return;
    closeAll(menu);
    var target = menu.querySelector("[data-inbox-target]");
    if (target && window.htmx) {
      window.htmx.ajax("GET", menu.getAttribute("data-inbox-panel"), { target: target, swap: "innerHTML" });
    }
  }, true);

  document.addEventListener("click", function (event) {
    if (!event.target.closest("details[data-inbox-panel]")) closeAll(null);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    menus().forEach(function (menu) {
      if (!menu.open) return;
      menu.open = false;
      menu.querySelector("summary").focus();
    });
  });
})();
