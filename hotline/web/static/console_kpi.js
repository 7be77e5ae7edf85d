// Historical KPIs for a chosen range (and queue), with CSV and XLSX downloads.
// JSON API: /api/kpi; files: /api/kpi/export?format=csv|xlsx (same query).
"use strict";

const { $, el, api, report } = Console;
const COLUMNS = ["offered", "answered", "abandoned", "answer_timeliness", "connect_rate",
  "abandon_rate", "asa", "aht"];

function shown(figure) {
  if (!figure || figure.value === null || figure.value === undefined) return "—";
  if (figure.unit === "ratio") return `${(figure.value * 100).toFixed(1)} %`;
  if (figure.unit === "s") return `${figure.value.toFixed(1)} s`;
  return String(figure.value);
}

function query() {
  const params = new URLSearchParams({ from: $("kpi-from").value, to: $("kpi-to").value });
  const queue = $("kpi-queue").value.trim();
  if (queue) params.set("queue", queue);
  return params;
}

function breakdown(table, sets, keyLabel) {
  const keys = Object.keys(sets);
  const head = el("tr", {}, el("th", {}, keyLabel));
  const any = keys.length ? sets[keys[0]] : {};
  const names = COLUMNS.filter((name) => name in any);
  for (const name of names) head.append(el("th", { class: "num" }, any[name].label_zh,
    el("div", { class: "en" }, any[name].label_en)));
  const rows = keys.map((key) => el("tr", { "data-key": key }, el("td", {}, key),
    ...names.map((name) => el("td", { class: "num" }, shown(sets[key][name])))));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...(rows.length ? rows
    : [el("tr", {}, el("td", { class: "empty" }, "无数据 no calls"))])));
}

async function show(event) {
  if (event) event.preventDefault();
  const params = query();
  for (const format of ["csv", "xlsx"]) {
    $(`download-${format}`).href = `/api/kpi/export?${params}&format=${format}`;
  }
  const answer = await api("GET", `/api/kpi?${params}`);
  report($("message"), answer);
  if (!answer.ok) return;
  const data = answer.data;
  $("counts").textContent = `${data.counts.calls} 通来电 calls, ${data.counts.legs} 段 legs; `
    + `剔除 excluded ${data.excluded.calls}`;
  $("totals").replaceChildren(...Object.values(data.totals).map((f) => el("tr", { "data-figure": f.name },
    el("td", {}, f.label_zh, " ", el("span", { class: "en" }, f.label_en)),
    el("td", { class: `num ${f.meets_target === true ? "good" : f.meets_target === false ? "bad" : ""}` }, shown(f)),
    el("td", { class: "num" }, f.denominator === null ? "" : `${f.numerator} / ${f.denominator}`),
    el("td", {}, f.target === null ? "" : shown({ ...f, value: f.target })))));
  breakdown($("by-day"), data.by_day, "日期 day");
  breakdown($("by-queue"), data.by_queue, "队列 queue");
  document.body.dataset.loaded = "yes";
}

(async () => {
  await Console.start();
  const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  const weekAgo = new Date(Date.now() - 6 * 86400000 - new Date().getTimezoneOffset() * 60000)
    .toISOString().slice(0, 10);
  $("kpi-from").value = weekAgo;
  $("kpi-to").value = today;
  $("range").addEventListener("submit", show);
  await show();
})();
