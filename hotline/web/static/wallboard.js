// The wallboard: rendered from /ws pushes; polls /api/wallboard while the socket is down.
// All text goes through textContent, never innerHTML: data from the PBX is not trusted.
"use strict";

const STAGES = {
  ivr: ["IVR导航", "IVR"],
  queued: ["排队", "queued"],
  ringing: ["振铃", "ringing"],
  talking: ["通话", "talking"],
};
const STATES = {
  idle: ["空闲", "idle"],
  ringing: ["振铃", "ringing"],
  talking: ["通话", "talking"],
  paused: ["小休", "paused"],
};
const POLL_MS = 2000;
const MAX_WAITING_SHOWN = 8;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function duration(seconds) {
  if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${String(s % 60).padStart(2, "0")}`;
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}

function formatValue(value, unit) {
  if (value === null || value === undefined) return "—";
  if (typeof value !== "number") return String(value);
  if (unit === "ratio") return `${(value * 100).toFixed(1)} %`;
  if (unit === "s") return duration(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function bilingual(pair, fallback) {
  const [zh, en] = pair || [fallback, ""];
  return [zh, " ", el("span", { class: "en" }, en)];
}

function renderKpis(kpis) {
  const box = document.getElementById("kpis");
  const names = Object.keys(kpis || {});
  if (!names.length) {
    box.replaceChildren(el("p", { class: "empty" }, "暂无数据 no figures yet"));
    return;
  }
  box.replaceChildren(...names.map((name) => {
    const k = kpis[name];
    const verdict = k.meets_target === true ? "good" : k.meets_target === false ? "bad" : "";
    const op = k.target_op === "<=" ? "≤" : "≥";
    const target = k.target === null || k.target === undefined
      ? null
      : el("div", { class: "target" }, `目标 target ${op} ${formatValue(k.target, k.unit)}`);
    const parts = [];
    if (k.formula) parts.push(k.formula);
    // Counts and maxima have no denominator: their formula says it all.
    if (k.numerator !== undefined && k.numerator !== null
        && k.denominator !== undefined && k.denominator !== null) {
      parts.push(`${k.numerator} ÷ ${k.denominator}`);
    }
    const minor = k.primary === false ? "minor" : "";
    return el("div", { class: `kpi ${verdict} ${minor}`, "data-kpi": name },
      el("div", { class: "label" }, k.label_zh || "", " ", el("span", { class: "en" }, k.label_en || name)),
      el("div", { class: "value" }, formatValue(k.value, k.unit)),
      target,
      parts.length ? el("div", { class: "formula" }, parts.join(" = ")) : null);
  }));
}

function renderQueues(queues) {
  const box = document.getElementById("queues");
  if (!queues || !queues.length) {
    box.replaceChildren(el("p", { class: "empty" }, "没有队列 no queues"));
    return;
  }
  box.replaceChildren(...queues.map((q) => {
    const waiting = q.waiting || [];
    const members = q.members || [];
    const free = members.filter((m) => m.state === "idle").length;
    const longest = typeof q.longest_wait_s === "number" ? q.longest_wait_s
      : waiting.reduce((max, w) => Math.max(max, w.wait_s || 0), 0);
    // A long queue must not push everything else off the screen.
    const shown = waiting.slice(0, MAX_WAITING_SHOWN);
    const more = waiting.length - shown.length;
    const list = el("ul", { class: "waiting" }, ...shown.map((w) => el("li", {},
      el("span", {}, w.caller || "—",
        w.priority ? el("span", { class: "prio" }, `优先 P${w.priority}`) : null),
      el("span", {}, duration(w.wait_s)))),
      more > 0 ? el("li", { class: "more" }, `… 另有 ${more} 位 ${more} more`) : null);
    const chips = el("div", { class: "members" }, ...members.map((m) => {
      const state = STATES[m.state] || [m.state || "?", ""];
      const reason = m.state === "paused" && m.reason ? ` (${m.reason})` : "";
      return el("span", { class: `member ${m.state || ""}`, title: m.agent || "" },
        m.name ? `${m.name} ${m.agent || ""}` : (m.agent || "?"),
        el("span", { class: "state" }, `${state[0]} ${state[1]}${reason}`,
          typeof m.for_s === "number" ? ` ${duration(m.for_s)}` : ""));
    }));
    return el("div", { class: "queue", "data-queue": q.name },
      el("h3", {}, el("span", { class: "queue-name" }, q.label || q.name || "?"),
        q.label && q.name ? el("span", { class: "en" }, q.name) : null),
      el("div", { class: "figures" },
        el("div", { class: `figure ${waiting.length ? "alert" : ""}` },
          el("b", { class: "waiting-count" }, waiting.length), "排队 ", el("span", { class: "en" }, "waiting")),
        el("div", { class: "figure" }, el("b", {}, duration(longest)),
          "最长等待 ", el("span", { class: "en" }, "longest wait")),
        el("div", { class: "figure" }, el("b", {}, `${free}/${members.length}`),
          "空闲座席 ", el("span", { class: "en" }, "agents free"))),
      waiting.length ? list : null,
      chips);
  }));
}

function renderCalls(calls, summary) {
  const body = document.getElementById("calls");
  body.replaceChildren(...(calls || []).map((c) => el("tr", {},
    el("td", {}, el("span", { class: `stage ${c.stage || ""}` }, ...bilingual(STAGES[c.stage], c.stage || "?"))),
    el("td", {}, c.caller || "—"),
    el("td", {}, c.queue || "—"),
    el("td", {}, c.agent || "—"),
    el("td", {}, duration(c.for_s)))));
  const s = summary || { in_flight: 0, by_stage: {} };
  const counts = Object.entries(s.by_stage || {})
    .map(([stage, n]) => `${(STAGES[stage] || [stage])[0]} ${n}`).join(" · ");
  document.getElementById("call-summary").textContent = `共 ${s.in_flight} total — ${counts}`;
}

function renderErrors(errors) {
  const box = document.getElementById("errors");
  const parts = Object.entries(errors || {});
  box.hidden = !parts.length;
  box.textContent = parts.map(([k, v]) => `数据异常 data problem (${k}): ${v}`).join("; ");
}

function render(snapshot, source) {
  renderKpis(snapshot.kpis);
  renderQueues(snapshot.queues);
  renderCalls(snapshot.calls, snapshot.summary);
  renderErrors(snapshot.errors);
  document.body.dataset.source = source;
  document.body.dataset.updated = String(snapshot.at);
}

function setLink(state) {
  const link = document.getElementById("link");
  const text = { live: "实时 live", polling: "轮询 polling", offline: "断开 offline" }[state];
  link.className = `link ${state}`;
  link.textContent = text;
}

let pollTimer = null;
async function pollOnce() {
  try {
    const response = await fetch("/api/wallboard", { cache: "no-store" });
    if (response.status === 401) {
      // The session ended (logged out, expired, account disabled): back to the login page.
      location.assign("/login?next=%2F");
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json(), "poll");
    setLink("polling");
  } catch (error) {
    setLink("offline");
  }
}
function startPolling() {
  if (pollTimer === null) {
    pollOnce();
    pollTimer = setInterval(pollOnce, POLL_MS);
  }
}
function stopPolling() {
  if (pollTimer !== null) {
    clearInterval(pollTimer);
    pollTimer = null;
  }
}

function connect() {
  openReconnectingSocket("/ws", {
    onMessage: (message) => {
      if (message.type !== "wallboard") return;
      stopPolling();
      setLink("live");
      render(message, "ws");
    },
    onDown: startPolling,  // the page keeps showing the truth from /api/wallboard meanwhile
  });
}

function tickClock() {
  document.getElementById("clock").textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false });
}

tickClock();
setInterval(tickClock, 1000);
connect();
