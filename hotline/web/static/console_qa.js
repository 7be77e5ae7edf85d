// The QA console (录音质检): QA staff and supervisors draw the month's spot-check sample, play
// a call and score it item by item (a comment wherever points are taken off); agents see their
// own scores. All text goes through textContent, never innerHTML.
"use strict";

let csrf = "";
let scorecard = [];
let current = null;
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

const when = (text) => (text ? new Date(text).toLocaleString("zh-CN", { hour12: false }) : "—");

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin" });
  if (response.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return null; }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { showError(`加载失败 failed: ${(data.error && data.error.message) || response.status}`); return null; }
  return data;
}

function markedDown(items) {
  return items.filter((i) => i.awarded < i.points).map((i) => `${i.label} −${i.points - i.awarded}${i.comment ? `（${i.comment}）` : ""}`).join("；") || "—";
}

function totalNow() {
  let total = 0;
  for (const item of scorecard) {
    const input = $(`points-${item.id}`);
    total += item.kind === "check" ? (input.checked ? 0 : item.points) : Number(input.value || 0);
  }
  $("total").textContent = String(total);
}

function openScoring(call) {
  current = call;
  $("scoring").hidden = false;
  $("scoring-call").textContent = `#${call.call_id} · ${call.agent}`;
  $("audio").src = call.audio_url;
  const body = $("items");
  body.replaceChildren();
  for (const item of scorecard) {
    const input = item.kind === "check"
      ? el("input", { type: "checkbox", id: `points-${item.id}`, title: "违反 broken" })
      : el("input", { type: "number", id: `points-${item.id}`, min: 0, max: item.points, value: item.points });
    input.addEventListener("input", totalNow);
    body.append(el("tr", { "data-item": item.id },
      el("td", {}, item.label, item.phrases.length ? el("div", { class: "phrases" }, `禁用语 listen for: ${item.phrases.join("、")}`) : null),
      el("td", {}, String(item.points)),
      el("td", {}, input, item.kind === "check" ? " 违反 broken" : ""),
      el("td", {}, el("input", { type: "text", id: `comment-${item.id}`, maxlength: 1000 }))));
  }
  $("comment").value = "";
  totalNow();
}

async function save(event) {
  event.preventDefault();
  const items = scorecard.map((item) => {
    const input = $(`points-${item.id}`);
    const points = item.kind === "check" ? (input.checked ? 0 : item.points) : Number(input.value || 0);
    const comment = $(`comment-${item.id}`).value.trim();
    return comment ? { id: item.id, points, comment } : { id: item.id, points };
  });
  const body = { call_id: current.call_id, items };
  if ($("comment").value.trim()) body.comment = $("comment").value.trim();
  const response = await fetch("/api/qa/scores", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { showError(`评分失败 not saved: ${(data.error && data.error.message) || response.status}`); return; }
  showError("");
  $("scoring").hidden = true;
  await loadReviewer();
}

async function loadReviewer() {
  const month = $("month").value;
  const sample = await getJson(`/api/qa/sample?month=${month}`);
  if (!sample) return;
  const body = $("sample");
  body.replaceChildren();
  if (!sample.calls.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "本月无录音 no recorded calls")));
  for (const call of sample.calls) {
    const button = el("button", { type: "button", class: "score", "data-call": call.call_id }, call.scored ? "已评 scored" : "评分 score");
    if (call.scored) button.disabled = true;
    button.addEventListener("click", () => openScoring(call));
    body.append(el("tr", { "data-call": call.call_id },
      el("td", {}, call.agent), el("td", {}, `#${call.call_id}`), el("td", {}, when(call.counted_at)),
      el("td", {}, `${call.talk_s ?? "—"} s`), el("td", {}, call.score ?? "—"), el("td", {}, button)));
  }
  const monthly = await getJson(`/api/qa/monthly?month=${month}`);
  if (!monthly) return;
  const rows = $("monthly");
  rows.replaceChildren();
  for (const agent of monthly.agents) {
    rows.append(el("tr", { "data-agent": agent.agent },
      el("td", {}, agent.agent), el("td", {}, String(agent.calls)), el("td", { class: "month-score" }, agent.score.toFixed(1)),
      el("td", {}, Object.entries(agent.marked_down).map(([k, n]) => `${k}×${n}`).join(" ") || "—")));
  }
}

async function loadMine() {
  const data = await getJson(`/api/qa/mine?month=${$("month").value}`);
  if (!data) return;
  $("my-score").textContent = data.score ? `${data.score.score} / 100（${data.score.calls} 通 calls）` : "—";
  const body = $("my-scores");
  body.replaceChildren();
  for (const score of data.scores) {
    body.append(el("tr", { "data-call": score.call_id },
      el("td", {}, `#${score.call_id} ${when(score.call_at)}`,
        score.audio_url ? el("audio", { controls: "", preload: "none", src: score.audio_url }) : null),
      el("td", {}, String(score.total)),
      el("td", {}, markedDown(score.items)), el("td", {}, score.comment || "—")));
  }
}

async function start() {
  const session = await getJson("/api/session");
  if (!session) return;
  csrf = session.csrf || "";
  $("who").textContent = `${session.display_name} (${session.role})`;
  const now = new Date();
  $("month").value = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const agent = session.role === "agent";
  $("mine").hidden = !agent;
  $("reviewer").hidden = agent;
  const load = agent ? loadMine : loadReviewer;
  if (!agent) {
    scorecard = (await getJson("/api/qa/scorecard")).items;
    $("scoring").addEventListener("submit", save);
  }
  $("month").addEventListener("change", load);
  await load();
  document.body.dataset.loaded = "yes";
}

start();
