// The supervisor's desk console (班长台): every desk agent's live state, with remote pause
// and log-out (the reason is required: the access log keeps who, whom, when and why), and
// the call-back list's state. All text goes through textContent, never innerHTML.
"use strict";

const REFRESH_MS = 5000;
const STATES = {
  logged_out: "未签入 logged out", ready: "就绪 ready", ringing: "振铃 ringing",
  talking: "通话 talking", wrap_up: "话后处理 wrap-up", paused: "暂停 paused",
};
const KINDS = {
  abandoned: "放弃 abandoned", timeout: "超时 timed out",
  callback_request: "预约回拨 callback request", survey: "回访 survey",
};
const STATUS = { open: "待认领 open", claimed: "已认领 claimed", done: "已完成 done" };
let csrf = "";
let clockOffset = 0;  // the PBX's clock minus this browser's

const $ = (id) => document.getElementById(id);

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
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${String(s % 60).padStart(2, "0")}`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h} 小时 h ${m % 60} 分` : `${Math.floor(h / 24)} 天 days`;
}

async function api(method, path, body) {
  const options = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  if (method !== "GET") options.headers["X-CSRF-Token"] = csrf;
  const response = await fetch(path, options);
  if (response.status === 401) {
    location.href = `/login?next=${encodeURIComponent(location.pathname)}`;
    throw new Error("login required");
  }
  let data = null;
  try { data = await response.json(); } catch (error) { data = null; }
  return { status: response.status, ok: response.ok, data };
}

function showError(answer) {
  const box = $("agents-error");
  if (answer.ok) { box.hidden = true; return; }
  const error = (answer.data && answer.data.error) || { message: `HTTP ${answer.status}` };
  box.textContent = `操作失败 failed: ${error.message}`;
  box.dataset.errorId = error.id || "";
  box.hidden = false;
}

async function act(username, what) {
  const why = $("why").value.trim();
  const body = what === "pause"
    ? (why ? { reason: $("pause-reason").value, note: why } : { reason: $("pause-reason").value })
    : { reason: why };
  if (what === "logout" && !why) {
    showError({ ok: false, data: { error: { id: "input.required", message: "说明原因 give a reason" } } });
    $("why").focus();
    return;
  }
  const answer = await api("POST", `/api/supervisor/agents/${encodeURIComponent(username)}/${what}`, body);
  showError(answer);
  await refresh();
}

function renderAgents(data) {
  if (typeof data.now === "number") clockOffset = data.now - Date.now() / 1000;
  const select = $("pause-reason");
  if (select.options.length !== data.pause_reasons.length) {
    select.replaceChildren(...data.pause_reasons.map((r) => el("option", { value: r }, r)));
  }
  const body = $("agents");
  body.replaceChildren();
  if (!data.items.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "无座席 no desk agents")));
  for (const a of data.items) {
    const reason = a.reason ? ` · ${a.reason}` : "";
    const since = typeof a.since === "number" ? Date.now() / 1000 + clockOffset - a.since : null;
    const pause = el("button", { type: "button", class: "pause" }, "暂停 pause");
    pause.addEventListener("click", () => act(a.username, "pause"));
    const logout = el("button", { type: "button", class: "logout" }, "签出 log out");
    logout.addEventListener("click", () => act(a.username, "logout"));
    const working = a.state !== "logged_out";
    body.append(el("tr", { "data-agent": a.username, "data-state": a.state, "data-reason": a.reason || "" },
      el("td", {}, a.name, " ", el("span", { class: "en" }, a.username)),
      el("td", {}, `${a.extension} · ${a.pbx}`),
      el("td", { class: `state ${a.state}` }, (STATES[a.state] || a.state) + reason),
      el("td", {}, since === null ? "—" : duration(since)),
      el("td", {}, a.queues.join(", ") || "—"),
      el("td", { class: "actions" }, working ? pause : null, working ? logout : null)));
  }
}

function renderCallbacks(data) {
  $("callback-summary").textContent = `未处理 open ${data.open} · 处理中 claimed ${data.claimed}`
    + ` · 今日完成 done today ${data.done} · 最久 oldest ${duration(data.oldest_age_s)}`;
  const body = $("callbacks");
  body.replaceChildren();
  if (!data.items.length) body.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "无 none")));
  for (const item of data.items) {
    const results = item.attempt_log.map((a) => `${a.at.slice(11, 16)} ${a.agent} ${a.result}`
      + (a.detail ? ` (${a.detail})` : ""));
    body.append(el("tr", { "data-callback": item.id, "data-status": item.status },
      el("td", {}, KINDS[item.kind] || item.kind),
      el("td", {}, item.caller_num || "—", " ", item.caller_name || ""),
      el("td", {}, item.queue || "—"),
      el("td", {}, duration(item.age_s)),
      el("td", {}, STATUS[item.status] || item.status, item.result ? ` · ${item.result}` : ""),
      el("td", { class: "claimed-by" }, item.claimed_by || "—"),
      el("td", { class: "attempts" }, String(item.attempts)),
      el("td", { class: "results" }, results.join("; ") || "—")));
  }
}

async function refresh() {
  const [agents, callbacks] = await Promise.all([
    api("GET", "/api/supervisor/agents"), api("GET", "/api/supervisor/callbacks")]);
  if (agents.ok) renderAgents(agents.data); else showError(agents);
  if (callbacks.ok) renderCallbacks(callbacks.data);
  document.body.dataset.loaded = "yes";
}

async function main() {
  const session = await api("GET", "/api/session");
  csrf = session.data.csrf || "";
  $("who").textContent = `${session.data.display_name} (${session.data.username})`;
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
