// The call-back list (漏接回拨): what is left and how old; claim one, place the call (the
// service rings the agent's phone, then the citizen), record the result.
// All text goes through textContent, never innerHTML.
"use strict";

const REFRESH_MS = 5000;
const KINDS = {
  abandoned: "放弃 abandoned", timeout: "超时 timed out",
  callback_request: "预约回拨 callback request", survey: "回访 survey",
};
const RESULTS = {
  reached: "已联系 reached", no_answer: "无人接听 no answer", busy: "占线 busy",
  wrong_number: "号码错误 wrong number", not_needed: "无需回拨 not needed",
};
let csrf = "";
let me = "";

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

function age(seconds) {
  if (typeof seconds !== "number") return "—";
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} 分 min`;
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
  const box = $("list-error");
  if (answer.ok) { box.hidden = true; return; }
  const error = (answer.data && answer.data.error) || { message: `HTTP ${answer.status}` };
  box.textContent = `操作失败 failed: ${error.message}`;
  box.dataset.errorId = error.id || "";
  box.hidden = false;
}

async function act(id, what, body) {
  const answer = await api("POST", `/api/callbacks/${id}/${what}`, body);
  showError(answer);
  const row = document.querySelector(`tr[data-callback="${id}"]`);
  if (row && answer.ok && what === "call") row.dataset.placed = "yes";
  await refresh();
  return answer;
}

function actions(item) {
  const box = el("div", { class: "actions" });
  const mine = item.status === "claimed" && item.claimed_by === me;
  if (item.status === "open") {
    const claim = el("button", { type: "button", class: "claim" }, "认领 claim");
    claim.addEventListener("click", () => act(item.id, "claim"));
    box.append(claim);
  }
  if (mine) {
    const call = el("button", { type: "button", class: "call" }, "回拨 call");
    call.addEventListener("click", () => act(item.id, "call"));
    const release = el("button", { type: "button", class: "release" }, "放弃认领 release");
    release.addEventListener("click", () => act(item.id, "release"));
    const result = el("select", { class: "result", "aria-label": "结果 result" },
      ...Object.entries(RESULTS).map(([value, label]) => el("option", { value }, label)));
    const note = el("input", { class: "note", placeholder: "备注 note", maxlength: 2000 });
    const save = el("button", { type: "button", class: "save-result" }, "记录结果 record");
    save.addEventListener("click", () => act(item.id, "result",
      note.value ? { result: result.value, note: note.value } : { result: result.value }));
    box.append(call, release, result, note, save);
  } else if (item.status === "claimed") {
    box.append(el("span", { class: "empty" }, `${item.claimed_by} 处理中 in hand`));
  }
  return box;
}

function render(data) {
  $("summary").textContent =
    `未处理 open ${data.open} · 处理中 claimed ${data.claimed} · 最久 oldest ${age(data.oldest_age_s)}`;
  const body = $("callbacks");
  body.replaceChildren();
  if (!data.items.length) {
    body.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "无 nothing left")));
  }
  for (const item of data.items) {
    const mine = item.status === "claimed" && item.claimed_by === me;
    body.append(el("tr", { "data-callback": item.id, "data-status": item.status,
      class: mine ? "mine" : "" },
      el("td", {}, KINDS[item.kind] || item.kind,
        item.message_url ? el("audio", { controls: "", preload: "none", src: item.message_url, class: "message" }) : null),
      el("td", {}, item.caller_num || "—", " ", item.caller_name || ""),
      el("td", {}, item.queue || "—"),
      el("td", {}, age(item.age_s)),
      el("td", {}, item.status === "open" ? "待认领 open" : "已认领 claimed",
        item.result ? ` · ${RESULTS[item.result] || item.result}` : ""),
      el("td", { class: "attempts" }, String(item.attempts ?? 0)),
      el("td", {}, actions(item))));
  }
  document.body.dataset.loaded = "yes";
}

async function refresh() {
  const answer = await api("GET", "/api/callbacks");
  if (answer.ok) render(answer.data); else showError(answer);
}

async function main() {
  const session = await api("GET", "/api/session");
  csrf = session.data.csrf || "";
  me = session.data.username;
  $("who").textContent = `${session.data.display_name} (${me})`;
  await refresh();
  setInterval(refresh, REFRESH_MS);
}

main();
