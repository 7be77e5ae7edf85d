// The daily log, weekly report and monthly briefing (日报/周报/月度简报): one page, the kind from
// the path (/console/reports/<kind>). JSON: /api/reports; files: /api/reports/export; every
// number with a dotted underline lists the calls or cases behind it (/api/reports/drill).
// Charts: uPlot (vendored in /static, as on the wall screen).
"use strict";

const { $, el, api, report, when } = Console;
const KIND = location.pathname.split("/").pop();
const TITLES = { daily: ["日报", "daily log"], weekly: ["周报", "weekly report"],
  monthly: ["月度简报", "monthly briefing"] };
// A call figure's numerator and denominator as drill-down figures (ticketing.reports.CALL_FIGURES).
const CALL_DRILLS = {
  offered: ["offered"], answered: ["answered"], answered_within: ["answered_within"],
  answer_timeliness: ["answered_within", "answered"], connect_rate: ["answered", "offered"],
  abandoned: ["abandoned"], short_abandons: ["short_abandons"], abandon_rate: ["abandoned", "offered"],
  timeouts: ["timeouts"], join_rejections: ["join_rejections"], ivr_hangups: ["ivr_hangups"],
  asa: [null, "answered"], aht: [null, "answered"], satisfaction: ["content", "rated"],
  surveys_rated: ["rated"], dissatisfied: ["dissatisfied"], surveys_unrated: ["survey_none"],
  deflected: ["deflected"],
};
const CASE_RATES = [["on_time_rate", "按时办结率 on-time"], ["extension_rate", "延期率 extension"],
  ["redo_rate", "重办率 redo"], ["return_rate", "退件率 return"]];
const HOTLINE_RATES = [["callback_coverage", "回访率 call-back coverage"],
  ["satisfaction", "结果满意率 satisfaction (result)"],
  ["process_satisfaction", "过程满意率 satisfaction (process)"]];
let current = null;
const charts = {};

function percent(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)} %`;
}

function shown(figure) {
  if (!figure || figure.value === null || figure.value === undefined) return "—";
  if (figure.unit === "ratio") return percent(figure.value);
  if (figure.unit === "s") return `${figure.value.toFixed(1)} s`;
  return String(figure.value);
}

function filterParams() {
  const params = new URLSearchParams();
  for (const name of ["queue", "category", "area", "unit"]) {
    const value = $(`report-${name}`).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

function query() {
  // Both range days given: the same report for any range (kind=range), else the page's kind.
  const [first, last] = [$("report-from").value, $("report-to").value];
  const params = new URLSearchParams({ kind: first && last ? "range" : KIND });
  if (first && last) {
    params.set("from", first);
    params.set("to", last);
  } else if (KIND === "monthly") params.set("month", $("report-month").value);
  else params.set("date", $("report-date").value);
  for (const [key, value] of filterParams()) params.set(key, value);
  return params;
}

// A number that drills: what = {kind: "calls"|"cases", figure, part, holder, filter, from, to}.
function drillable(text, what) {
  if (!what || !what.figure) return text;
  return el("button", { type: "button", class: "drill", "data-drill": JSON.stringify(what),
    onclick: () => drill(what) }, text);
}

async function drill(what) {
  const params = filterParams();
  for (const [key, value] of Object.entries(what.filter || {})) params.set(key, value);
  params.set("from", what.from || current.from);
  params.set("to", what.to || current.to);
  params.set("figure", what.figure);
  if (what.part) params.set("part", what.part);
  if (what.holder) params.set("holder", what.holder);
  const answer = await api("GET", `/api/reports/drill?${params}`);
  report($("message"), answer);
  if (!answer.ok) return;
  const box = $("drill");
  box.hidden = false;
  const rows = answer.data.calls || answer.data.cases || [];
  $("drill-what").textContent = `${what.label || what.figure}: ${rows.length} `
    + (answer.data.calls ? "通来电 calls" : "件工单 cases");
  let head;
  let body;
  if (answer.data.calls) {
    head = ["时间 at", "来电 caller", "队列 queue", "结果 outcome", "等待 wait s", "评价 survey", "uniqueid"];
    body = rows.map((c) => [when(c.at), c.caller_num || "", c.queue || "", c.outcome,
      c.wait_s ?? "", c.survey || "", c.uniqueid]);
  } else {
    head = ["工单号 number", "类别 category", "区域 area", "单位 unit", "状态 status", "受理 opened"];
    body = rows.map((c) => [c.number, c.category, c.area || "", c.unit || "", c.status, when(c.created_at)]);
  }
  $("drill-rows").replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", { "data-rows": rows.length }, ...body.map((cells) =>
      el("tr", { class: "drill-row" }, ...cells.map((c) => el("td", {}, c))))));
  box.scrollIntoView({ block: "start" });
}

function callTotals(data) {
  const rows = Object.values(data.call_kpis.totals).map((f) => {
    const [num, den] = CALL_DRILLS[f.name] || [];
    const label = `${f.label_zh} ${f.label_en}`;
    return el("tr", { "data-figure": f.name },
      el("td", {}, f.label_zh, " ", el("span", { class: "en" }, f.label_en)),
      el("td", { class: `num ${f.meets_target === true ? "good" : f.meets_target === false ? "bad" : ""}` },
        drillable(shown(f), num && { kind: "calls", figure: num, label })),
      el("td", { class: "num" }, f.numerator === null ? "" : drillable(String(+f.numerator.toFixed(1)),
        num && { kind: "calls", figure: num, label: `${label} — 分子 numerator` })),
      el("td", { class: "num" }, f.denominator === null ? "" : drillable(String(f.denominator),
        den && { kind: "calls", figure: den, label: `${label} — 分母 denominator` })),
      el("td", { class: "formula" }, f.formula));
  });
  $("call-totals").replaceChildren(...rows);
  const excluded = data.call_kpis.excluded;
  $("excluded").replaceChildren("剔除时段内来电 excluded calls: ",
    drillable(String(excluded.calls), { kind: "calls", figure: "excluded", label: "剔除 excluded" }),
    " ", Object.entries(excluded.by_reason).map(([r, n]) => `${r}: ${n}`).join("; "));
}

const BREAKDOWN = ["offered", "answered", "answer_timeliness", "connect_rate", "abandoned",
  "abandon_rate", "asa", "satisfaction"];

// A call breakdown (by day, queue, agent): each number drills to the calls behind it, within
// the row's day, queue or agent (extraOf gives the drill's scope).
function breakdown(table, keyTitle, sets, extraOf) {
  const keys = Object.keys(sets).sort();
  const any = keys.length ? sets[keys[0]] : {};
  const names = BREAKDOWN.filter((name) => name in any);
  const head = el("tr", {}, el("th", {}, keyTitle), ...names.map((name) => el("th", { class: "num" },
    any[name].label_zh, el("div", { class: "en" }, any[name].label_en))));
  const rows = keys.map((key) => el("tr", { "data-key": key }, el("td", {}, key), ...names.map((name) => {
    const f = sets[key][name];
    const scope = extraOf(key);
    const [num] = CALL_DRILLS[name] || [];
    return el("td", { class: "num", title: f.formula }, scope && num
      ? drillable(shown(f), { kind: "calls", figure: num, label: `${key} ${f.label_zh}`, ...scope })
      : shown(f));
  })));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...(rows.length ? rows
    : [el("tr", {}, el("td", { class: "empty" }, "无数据 none"))])));
}

function rateCells(figures, names, extra) {
  return names.flatMap(([name, label]) => {
    const f = figures[name];
    return [
      el("td", { class: "num", title: f.formula }, drillable(percent(f.value), { kind: "cases", figure: name,
        part: "numerator", label, ...extra })),
      el("td", { class: "num" }, drillable(`${f.numerator} / ${f.denominator}`,
        { kind: "cases", figure: name, part: "denominator", label: `${label} — 分母 denominator`, ...extra })),
    ];
  });
}

function caseTable(table, keyTitle, rows, names, extraOf) {
  const head = el("tr", {}, el("th", {}, keyTitle), el("th", { class: "num" }, "工单 cases"),
    el("th", { class: "num" }, "派单 dispatched"),
    ...names.flatMap(([, label]) => [el("th", { class: "num" }, label), el("th", { class: "num" }, "分子/分母")]));
  const body = Object.entries(rows).map(([key, figures]) => el("tr", { "data-key": key },
    el("td", {}, key),
    el("td", { class: "num" }, figures.cases === undefined ? "" : drillable(String(figures.cases),
      { kind: "cases", figure: "cases", label: `${key} 工单`, ...extraOf(key) })),
    el("td", { class: "num" }, drillable(String(figures.dispatched), { kind: "cases", figure: "dispatched",
      part: "numerator", label: `${key} 派单`, ...extraOf(key) })),
    ...rateCells(figures, names, extraOf(key))));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...(body.length ? body
    : [el("tr", {}, el("td", { class: "empty" }, "无数据 none"))])));
}

function cases(data) {
  const totals = data.case_kpis.totals;
  caseTable($("case-totals"), "范围 scope", { "合计 all": totals }, [...CASE_RATES, ...HOTLINE_RATES], () => ({}));
  // The formula next to each figure (domain: definitions are part of the product).
  $("case-formulas").replaceChildren(...[...CASE_RATES, ...HOTLINE_RATES].map(([name, label]) =>
    el("li", { "data-figure": name }, `${label}: ${totals[name].formula}`)));
  caseTable($("case-units"), "单位 unit", data.case_kpis.by_unit, CASE_RATES, (unit) => ({ holder: unit }));
  caseTable($("case-categories"), "类别 category", data.case_kpis.by_category,
    [...CASE_RATES, ...HOTLINE_RATES], (key) => ({ filter: { category: key } }));
  caseTable($("case-areas"), "区域 area", data.case_kpis.by_area,
    [...CASE_RATES, ...HOTLINE_RATES], (key) => ({ filter: { area: key } }));
}

function simpleTable(table, head, rows) {
  table.replaceChildren(el("thead", {}, el("tr", {}, ...head.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...(rows.length ? rows.map((cells) => el("tr", {}, ...cells.map((c) => el("td", {}, c))))
      : [el("tr", {}, el("td", { class: "empty" }, "无数据 none"))])));
}

function scores(data) {
  simpleTable($("unit-scores"), ["单位 unit", "得分 score", "满意基数 base", "超期 overdue", "重办 redos",
    "逾期退件 late returns", "加分 bonus"], data.unit_scores.map((u) => [u.unit, u.score.toFixed(1),
    u.base.toFixed(1),
    drillable(String(u.overdue), { kind: "cases", figure: "on_time_rate", part: "shortfall", holder: u.unit,
      label: `${u.unit} 超期 overdue` }),
    drillable(String(u.redos), { kind: "cases", figure: "redo_rate", part: "numerator", holder: u.unit,
      label: `${u.unit} 重办 redos` }),
    String(u.late_returns), String(u.bonus)]));
  $("unit-formula").textContent = data.unit_scores.length ? data.unit_scores[0].formula : "";
  simpleTable($("agent-scores"), ["座席 agent", "质检得分 QA score", "质检通话 QA calls", "接听 answered",
    "15秒接通率 timeliness", "满意率 satisfaction"], data.agent_scores.map((a) => [a.agent,
    a.qa_score === null ? "—" : a.qa_score.toFixed(1), String(a.qa_calls), String(a.answered),
    percent(a.answer_timeliness), percent(a.satisfaction)]));
}

function hot(data) {
  for (const [id, key, title] of [["hot-categories", "categories", "类别 category"],
    ["hot-areas", "areas", "区域 area"]]) {
    const dimension = key === "categories" ? "category" : "area";
    simpleTable($(id), [title, "本期 cases", "上期 previous", "变化 change", "变化率 rate"],
      data.hot_topics[key].map((t) => [t.key,
        drillable(String(t.cases), { kind: "cases", figure: "cases", label: `${t.key}`,
          filter: { [dimension]: t.key } }),
        drillable(String(t.previous), { kind: "cases", figure: "cases", label: `${t.key} 上期 previous`,
          filter: { [dimension]: t.key }, from: data.previous.from, to: data.previous.to }),
        (t.change > 0 ? "+" : "") + t.change, percent(t.change_rate)]));
  }
}

// ---- charts (uPlot; categories on an index axis, bars via uPlot.paths.bars) -----------------

function chart(id, labels, series, options) {
  const box = $(id);
  const width = Math.max(box.clientWidth, 240);
  const xs = labels.map((_, i) => i);
  const bars = uPlot.paths.bars({ size: [0.7, 48] });
  const opts = {
    width, height: 220, legend: { show: false },
    scales: { x: { time: false, range: [-0.5, Math.max(labels.length - 0.5, 0.5)] },
      y: options.percent ? { range: [0, 100] } : { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [
      { values: (u, ticks) => ticks.map((t) => labels[t] ?? ""), incrs: [1, 2, 3, 4, 6, 12], size: 40 },
      { size: 48, values: (u, ticks) => ticks.map((t) => options.percent ? `${t}%` : String(t)) },
    ],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: s.bars ? 1 : 2,
      fill: s.bars ? s.color : undefined, paths: s.bars ? bars : undefined,
      points: { show: !s.bars }, spanGaps: false }))],
  };
  if (charts[id]) charts[id].destroy();
  charts[id] = new uPlot(opts, [xs, ...series.map((s) => s.values)], box);
  if (options.onClick) {
    charts[id].over.addEventListener("click", () => {
      const index = charts[id].cursor.idx;
      if (index !== null && index !== undefined) options.onClick(index);
    });
  }
  return charts[id];
}

function value(figures, name, scale) {
  const figure = figures && figures[name];
  if (!figure || figure.value === null || figure.value === undefined) return null;
  return scale ? +(figure.value * 100).toFixed(1) : figure.value;
}

function drawCharts(data) {
  if (typeof uPlot === "undefined") return;
  const calls = data.call_kpis;
  const daily = data.kind === "daily";
  // Sorted keys: a JS object lists integer-like keys ("10") before the others ("09").
  const hours = Object.keys(daily ? calls.by_hour : calls.hour_of_day).sort();
  const hourValues = daily
    ? hours.map((k) => value(calls.by_hour[k], "offered") + value(calls.by_hour[k], "ivr_hangups"))
    : hours.map((k) => calls.hour_of_day[k]);
  chart("chart-hour", hours.map((k) => (daily ? k.slice(11, 13) : k)),
    [{ label: "calls", color: "#1f6feb", bars: true, values: hourValues }], {});
  const days = Object.keys(calls.by_day);
  chart("chart-day", days.map((d) => d.slice(5)),
    [{ label: "calls", color: "#5b6f86", bars: true,
      values: Object.values(calls.by_day).map((f) => value(f, "offered") + value(f, "ivr_hangups")) }],
    { onClick: (i) => drill({ kind: "calls", figure: "calls", from: days[i], to: days[i], label: `${days[i]} 来电 calls` }) });
  const trend = daily ? calls.by_hour : calls.by_day;
  const trendLabels = Object.keys(trend).map((k) => (daily ? k.slice(11, 16) : k.slice(5)));
  chart("chart-timely", trendLabels, [{ label: "≤15 s", color: "#d4a72c",
    values: Object.values(trend).map((f) => value(f, "answer_timeliness", true)) }], { percent: true });
  const categories = data.case_kpis.by_category;
  chart("chart-category", Object.keys(categories), [{ label: "cases", color: "#d4a72c", bars: true,
    values: Object.values(categories).map((c) => c.cases) }], {});
  const units = data.case_kpis.by_unit;
  chart("chart-units", Object.keys(units), [{ label: "on time", color: "#2da44e", bars: true,
    values: Object.values(units).map((u) => (u.on_time_rate.value === null ? null : +(u.on_time_rate.value * 100).toFixed(1))) }],
  { percent: true });
  chart("chart-satisfaction", trendLabels, [{ label: "satisfaction", color: "#2da44e",
    values: Object.values(trend).map((f) => value(f, "satisfaction", true)) }], { percent: true });
}

async function show(event) {
  if (event) event.preventDefault();
  const params = query();
  for (const format of ["xlsx", "pdf"]) $(`download-${format}`).href = `/api/reports/export?${params}&format=${format}`;
  history.replaceState(null, "", `?${params}`);
  const answer = await api("GET", `/api/reports?${params}`);
  report($("message"), answer);
  if (!answer.ok) return;
  current = answer.data;
  // The period in the hotline's own time (its ISO offset), whatever the browser's zone.
  const local = (iso) => iso.slice(0, 16).replace("T", " ");
  $("period-label").textContent = `${current.title} ${current.label}: ${local(current.from)} — ${local(current.to)}`
    + ` (${current.params.timezone})`;
  callTotals(current);
  breakdown($("call-days"), "日期 day", current.call_kpis.by_day, (day) => ({ from: day, to: day }));
  breakdown($("call-queues"), "队列 queue", current.call_kpis.by_queue, (queue) => ({ filter: { queue } }));
  breakdown($("call-agents"), "座席 agent", current.call_kpis.by_agent, (agent) => ({ filter: { agent } }));
  // A call without a case (or a case without an area or unit) has no filter to drill by.
  const by = (name) => (key) => (key === "未填 none" ? null : { filter: { [name]: key } });
  breakdown($("call-categories"), "类别 category", current.call_kpis.by_category || {}, by("category"));
  breakdown($("call-areas"), "区域 area", current.call_kpis.by_area || {}, by("area"));
  breakdown($("call-units"), "单位 unit", current.call_kpis.by_unit || {}, by("unit"));
  drawCharts(current);
  cases(current);
  scores(current);
  hot(current);
  document.body.dataset.loaded = "yes";
}

(async () => {
  const [zh, en] = TITLES[KIND] || ["报表", "report"];
  document.title = `${zh} · ${en}`;
  $("title").replaceChildren(`${zh} `, el("span", { class: "en" }, en));
  await Console.start();
  const given = new URLSearchParams(location.search);
  const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  $("month-box").hidden = KIND !== "monthly";
  $("date-box").hidden = KIND === "monthly";
  $("report-date").value = given.get("date") || today;
  $("report-month").value = given.get("month") || today.slice(0, 7);
  for (const name of ["queue", "category", "area", "unit", "from", "to"]) $(`report-${name}`).value = given.get(name) || "";
  $("period").addEventListener("submit", show);
  await show();
})();
