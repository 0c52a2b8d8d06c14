/* A searching picker (Tom Select) over a pick endpoint that answers
   {"options": [{"value", "text"}]} for ?q=: the form's relation, member and
   department inputs, and the list filter's relation values. */
(function () {
  "use strict";

  window.qqPicker = function (select) {
    if (select.tomselect || !window.TomSelect) return;
    var url = select.getAttribute("data-picker");
    new TomSelect(select, {
      valueField: "value", labelField: "text", searchField: ["text"], maxOptions: 50,
      preload: "focus", loadThrottle: 250, plugins: select.multiple ? ["remove_button"] : [],
      placeholder: select.getAttribute("data-placeholder") || "",
      load: function (query, callback) {
        fetch(url + "?q=" + encodeURIComponent(query), {headers: {Accept: "application/json"}, credentials: "same-origin"})
          .then(function (r) { return r.ok ? r.json() : {options: []}; })
          .then(function (body) { callback(body.options || []); })
          .catch(function () { callback(); });
      },
      onInitialize: function () {
        // Tom Select points the label at its own search box; the original
        // (hidden) select keeps the name for assistive technology too.
        var holder = select.closest(".field, .cell");
        var label = document.getElementById(select.id + "-ts-label") ||
          (holder && holder.querySelector("[data-part=label]"));
        if (label) select.setAttribute("aria-label", label.textContent.replace("*", "").trim());
      }
    });
  };
})();
