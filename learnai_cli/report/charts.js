// learnai report: draws the interactive charts from the page's own data (no network). Drag across a chart to zoom,
// double-click to zoom out, hover for the values (in the legend below the chart), tick "log scale" to switch.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var holder = document.getElementById("learnai-data");
  if (!holder || typeof uPlot === "undefined") { document.documentElement.classList.remove("js"); return; }
  var charts = JSON.parse(holder.textContent).charts;
  var colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"];

  var integers = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 100000];

  // A tick's label with as many decimals as the ticks' spacing needs (1.245, 1.250, not 1.25 twice).
  function short(v, step) {
    if (v === null || v === undefined) { return ""; }
    var decimals = step > 0 ? Math.max(0, -Math.floor(Math.log10(step) + 1e-9)) : 3;
    var a = Math.abs(v);
    return a >= 1e6 || decimals > 6 ? v.toExponential(2) : v.toFixed(decimals);
  }

  function positive(values) {
    return values.map(function (v) { return v !== null && v > 0 ? v : null; });
  }

  function options(chart, width, log) {
    var series = [{ label: chart.x_label }];
    chart.series.forEach(function (s, i) {
      series.push({ label: s.label, stroke: colors[i % colors.length], width: 2, spanGaps: true,
                    dash: s.dashed ? [6, 4] : undefined, points: { show: chart.x.length < 30 } });
    });
    return {
      width: width, height: 280, series: series,
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      axes: [
        { label: chart.x_label, incrs: chart.x_label === "epoch" || chart.x_label === "trial" ? integers : undefined },
        { label: chart.y_label || "", size: 70, values: function (u, splits, axis, space, step) {
          var log = u.scales.y.distr === 3;  // ticks a decade apart: three significant figures each
          return splits.map(function (v) { return log && v ? String(Number(v.toPrecision(3))) : short(v, step); });
        } }
      ],
      cursor: { drag: { x: true, y: false } },
      legend: { live: true }
    };
  }

  function data(chart, log) {
    return [chart.x].concat(chart.series.map(function (s) { return log ? positive(s.values) : s.values; }));
  }

  function draw(box, chart) {
    var log = !!chart.log;
    var width = Math.max(320, box.clientWidth - 8);
    var tools = document.createElement("div");
    tools.className = "chart-tools";
    var label = document.createElement("label");
    var toggle = document.createElement("input");
    toggle.type = "checkbox";
    toggle.checked = log;
    label.appendChild(toggle);
    label.appendChild(document.createTextNode(" log scale "));
    var reset = document.createElement("button");
    reset.type = "button";
    reset.textContent = "reset zoom";
    tools.appendChild(label);
    tools.appendChild(reset);
    tools.appendChild(document.createTextNode(" drag to zoom, hover for values"));
    box.parentNode.insertBefore(tools, box);  // outside the role=img chart, so the controls are reachable
    var plot = new uPlot(options(chart, width, log), data(chart, log), box);
    toggle.addEventListener("change", function () {
      plot.destroy();
      plot = new uPlot(options(chart, width, toggle.checked), data(chart, toggle.checked), box);
    });
    reset.addEventListener("click", function () {
      plot.setData(data(chart, toggle.checked));
    });
  }

  document.querySelectorAll(".chart[data-chart]").forEach(function (box) {
    var chart = charts[Number(box.getAttribute("data-chart"))];
    if (chart) { draw(box, chart); }
  });
})();
