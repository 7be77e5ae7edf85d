// The blocklist console (骚扰号码): add a number with a reason and a number of days, unblock
// one, read the history. All text goes through textContent, never innerHTML.
"use strict";

let csrf = "";
let canEdit = false;
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

async function send(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    showError(`失败 failed: ${(data.error && data.error.message) || response.status}`);
    return null;
  }
  showError("");
  return data;
}

function render(entries) {
  const body = $("entries");
  body.replaceChildren();
  if (!entries.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "无 none")));
  for (const entry of entries) {
    const action = el("td", {});
    if (entry.active && canEdit) {
      const button = el("button", { type: "button", class: "remove", "data-entry": entry.id }, "解除 unblock");
      button.addEventListener("click", async () => {
        const reason = window.prompt("解除原因 reason for unblocking", "") ?? null;
        if (reason === null) return;
        if (await send(`/api/blocklist/${entry.id}/remove`, reason ? { reason } : {})) await load();
      });
      action.append(button);
    } else {
      action.append(entry.active ? "生效 active" : "已失效 inactive");
    }
    body.append(el("tr", { "data-entry": entry.id, class: entry.active ? "active" : "inactive" },
      el("td", {}, entry.number),
      el("td", {}, entry.reason),
      el("td", {}, when(entry.expires_at)),
      el("td", {}, `${entry.added_by} · ${when(entry.added_at)}`),
      el("td", {}, entry.removed_by ? `${entry.removed_by} · ${when(entry.removed_at)} ${entry.remove_reason || ""}` : "—"),
      action));
  }
}

async function load() {
  const history = $("history").checked ? "?history=1" : "";
  const response = await fetch(`/api/blocklist${history}`, { credentials: "same-origin" });
  if (response.status === 401) { location.href = `/login?next=${encodeURIComponent(location.pathname)}`; return; }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) { showError(`加载失败 load failed: ${response.status}`); return; }
  render(data.entries);
  document.body.dataset.loaded = "yes";
}

async function start() {
  const session = await fetch("/api/session", { credentials: "same-origin" });
  if (session.ok) {
    const who = await session.json();
    csrf = who.csrf || "";
    canEdit = who.role === "supervisor" || who.role === "admin";
    $("who").textContent = `${who.display_name} (${who.role})`;
  }
  $("add").hidden = !canEdit;
  $("add").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { number: $("number").value.trim(), reason: $("reason").value.trim(), days: Number($("days").value) };
    if (await send("/api/blocklist", body)) {
      $("number").value = ""; $("reason").value = "";
      await load();
    }
  });
  $("history").addEventListener("change", load);
  await load();
}

start();
