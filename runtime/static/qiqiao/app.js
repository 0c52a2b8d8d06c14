// Qiqiao's page behaviour that is not a library's: the phone menu, error
// toasts for htmx requests, and the CSRF header on every htmx request (the
// <body> carries it too; this covers requests made before it is parsed).
// Alpine components register on "alpine:init" (this file loads before Alpine).
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function toast(message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast" + (kind ? " " + kind : "");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 6000);
  }
  window.qiqiaoToast = toast;

  document.addEventListener("htmx:configRequest", function (event) {
    event.detail.headers["X-CSRF-Token"] = csrf();
  });

  // A failed htmx request shows the server's own message (JSON error body).
  document.addEventListener("htmx:responseError", function (event) {
    var text = event.detail.xhr.responseText || "";
    var message = "";
    try { message = JSON.parse(text).error.message; } catch (e) { message = ""; }
    toast(message || (document.documentElement.lang === "en" ? "The request failed" : "请求失败"), "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast(document.documentElement.lang === "en" ? "The server cannot be reached" : "无法连接服务器", "error");
  });

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle-nav]");
    if (!toggle) return;
    var nav = document.getElementById(toggle.getAttribute("aria-controls"));
    if (!nav) return;
    var open = nav.classList.toggle("open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var nav = document.querySelector(".sidebar.open");
    if (nav) {
      nav.classList.remove("open");
      var toggle = document.querySelector("[data-toggle-nav]");
      if (toggle) { toggle.setAttribute("aria-expanded", "false"); toggle.focus(); }
    }
  });
})();
