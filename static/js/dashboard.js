// Draws the dashboard's charts from the JSON data island; the page reads well without it.
(function () {
  "use strict";
  function draw() {
    var island = document.getElementById("dashboard-data");
    if (!island || typeof Chart === "undefined") { return; }
    var data = JSON.parse(island.textContent);
    var trend = document.getElementById("chart-trend");
    if (trend) {
      new Chart(trend, {
        type: "line",
        data: {
          labels: data.trend.labels,
          datasets: [
            { label: trend.dataset.opened || "opened", data: data.trend.opened, borderColor: "#b71c1c", tension: 0.2 },
            { label: trend.dataset.closed || "closed", data: data.trend.closed, borderColor: "#2e7d32", tension: 0.2 }
          ]
        },
        options: { animation: false, responsive: true, maintainAspectRatio: false }
      });
    }
    var category = document.getElementById("chart-category");
    if (category && data.category.labels.length) {
      new Chart(category, {
        type: "bar",
        data: { labels: data.category.labels, datasets: [{ data: data.category.counts, backgroundColor: "#c62828" }] },
        options: { animation: false, responsive: true, maintainAspectRatio: false, plugins: { legend: { display: false } } }
      });
    }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
