// The dashboard's charts, drawn with the vendored ECharts from the JSON the page carries in
// <script type="application/json" id="dashboard-data"> (no inline script: see cxbot/headers.py).
// Trends: the figure as a line, its 95% interval as a band (an invisible lower line plus a
// stacked area up to the upper bound). Distribution: one bar chart per metric and scale.
(function () {
  "use strict";
  var source = document.getElementById("dashboard-data");
  if (!source || typeof echarts === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var texts = data.texts;
  var zh = document.documentElement.lang.indexOf("zh") === 0;
  var charts = [];
  var COLORS = { line: "#2563eb", band: "rgba(37, 99, 235, 0.18)", bad: "#dc2626",
                 mid: "#9ca3af", good: "#16a34a" };
  var BAND_COLORS = ["rgba(37, 99, 235, 0.18)", "rgba(217, 119, 6, 0.18)"];
  var LINE_COLORS = ["#2563eb", "#d97706"];

  function draw(element, option) {
    var chart = echarts.init(element, null, { renderer: "svg", locale: zh ? "ZH" : "EN" });
    chart.setOption(option);
    charts.push(chart);
  }

  function scaleName(scale) {
    return texts.scale.replace("{low}", scale[0]).replace("{high}", scale[1]);
  }

  function round(value) { return value === null ? null : Math.round(value * 10) / 10; }

  // one line and its band per entry of `lines`: {name, points: [[value, low, high], ...]}
  function bandSeries(lines) {
    var series = [];
    lines.forEach(function (line, index) {
      var stack = "band" + index;
      var low = line.points.map(function (p) { return p[1]; });
      var width = line.points.map(function (p) {
        return p[1] === null || p[2] === null ? null : round(p[2] - p[1]);
      });
      // stackStrategy "all": the width must sit on the lower bound even when that is
      // negative (ECharts stacks same-sign values only, by default)
      series.push({ name: line.name + " low", type: "line", stack: stack, stackStrategy: "all", data: low,
                    symbol: "none", lineStyle: { opacity: 0 }, silent: true,
                    tooltip: { show: false } });
      series.push({ name: texts.band, type: "line", stack: stack, stackStrategy: "all", data: width,
                    symbol: "none", lineStyle: { opacity: 0 }, silent: true,
                    areaStyle: { color: BAND_COLORS[index % 2] }, tooltip: { show: false } });
      series.push({ name: line.name, type: "line", data: line.points.map(function (p) { return round(p[0]); }),
                    symbolSize: 6, connectNulls: false,
                    itemStyle: { color: LINE_COLORS[index % 2] },
                    lineStyle: { color: LINE_COLORS[index % 2], width: 2 } });
    });
    return series;
  }

  function trend(id, lines, min, max) {
    var element = document.getElementById(id);
    if (!element) { return; }
    draw(element, {
      animation: false,
      grid: { left: 44, right: 16, top: 30, bottom: 36 },
      legend: { top: 0, data: lines.map(function (l) { return l.name; }) },
      tooltip: { trigger: "axis", renderMode: "richText", formatter: function (items) {
        var index = items.length ? items[0].dataIndex : 0;
        var text = [data.buckets[index]];
        lines.forEach(function (line) {
          var point = line.points[index];
          if (point[0] === null) { return; }
          text.push(line.name + "  " + round(point[0]) + "  (" + round(point[1]) + " … " +
                    round(point[2]) + ")");
        });
        return text.join("\n");
      } },
      xAxis: { type: "category", data: data.buckets, boundaryGap: false,
               axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: min, max: max },
      series: bandSeries(lines)
    });
  }

  trend("chart-nps", [{ name: "NPS", points: data.nps }], -100, 100);
  ["ces", "csat"].forEach(function (metric) {
    var lines = data[metric].map(function (s) {
      return { name: texts[metric].split(/[（(]/)[0].trim() + " " + scaleName(s.scale), points: s.points };
    });
    trend("chart-" + metric, lines, 0, 100);
  });

  var holder = document.getElementById("distribution");
  data.distribution.forEach(function (entry) {
    var figure = document.createElement("figure");
    figure.className = "card chart-card";
    var caption = document.createElement("figcaption");
    caption.textContent = texts[entry.metric] + " · " + scaleName(entry.scale);
    var element = document.createElement("div");
    element.className = "chart small";
    element.id = "distribution-" + entry.metric + "-" + entry.scale.join("-");
    figure.appendChild(caption);
    figure.appendChild(element);
    holder.appendChild(figure);
    var high = entry.scale[1];
    var agreeFrom = high - entry.scale[0] >= 6 ? high - 2 : high - 1;
    var bars = entry.counts.map(function (count, i) {
      var score = entry.scores[i];
      var color;
      if (entry.metric === "nps") {
        color = score >= 9 ? COLORS.good : (score >= 7 ? COLORS.mid : COLORS.bad);
      } else {
        color = score >= agreeFrom ? COLORS.good : COLORS.mid;
      }
      return { value: count, itemStyle: { color: color } };
    });
    draw(element, {
      animation: false,
      grid: { left: 48, right: 12, top: 16, bottom: 32 },
      tooltip: { trigger: "axis", renderMode: "richText" },
      xAxis: { type: "category", data: entry.scores, name: texts.score, nameLocation: "middle",
               nameGap: 22 },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: texts.answers, type: "bar", data: bars }]
    });
  });

  window.addEventListener("resize", function () {
    charts.forEach(function (chart) { chart.resize(); });
  });
})();
