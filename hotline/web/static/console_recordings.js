// The recordings console (录音查询): search calls, play a recording in the page (the browser
// asks for byte ranges, so seeking works) or download it. The service logs every fetch.
// All text goes through textContent, never innerHTML.
"use strict";

const OUTCOMES = {
  answered: "接通 answered", abandoned: "放弃 abandoned", timeout: "超时 timeout",
  joinempty: "无人 join empty", ivr_hangup: "IVR 挂机", transferred: "转接 transferred",
};
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

function isoDay(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function when(text) {
  if (!text) return "—";
  return new Date(text).toLocaleString("zh-CN", { hour12: false });
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function play(call, row) {
  for (const other of document.querySelectorAll("tr.playing")) other.classList.remove("playing");
  row.classList.add("playing");
  const audio = $("audio");
  audio.src = call.audio_url;
  $("now-playing").textContent = `通话 call #${call.id} · ${call.caller_num || ""} · ${call.answered_by || ""}`;
  audio.play().catch(() => {}); // autoplay may be refused; the controls remain
}

function render(calls, truncated) {
  const body = $("calls");
  body.replaceChildren();
  if (!calls.length) {
    body.append(el("tr", {}, el("td", { colspan: 8, class: "empty" }, "无结果 nothing found")));
  }
  for (const call of calls) {
    const row = el("tr", { "data-call": call.id });
    const actions = el("td", {});
    if (call.audio_url) {
      const button = el("button", { type: "button", class: "play", "data-call": call.id }, "播放 play");
      button.addEventListener("click", () => play(call, row));
      actions.append(button, el("a", { class: "download", href: `${call.audio_url}?download=1` }, "下载 download"));
    } else {
      actions.append("—");
    }
    row.append(
      el("td", {}, when(call.counted_at)),
      el("td", {}, call.caller_num || "—"),
      el("td", {}, call.queue || "—"),
      el("td", {}, call.answered_by || "—"),
      el("td", {}, OUTCOMES[call.outcome] || call.outcome || "—", call.blocked ? " · 骚扰拦截 blocked" : null),
      el("td", {}, `${call.wait_s ?? "—"} / ${call.talk_s ?? "—"} s`),
      el("td", {}, call.ticket || "—"),
      actions,
    );
    body.append(row);
  }
  $("summary").textContent = `${calls.length} 条 calls${truncated ? "（结果过多，请缩小范围 more matched: narrow the search）" : ""}`;
}

async function search(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("search")).entries()) {
    if (String(value).trim() !== "") params.set(key, String(value).trim());
  }
  const response = await fetch(`/api/recordings?${params}`, { credentials: "same-origin" });
  if (response.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showError(`查询失败 search failed: ${(data.error && data.error.message) || response.status}`);
    return;
  }
  showError("");
  render(data.calls, data.truncated);
  document.body.dataset.loaded = "yes";
}

async function start() {
  const today = new Date();
  $("to").value = isoDay(today);
  $("from").value = isoDay(new Date(today.getTime() - 7 * 86400000));
  const session = await fetch("/api/session", { credentials: "same-origin" });
  if (session.ok) {
    const who = await session.json();
    $("who").textContent = `${who.display_name} (${who.role})`;
  }
  // Linked from elsewhere (a case's page: /recordings?ticket=12345-…): those filters first.
  const given = new URLSearchParams(location.search);
  if (given.get("ticket")) $("from").value = isoDay(new Date(today.getTime() - 365 * 86400000));
  for (const [key, value] of given.entries()) {
    const field = $(key);
    if (!field || !field.form) continue;
    if (field.type === "checkbox") field.checked = value === "1";
    else field.value = value;
  }
  $("search").addEventListener("submit", search);
  $("audio").addEventListener("error", () => showError("录音无法播放 the recording cannot be played"));
  await search();
}

start();
