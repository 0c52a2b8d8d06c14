// The create and edit forms: live evaluation (the server answers only what
// changed, as out-of-band swaps; the input that has focus is never replaced),
// pickers (Tom Select), subform rows (add, remove, move; SortableJS), uploads,
// the signature pad, the address cascade, "use my position" and the small
// rich-text editor. Everything is set up from data-* attributes on htmx:load,
// so parts the server swaps in work the same as the first page.
(function () {
  "use strict";

  var english = function () { return document.documentElement.lang === "en"; };
  var TYPING_DELAY = 350;
  var timer = null;

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // --- live evaluation ---------------------------------------------------------------
  function evaluateSoon(form, delay) {
    var body = form.querySelector("#form-body");
    if (!body || !window.htmx) return;
    clearTimeout(timer);
    timer = setTimeout(function () { htmx.trigger(body, "qq-evaluate"); }, delay);
  }

  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("[data-record-form]");
    if (form && event.target.name && event.target.type !== "file") evaluateSoon(form, TYPING_DELAY);
  });
  document.addEventListener("change", function (event) {
    var form = event.target.closest && event.target.closest("[data-record-form]");
    if (form && event.target.name && event.target.type !== "file") evaluateSoon(form, 0);
  });

  // A unit that holds the focused input keeps that input (and what is typed
  // in it): only its label, messages and state are taken from the answer.
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    var active = document.activeElement;
    if (!target || !active || active === document.body || !target.contains(active)) return;
    var fragment = event.detail.fragment;
    var fresh = fragment.firstElementChild || fragment;
    if (!fresh || !fresh.querySelector) return;
    event.detail.shouldSwap = false;
    ["label", "messages"].forEach(function (part) {
      var old = target.querySelector('[data-part="' + part + '"]');
      var next = fresh.querySelector('[data-part="' + part + '"]');
      if (old && next && !old.contains(active)) old.replaceWith(next);
    });
    target.className = fresh.className;
    target.hidden = fresh.hidden;
    var twin = active.id ? fresh.querySelector("#" + CSS.escape(active.id)) : null;
    ["aria-invalid", "aria-required", "aria-describedby"].forEach(function (name) {
      if (twin && twin.hasAttribute(name)) active.setAttribute(name, twin.getAttribute(name));
      else if (twin) active.removeAttribute(name);
    });
  });

  // --- colours of options, stars ------------------------------------------------------
  function paint(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      if (el.tagName !== "OPTION") el.style.borderColor = el.getAttribute("data-color");
    });
    // The chosen option's colour marks the select's own left edge: a dot
    // beside it read as a status light (and overflowed on phones).
    root.querySelectorAll(".select-with-colour select").forEach(function (select) {
      var option = select.options[select.selectedIndex];
      var colour = option && option.getAttribute("data-color");
      select.classList.toggle("coloured", !!colour);
      select.style.borderLeftColor = colour || "";
    });
    root.querySelectorAll(".rating").forEach(function (group) {
      var checked = group.querySelector("input:checked");
      var value = checked ? parseInt(checked.value || "0", 10) : 0;
      group.querySelectorAll("label.star").forEach(function (label, index) {
        label.classList.toggle("on", index < value);
      });
    });
  }
  document.addEventListener("change", function (event) {
    var field = event.target.closest && event.target.closest(".field, .cell");
    if (field) paint(field);
  });

  // --- pickers: picker.js (window.qqPicker) -------------------------------------------
  // --- subform rows --------------------------------------------------------------------
  function renumber(subform) {
    var key = subform.getAttribute("data-subform");
    var nameRe = new RegExp("^" + key + "\\[(\\d+|__i__)\\]");
    var idRe = new RegExp("^([fi])-" + key + "-(\\d+|__i__)-");
    var rows = subform.querySelectorAll("tbody[data-rows] > tr");
    rows.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], [for], [aria-describedby], [aria-labelledby]").forEach(function (el) {
        if (el.name) el.name = el.name.replace(nameRe, key + "[" + index + "]");
        ["id", "for", "aria-describedby", "aria-labelledby"].forEach(function (attr) {
          var value = el.getAttribute(attr);
          if (value) el.setAttribute(attr, value.split(" ").map(function (part) {
            return part.replace(idRe, "$1-" + key + "-" + index + "-");
          }).join(" "));
        });
      });
    });
  }

  function rowsChanged(subform) {
    renumber(subform);
    var form = subform.closest("[data-record-form]");
    if (form) evaluateSoon(form, 0);
  }

  function subformSetup(subform) {
    if (subform.dataset.ready) return;
    subform.dataset.ready = "1";
    var body = subform.querySelector("tbody[data-rows]");
    if (window.Sortable && body && subform.querySelector("[data-row-template]")) {
      Sortable.create(body, {handle: ".drag-handle", animation: 150, onEnd: function () { rowsChanged(subform); }});
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-row-add], [data-row-remove], [data-row-up], [data-row-down]");
    if (!button) return;
    var subform = button.closest("[data-subform]");
    var body = subform.querySelector("tbody[data-rows]");
    var row = button.closest("tr");
    var focusAfter = null;
    if (button.hasAttribute("data-row-add")) {
      var template = subform.querySelector("template[data-row-template]");
      var fresh = template.content.firstElementChild.cloneNode(true);
      body.appendChild(fresh);
      renumber(subform);
      setUp(fresh);
      if (window.htmx) htmx.process(fresh);
      focusAfter = fresh.querySelector("input:not([type=hidden]), select, textarea");
    } else if (button.hasAttribute("data-row-remove")) {
      focusAfter = (row.nextElementSibling || row.previousElementSibling || {}).querySelector
        ? (row.nextElementSibling || row.previousElementSibling).querySelector("[data-row-remove]") : subform.querySelector("[data-row-add]");
      row.remove();
    } else if (button.hasAttribute("data-row-up") && row.previousElementSibling) {
      body.insertBefore(row, row.previousElementSibling);
      focusAfter = button;
    } else if (button.hasAttribute("data-row-down") && row.nextElementSibling) {
      body.insertBefore(row.nextElementSibling, row);
      focusAfter = button;
    }
    rowsChanged(subform);
    if (focusAfter) focusAfter.focus();
  });

  // --- files and the signature ---------------------------------------------------------
  function say(box, text, failed) {
    var status = box.querySelector(".upload-status");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", !!failed);
  }

  function addFile(box, meta, url) {
    var list = box.querySelector(".file-list");
    var name = box.querySelector('input[type=hidden]').name;
    if (box.getAttribute("data-kind") === "signature") list.innerHTML = "";
    var item = document.createElement("li");
    item.className = "file-item";
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = name; hidden.value = JSON.stringify(meta);
    item.appendChild(hidden);
    if ((meta.content_type || "").indexOf("image/") === 0) {
      var img = document.createElement("img");
      img.src = url; img.alt = meta.name; img.className = "thumb";
      item.appendChild(img);
    }
    var link = document.createElement("a");
    link.href = url; link.textContent = meta.name;
    item.appendChild(link);
    var remove = document.createElement("button");
    remove.type = "button"; remove.className = "secondary outline remove-file";
    remove.setAttribute("data-remove-file", "");
    remove.setAttribute("aria-label", (english() ? "Remove " : "移除 ") + meta.name);
    remove.textContent = "×";
    item.appendChild(remove);
    list.appendChild(item);
  }

  function upload(box, file) {
    var data = new FormData();
    data.append("file", file, file.name);
    say(box, (english() ? "Uploading " : "正在上传 ") + file.name + "…");
    return fetch(box.getAttribute("data-files"), {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-CSRF-Token": csrf(), Accept: "application/json"}
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error((body.error && body.error.message) || response.statusText);
        addFile(box, body.file, body.url);
        say(box, (english() ? "Uploaded " : "已上传 ") + file.name);
        var form = box.closest("[data-record-form]");
        if (form) evaluateSoon(form, 0);
      });
    }).catch(function (error) { say(box, error.message, true); });
  }

  document.addEventListener("change", function (event) {
    if (!event.target.matches || !event.target.matches("input.file-picker")) return;
    var box = event.target.closest("[data-files]");
    var files = Array.prototype.slice.call(event.target.files || []);
    event.target.value = "";
    files.reduce(function (chain, file) { return chain.then(function () { return upload(box, file); }); },
                 Promise.resolve());
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-remove-file]");
    if (!button) return;
    var box = button.closest("[data-files]");
    button.closest("li").remove();
    say(box, english() ? "Removed" : "已移除");
    var form = box.closest("[data-record-form]");
    if (form) evaluateSoon(form, 0);
  });

  function signature(box) {
    if (box.dataset.ready || !window.SignaturePad) return;
    box.dataset.ready = "1";
    var canvas = box.querySelector("canvas");
    var ratio = Math.max(window.devicePixelRatio || 1, 1);
    canvas.width = canvas.offsetWidth * ratio || 400;
    canvas.height = canvas.offsetHeight * ratio || 160;
    canvas.getContext("2d").scale(ratio, ratio);
    var pad = new SignaturePad(canvas, {backgroundColor: "rgb(255,255,255)"});
    box.querySelector("[data-signature-clear]").addEventListener("click", function () { pad.clear(); });
    box.querySelector("[data-signature-save]").addEventListener("click", function () {
      if (pad.isEmpty()) { say(box, english() ? "Sign in the box first" : "请先在框内签名", true); return; }
      canvas.toBlob(function (blob) { upload(box, new File([blob], "signature.png", {type: "image/png"})); }, "image/png");
    });
  }

  // --- address cascade ------------------------------------------------------------------
  var regions = null;
  function loadRegions(url) {
    if (!regions) regions = fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); });
    return regions;
  }

  function fill(select, names, keep) {
    var first = select.options[0];
    select.innerHTML = "";
    select.appendChild(first);
    var found = false;
    names.forEach(function (name) {
      var option = document.createElement("option");
      option.value = option.textContent = name;
      if (name === keep) { option.selected = true; found = true; }
      select.appendChild(option);
    });
    if (keep && !found) {
      var kept = document.createElement("option");
      kept.value = kept.textContent = keep; kept.selected = true;
      select.appendChild(kept);
    }
  }

  function address(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var parts = {};
    box.querySelectorAll("select[data-part-name]").forEach(function (s) { parts[s.getAttribute("data-part-name")] = s; });
    loadRegions(box.getAttribute("data-regions")).then(function (tree) {
      function cities() { return parts.province && tree[parts.province.value] || {}; }
      function refresh(from) {
        if (from === "province" && parts.city) fill(parts.city, Object.keys(cities()), "");
        if ((from === "province" || from === "city") && parts.district) {
          fill(parts.district, parts.city ? (cities()[parts.city.value] || []) : [], "");
        }
      }
      if (parts.province) fill(parts.province, Object.keys(tree), parts.province.value);
      if (parts.city) fill(parts.city, Object.keys(cities()), parts.city.value);
      if (parts.district) fill(parts.district, parts.city ? (cities()[parts.city.value] || []) : [], parts.district.value);
      Object.keys(parts).forEach(function (name) {
        parts[name].addEventListener("change", function () { refresh(name); });
      });
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-locate]");
    if (!button || !navigator.geolocation) return;
    var box = button.closest("[data-location]");
    navigator.geolocation.getCurrentPosition(function (position) {
      var lat = box.querySelector('input[name$=".lat"]'), lng = box.querySelector('input[name$=".lng"]');
      lat.value = position.coords.latitude.toFixed(6);
      lng.value = position.coords.longitude.toFixed(6);
      lng.dispatchEvent(new Event("change", {bubbles: true}));
    });
  });

  // --- rich text ------------------------------------------------------------------------
  function richText(box) {
    if (box.dataset.ready) return;
    box.dataset.ready = "1";
    var area = box.querySelector("textarea");
    var label = document.querySelector('label[for="' + area.id + '"]');
    var editor = document.createElement("div");
    editor.className = "rich-editor";
    editor.contentEditable = "true";
    editor.setAttribute("role", "textbox");
    editor.setAttribute("aria-multiline", "true");
    if (label) { label.id = label.id || area.id + "-label"; editor.setAttribute("aria-labelledby", label.id); label.htmlFor = ""; }
    editor.innerHTML = area.value;
    area.hidden = true;
    box.querySelector(".rich-toolbar").hidden = false;
    box.appendChild(editor);
    editor.addEventListener("input", function () {
      area.value = editor.innerHTML;
      area.dispatchEvent(new Event("input", {bubbles: true}));
    });
    box.querySelectorAll("[data-command]").forEach(function (button) {
      button.addEventListener("click", function () {
        editor.focus();
        document.execCommand(button.getAttribute("data-command"));
        area.value = editor.innerHTML;
      });
    });
  }

  // --- set-up of whatever the page or an answer brings ----------------------------------
  function setUp(root) {
    if (!root.querySelectorAll) return;
    var within = function (selector) {
      var found = Array.prototype.slice.call(root.querySelectorAll(selector));
      if (root.matches && root.matches(selector)) found.push(root);
      return found;
    };
    within("select[data-picker]").forEach(function (s) { if (!s.closest("template")) window.qqPicker(s); });
    within("[data-subform]").forEach(subformSetup);
    within("[data-signature]").forEach(signature);
    within("[data-address]").forEach(address);
    within("[data-rich-text]").forEach(richText);
    paint(root);
  }

  if (window.htmx) {
    // htmx copies a swapped element's old "style" attribute onto the new one
    // while settling: widgets style their parts through the CSSOM, and that
    // copy is an inline style the CSP refuses.
    htmx.config.attributesToSettle = ["class", "width", "height"];
    htmx.onLoad(setUp);
  }
  else document.addEventListener("DOMContentLoaded", function () { setUp(document.body); });
})();
