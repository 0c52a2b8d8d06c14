/* Dashboards and reports: draw each chart from its ECharts option (a JSON
   block next to it: the CSP forbids inline scripts), keep charts sized to
   their cards, drill down on a click (a bar, slice, point or table row goes
   to /a/<app>/reports/<key>/drill with the group's dimension values), and the
   filter bar's little behaviours (custom date range, people picker). */
(function () {
  "use strict";

  var maps = {};  // map name -> a promise of its registration

  function drillTo(base, point, measure) {
    if (!base || !point) return;
    var url = base + (base.indexOf("?") < 0 ? "?" : "&") + "point=" + encodeURIComponent(JSON.stringify(point));
    if (measure) url += "&measure=" + encodeURIComponent(measure);
    window.location.assign(url);
  }

  function mapNames(option) {
    var names = [];
    (Array.isArray(option.series) ? option.series : [option.series || {}]).forEach(function (s) {
      if (s && s.type === "map" && s.map) names.push(s.map);
    });
    if (option.geo && option.geo.map) names.push(option.geo.map);
    return names;
  }

  function ensureMaps(el, option) {
    var url = el.getAttribute("data-map-url");
    return Promise.all(mapNames(option).map(function (name) {
      if (!maps[name]) {
        maps[name] = fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); })
          .then(function (geo) { window.echarts.registerMap(name, geo); });
      }
      return maps[name];
    }));
  }

  function draw(el) {
    var source = document.getElementById(el.getAttribute("data-chart"));
    if (!source || !window.echarts) return;
    var option = JSON.parse(source.textContent);
    ensureMaps(el, option).then(function () {
      var chart = window.echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(option);
      var drill = el.getAttribute("data-drill");
      if (drill) {
        chart.on("click", function (params) {
          var data = params.data || {};
          var series = (Array.isArray(option.series) ? option.series : [option.series || {}])[params.seriesIndex] || {};
          drillTo(drill, data.point, data.measure || series.measure);
        });
      }
      if (window.ResizeObserver) new ResizeObserver(function () { chart.resize(); }).observe(el);
      else window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-point]");
    if (!row || event.target.closest("a")) return;  // the first cell's link is the keyboard's way
    var table = row.closest("[data-drill]");
    if (table) drillTo(table.getAttribute("data-drill"), JSON.parse(row.getAttribute("data-point")), row.getAttribute("data-measure"));
  });

  document.addEventListener("change", function (event) {
    var range = event.target.closest("[data-range-select]");
    if (range) {
      var ends = range.parentElement.querySelector("[data-range-ends]");
      if (ends) ends.hidden = range.value !== "range";
      if (range.value !== "range") range.form.requestSubmit();
      return;
    }
    var plain = event.target.closest("[data-report-filters] select:not([multiple])");
    if (plain) plain.form.requestSubmit();
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-chart]").forEach(draw);
    if (window.qqPicker) document.querySelectorAll("[data-report-filters] select[data-picker]").forEach(window.qqPicker);
  });
})();
