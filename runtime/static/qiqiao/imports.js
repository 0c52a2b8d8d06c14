// The import wizard: what happens to duplicates only matters with a field
// to match them by, so those choices are off until one is picked.
(function () {
  "use strict";

  function sync() {
    var key = document.getElementById("key_field");
    var group = document.querySelector("[data-needs-key]");
    if (!key || !group) return;
    group.disabled = key.value === "";
  }

  document.addEventListener("change", function (event) {
    if (event.target.id === "key_field") sync();
  });
  document.addEventListener("DOMContentLoaded", sync);
})();
