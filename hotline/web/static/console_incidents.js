// Major-fault announcements (重大故障): publish one (area = caller prefixes and districts,
// menu branch, the text the IVR speaks), list active and ended ones, see who was merged
// (并单; the API masks numbers by role), end one. JSON API: /api/incidents.
// Early warning (预警): bursts of similar calls from one area, suggested as incidents; one
// click announces one on the IVR, or it is dismissed with a reason. JSON API: /api/warnings.
"use strict";

const { $, el, api, report, isoLocal, when } = Console;

const list = (value) => value.split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);

function scope(incident) {
  const parts = [...incident.prefixes.map((p) => `${p}…`), ...incident.districts];
  return parts.length ? parts.join(", ") : "所有来电 everyone";
}

function row(incident) {
  const active = incident.status === "active";
  const actions = el("div", { class: "actions" },
    el("button", { type: "button", "data-action": "merged", onclick: () => showMerged(incident) },
      "并单来电 merged"));
  if (active) {
    actions.append(el("button", { type: "button", class: "danger", "data-action": "end",
      onclick: () => endIncident(incident) }, "结束 end"));
  }
  return el("tr", { "data-incident": incident.id, "data-status": incident.status },
    el("td", {}, el("code", {}, incident.id)),
    el("td", {}, incident.title, incident.text ? el("div", { class: "en" }, incident.text) : null),
    el("td", { class: `status-${incident.status}` }, active ? "进行中 active" : "已结束 ended"),
    el("td", {}, scope(incident)),
    el("td", {}, incident.branch || "全部 all"),
    el("td", {}, when(incident.start), el("div", { class: "en" },
      incident.ended_at ? `结束 ended ${when(incident.ended_at)}`
        : incident.expected_end ? `预计 until ${when(incident.expected_end)}` : "")),
    el("td", { class: "num merged-count" }, String(incident.merged_callers ?? 0)),
    el("td", {}, actions));
}

const KINDS = { category: "类别 category", branch: "按键 branch" };
const STATUSES = { open: "待处理 open", accepted: "已发布 announced", dismissed: "已忽略 dismissed" };

function warningRow(s) {
  const actions = el("div", { class: "actions" });
  if (s.status === "open") {
    actions.append(
      el("button", { type: "button", class: "primary", "data-action": "accept",
        onclick: () => acceptWarning(s) }, "发布播报 announce"),
      el("button", { type: "button", "data-action": "dismiss",
        onclick: () => dismissWarning(s) }, "忽略 dismiss"));
  } else if (s.incident_id) {
    actions.append(el("code", {}, s.incident_id));
  } else if (s.reason) {
    actions.append(el("span", { class: "en" }, s.reason));
  }
  return el("tr", { "data-warning": s.id, "data-status": s.status },
    el("td", {}, s.area, el("div", { class: "en" }, s.prefixes.map((p) => `${p}…`).join(", "))),
    el("td", {}, `${KINDS[s.kind] || s.kind}: ${s.value}`),
    el("td", { class: "num warning-calls" }, String(s.calls)),
    el("td", { class: "num" }, `${s.expected.toFixed(1)} → ≥ ${Math.ceil(s.threshold)}`),
    el("td", {}, when(s.first_call_at), el("div", { class: "en" }, when(s.last_call_at))),
    el("td", { class: s.status === "open" ? "status-active" : "status-ended" },
      STATUSES[s.status] || s.status,
      s.decided_by ? el("div", { class: "en" }, s.decided_by) : null),
    el("td", {}, actions));
}

async function refreshWarnings() {
  const answer = await api("GET", "/api/warnings");
  if (answer.status === 503) {  // early warning is switched off on this server
    $("warnings-panel").hidden = true;
    return;
  }
  report($("warnings-message"), answer);
  if (!answer.ok) return;
  const rule = answer.data.rule;
  $("warning-rule").textContent = `· ≥ ${rule.min_calls} 次 / ${rule.window_s / 60} 分钟，且 ≥ ${rule.ratio} × 近${rule.baseline_weeks}周同时段`;
  const rows = answer.data.suggestions.map(warningRow);
  $("warnings").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "没有预警 no suggestions"))]));
}

async function acceptWarning(s) {
  const answer = await api("POST", `/api/warnings/${encodeURIComponent(s.id)}/accept`, {});
  report($("warnings-message"), answer, `已发布 announced ${s.area}`);
  await refresh();
}

async function dismissWarning(s) {
  const reason = prompt(`忽略 ${s.area} 的预警？原因 Why dismiss it?`, "");
  if (reason === null) return;
  const answer = await api("POST", `/api/warnings/${encodeURIComponent(s.id)}/dismiss`,
    reason.trim() ? { reason: reason.trim() } : {});
  report($("warnings-message"), answer, `已忽略 dismissed ${s.area}`);
  await refresh();
}

async function refresh() {
  await refreshWarnings();
  const answer = await api("GET", "/api/incidents");
  report($("list-message"), answer);
  if (!answer.ok) return;
  const rows = answer.data.incidents.map(row);
  $("incidents").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 8, class: "empty" }, "没有故障公告 no announcements"))]));
  document.body.dataset.loaded = "yes";
}

async function showMerged(incident) {
  const answer = await api("GET", `/api/incidents/${encodeURIComponent(incident.id)}/merged`);
  report($("list-message"), answer);
  if (!answer.ok) return;
  $("merged-of").textContent = `· ${incident.id} ${incident.title}`;
  const rows = answer.data.callers.map((c) => el("tr", {},
    el("td", { class: "caller" }, c.caller_num || "—"), el("td", {}, when(c.at)),
    el("td", {}, el("code", {}, c.linkedid))));
  $("merged").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 3, class: "empty" }, "还没有并单 nobody merged yet"))]));
  $("merged-panel").hidden = false;
}

async function endIncident(incident) {
  if (!confirm(`结束故障公告 ${incident.id}？ End this announcement?`)) return;
  const answer = await api("POST", `/api/incidents/${encodeURIComponent(incident.id)}/end`);
  report($("list-message"), answer, `已结束 ended ${incident.id}`);
  await refresh();
}

async function publish(event) {
  event.preventDefault();
  const form = event.target;
  const data = Object.fromEntries(new FormData(form).entries());
  const body = {
    id: data.id.trim(), title: data.title.trim(), text: data.text.trim(),
    start: isoLocal(data.start), prefixes: list(data.prefixes), districts: list(data.districts),
  };
  if (data.expected_end) body.expected_end = isoLocal(data.expected_end);
  if (data.branch.trim()) body.branch = data.branch.trim();
  // Without a recording of its own the incident's text is synthesised under its own name.
  body.prompt = data.prompt.trim() || `hotline/incidents/${body.id}`;
  const answer = await api("POST", "/api/incidents", body);
  report($("form-message"), answer, `已发布 published ${body.id}`);
  if (answer.ok) {
    form.reset();
    defaultStart();
    await refresh();
  }
}

function defaultStart() {
  const now = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  $("inc-start").value = now.toISOString().slice(0, 16);
}

(async () => {
  await Console.start();
  defaultStart();
  $("new-incident").addEventListener("submit", publish);
  await refresh();
  setInterval(refresh, 10000);
})();
