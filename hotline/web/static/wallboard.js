// The wall screen: rendered from /ws pushes; polls /api/wallboard while the socket is down.
// It never lies: "实时 live" only while fresh pictures keep arriving (the server re-sends an
// unchanged one well within stale_after_s) and the server says every source is up; otherwise
// a red banner says what is wrong and the figures are marked stale.
// All text goes through textContent, never innerHTML: data from the PBX is not trusted.
"use strict";

const STATES = {
  ready: ["空闲", "ready"],
  ringing: ["振铃", "ringing"],
  talking: ["通话", "talking"],
  paused: ["暂停", "paused"],
  wrap_up: ["话后", "wrap-up"],
};
const SPY_MODES = { listen: "监听", whisper: "密语", barge: "强插" };
const POLL_MS = 2000;

let staleAfterMs = 10000;
let lastFresh = null; // performance.now() of the last picture received
let lastStatus = { live: false, problems: [] };
let linkState = "offline";
let session = { role: "", csrf: "" };
let lastPicture = null;
let spying = null; // {agent, mode, session}

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
  if (s < 60) return `${s}s`;
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

// ---- tiles, queues, agents -------------------------------------------------------------------

function renderTiles(tiles) {
  const box = document.getElementById("tiles");
  box.replaceChildren(...(tiles || []).map((t) => {
    let target = null;
    if (t.target !== null && t.target !== undefined) {
      const op = t.target_op === "<=" ? "≤" : "≥";
      const ratio = t.numerator !== null && t.numerator !== undefined
        && t.denominator !== null && t.denominator !== undefined ? ` · ${t.numerator} ÷ ${t.denominator}` : "";
      target = el("div", { class: "target", title: t.formula || "" },
        `目标 target ${op} ${formatValue(t.target, t.unit)}${ratio}`);
    } else if (t.name === "staffing") {
      // Logged in now against the Erlang C planner's need for this half hour.
      target = el("div", { class: "target", title: t.formula || "" },
        `可接 available ${t.available} · Erlang C`);
    } else if (t.formula) {
      target = el("div", { class: "target" }, t.formula);
    }
    const value = t.name === "staffing"
      ? `${t.value} / ${t.needed === null || t.needed === undefined ? "—" : t.needed}`
      : formatValue(t.value, t.unit);
    return el("div", { class: `tile ${t.level || ""}`, "data-tile": t.name },
      el("div", { class: "label" }, t.label_zh || "", " ", el("span", { class: "en" }, t.label_en || "")),
      el("div", { class: "value" }, value),
      target);
  }));
}

function cell(text, level) {
  return el("td", { class: level || "" }, text);
}

function renderQueues(rows) {
  const body = document.getElementById("queues");
  if (!rows || !rows.length) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: "10", class: "empty" }, "没有队列 no queues")));
    return;
  }
  body.replaceChildren(...rows.map((q) => el("tr", { "data-queue": q.name },
    el("td", { class: "queue-name" }, q.name),
    cell(q.waiting, q.waiting_level),
    cell(duration(q.longest_wait_s), q.longest_level),
    cell(q.ready), cell(q.ringing), cell(q.talking), cell(q.paused), cell(q.wrap_up),
    cell(formatValue(q.answer_timeliness, "ratio"), q.answer_timeliness_level),
    cell(formatValue(q.connect_rate, "ratio"), q.connect_rate_level))));
}

function layoutAgents(count) {
  // The largest tiles (about 2.4 : 1) that put every agent on the screen at once.
  const box = document.getElementById("agents");
  const w = box.clientWidth || 1;
  const h = box.clientHeight || 1;
  // Sized for at least 24 tiles, so a handful of agents do not get wall-sized tiles.
  const slots = Math.max(count, 24);
  let best = { cols: 1, rows: slots, size: 0 };
  for (let cols = 1; cols <= 16; cols++) {
    const rows = Math.max(1, Math.ceil(slots / cols));
    const size = Math.min(w / cols / 2.4, h / rows);
    if (size > best.size) best = { cols, rows, size };
  }
  box.style.setProperty("--cols", best.cols);
  box.style.setProperty("--rows", best.rows);
  box.style.fontSize = `${Math.max(10, Math.min(22, best.size * 0.27))}px`;
}

function spyButtons(agent) {
  if (!agent.in_call || !["supervisor", "admin"].includes(session.role)) return null;
  return el("div", { class: "spy" }, ...Object.entries(SPY_MODES).map(([mode, zh]) => {
    const on = spying && spying.agent === agent.id && spying.mode === mode;
    const button = el("button", { type: "button", class: on ? "on" : "", "data-spy": mode,
      title: mode }, zh);
    button.addEventListener("click", () => startSpy(agent, mode));
    return button;
  }));
}

function renderAgents(agents, counts) {
  const box = document.getElementById("agents");
  const list = agents || [];
  layoutAgents(list.length);
  if (!list.length) {
    box.replaceChildren(el("p", { class: "empty" }, "没有签入的座席 no agents signed in"));
  } else {
    box.replaceChildren(...list.map((a) => {
      const state = STATES[a.state] || [a.state || "?", ""];
      const reason = a.reason && a.state === "paused" ? ` · ${a.reason}` : "";
      return el("div", { class: `agent ${a.state || ""} ${a.level || ""}`, "data-agent": a.name },
        el("div", { class: "name" }, a.name),
        el("div", { class: "state" }, state[0], reason, " ",
          el("span", { class: "for" }, duration(a.for_s))),
        spyButtons(a));
    }));
  }
  const c = counts || {};
  document.getElementById("agent-counts").textContent =
    `空闲 ${c.ready || 0} · 振铃 ${c.ringing || 0} · 通话 ${c.talking || 0} · 暂停 ${c.paused || 0} · 话后 ${c.wrap_up || 0}`;
}

// ---- trend chart (uPlot, served from /static: the wall screen is offline) ---------------------

let chart = null;
function trendData(trend) {
  const rows = trend || [];
  return [
    rows.map((r) => r.hour),
    rows.map((r) => r.offered),
    rows.map((r) => r.answered),
    rows.map((r) => r.abandoned),
    rows.map((r) => (r.answer_timeliness === null || r.answer_timeliness === undefined
      ? null : r.answer_timeliness * 100)),
  ];
}
function renderTrend(trend) {
  const box = document.getElementById("trend");
  const data = trendData(trend);
  const size = { width: Math.max(box.clientWidth, 100), height: Math.max(box.clientHeight - 4, 60) };
  if (typeof uPlot === "undefined") return;
  if (chart === null) {
    const bars = (fraction) => uPlot.paths.bars({ size: [fraction, 60] });
    const axis = { stroke: "#8fa3b6", grid: { stroke: "#2a3847", width: 1 }, ticks: { stroke: "#2a3847" } };
    chart = new uPlot({
      ...size,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [-0.5, 23.5] }, pct: { range: [0, 100] } },
      axes: [
        { ...axis, values: (u, ticks) => ticks.map((t) => `${t}时`), incrs: [1, 2, 3] },
        { ...axis, size: 44 },
        { ...axis, scale: "pct", side: 1, size: 44, grid: { show: false }, values: (u, ticks) => ticks.map((t) => `${t}%`) },
      ],
      series: [
        {},
        { label: "offered", stroke: "#5b6f86", fill: "#5b6f86", paths: bars(0.8), points: { show: false } },
        { label: "answered", stroke: "#4aa3ff", fill: "#4aa3ff", paths: bars(0.55), points: { show: false } },
        { label: "abandoned", stroke: "#ef4f4f", fill: "#ef4f4f", paths: bars(0.25), points: { show: false } },
        { label: "≤15 s", stroke: "#f2b33d", width: 2, scale: "pct", spanGaps: false },
      ],
    }, data, box);
  } else {
    if (chart.width !== size.width || chart.height !== size.height) chart.setSize(size);
    chart.setData(data);
  }
}

// ---- truth: fresh pictures and healthy sources, or a banner ----------------------------------

function updateTruth() {
  const age = lastFresh === null ? Infinity : performance.now() - lastFresh;
  const fresh = age <= staleAfterMs;
  const problems = (lastStatus.problems || []).map((p) => `${p.zh} ${p.en}`);
  if (!fresh) {
    problems.unshift(lastFresh === null
      ? "尚未收到数据 no data yet"
      : `数据已 ${Math.round(age / 1000)} 秒未更新 no update for ${Math.round(age / 1000)} s`);
  }
  const live = fresh && lastStatus.live === true && !problems.length;
  document.body.dataset.live = String(live);
  const banner = document.getElementById("banner");
  banner.hidden = live;
  const text = live ? "" : `⚠ 数据不是实时的 NOT LIVE — ${problems.join(" · ") || "未知原因 unknown"}`;
  if (banner.textContent !== text) banner.textContent = text;
  const link = document.getElementById("link");
  const [cls, label] = live ? ["live", "实时 live"]
    : linkState === "offline" ? ["offline", "断开 offline"] : ["stale", "过期 stale"];
  link.className = `link ${cls}`;
  link.textContent = label;
}

function render(snapshot, source) {
  const wall = snapshot.wall || {};
  lastPicture = wall;
  lastStatus = wall.status || { live: false, problems: [] };
  if (typeof lastStatus.stale_after_s === "number") staleAfterMs = lastStatus.stale_after_s * 1000;
  lastFresh = performance.now();
  renderTiles(wall.tiles);
  renderQueues(wall.queues);
  renderAgents(wall.agents, wall.agent_counts);
  renderTrend(wall.trend);
  document.body.dataset.source = source;
  document.body.dataset.updated = String(snapshot.at);
  updateTruth();
}

// ---- listen / whisper / barge (supervisors) ---------------------------------------------------

function spyNote(text, error) {
  const note = document.getElementById("spy-note");
  note.hidden = !text;
  note.className = `spy-note ${error ? "error" : ""}`;
  note.textContent = text || "";
}

async function startSpy(agent, mode) {
  spyNote(`正在呼叫您的话机… calling your phone (${SPY_MODES[mode]} ${agent.name})`);
  try {
    const response = await fetch("/api/spy", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": session.csrf },
      body: JSON.stringify({ agent: agent.id, mode }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = (body.error && body.error.message) || `HTTP ${response.status}`;
      spyNote(`${SPY_MODES[mode]}失败 failed: ${message}`, true);
      return;
    }
    spying = { agent: agent.id, mode, session: body.id };
    document.body.dataset.spy = mode;
    document.getElementById("spy-stop").hidden = false;
    spyNote(`${SPY_MODES[mode]} ${agent.name}: 请接听您的话机 answer your phone · 话机按 4 监听 / 5 密语 / 6 强插`);
    if (lastPicture) renderAgents(lastPicture.agents, lastPicture.agent_counts);
  } catch (error) {
    spyNote(`${SPY_MODES[mode]}失败 failed: ${error}`, true);
  }
}

async function stopSpy() {
  try {
    const response = await fetch("/api/spy/stop", {
      method: "POST",
      headers: { "X-CSRF-Token": session.csrf },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      spyNote(`结束失败 stop failed: ${(body.error && body.error.message) || response.status}`, true);
      return;
    }
    spying = null;
    delete document.body.dataset.spy;
    document.getElementById("spy-stop").hidden = true;
    spyNote("");
    if (lastPicture) renderAgents(lastPicture.agents, lastPicture.agent_counts);
  } catch (error) {
    spyNote(`结束失败 stop failed: ${error}`, true);
  }
}
document.getElementById("spy-stop").addEventListener("click", stopSpy);

// ---- transport: WebSocket, polling while it is down --------------------------------------------

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
    linkState = "polling";
    render(await response.json(), "poll");
  } catch (error) {
    linkState = "offline";
    updateTruth();
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
  // The shared reconnecting socket (ws_reconnect.js); polling keeps the truth coming meanwhile.
  openReconnectingSocket("/ws", {
    onMessage: (message) => {
      if (message.type !== "wallboard") return;
      stopPolling();
      linkState = "ws";
      render(message, "ws");
    },
    onDown: () => {
      linkState = "offline";
      updateTruth();
      startPolling();
    },
  });
}

async function loadSession() {
  try {
    const response = await fetch("/api/session", { cache: "no-store" });
    if (!response.ok) return;
    session = await response.json();
    document.getElementById("logout-csrf").value = session.csrf || "";
    document.getElementById("logout-form").hidden = false;
    if (lastPicture) renderAgents(lastPicture.agents, lastPicture.agent_counts);
  } catch (error) {
    // No session info: no logout button and no spy buttons; the board itself still works.
  }
}

function tickClock() {
  document.getElementById("clock").textContent = new Date().toLocaleTimeString("zh-CN", { hour12: false });
  updateTruth();
}

window.addEventListener("resize", () => {
  if (lastPicture) {
    renderAgents(lastPicture.agents, lastPicture.agent_counts);
    renderTrend(lastPicture.trend);
  }
});

tickClock();
setInterval(tickClock, 1000);
loadSession();
connect();
