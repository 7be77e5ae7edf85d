// KPI exclusion windows (剔除时段): calls that arrived in a window are left out of the call
// figures. List, add, remove. JSON API: /api/kpi/exclusions.
"use strict";

const { $, el, api, report, isoLocal, when } = Console;

async function refresh() {
  const answer = await api("GET", "/api/kpi/exclusions");
  report($("list-message"), answer);
  if (!answer.ok) return;
  const rows = answer.data.exclusions.map((w) => el("tr", { "data-window": w.id },
    el("td", {}, when(w.start)), el("td", {}, when(w.end)), el("td", { class: "reason" }, w.reason),
    el("td", {}, w.created_by || "—"),
    el("td", {}, el("button", { type: "button", class: "danger", "data-action": "remove",
      onclick: () => remove(w) }, "删除 remove"))));
  $("windows").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 5, class: "empty" }, "没有剔除时段 no windows"))]));
  document.body.dataset.loaded = "yes";
}

async function remove(window_) {
  if (!confirm(`删除剔除时段「${window_.reason}」？ Remove this window?`)) return;
  const answer = await api("POST", `/api/kpi/exclusions/${window_.id}/remove`);
  report($("list-message"), answer, "已删除 removed");
  await refresh();
}

async function add(event) {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target).entries());
  const answer = await api("POST", "/api/kpi/exclusions", {
    start: isoLocal(data.start), end: isoLocal(data.end), reason: data.reason.trim(),
  });
  report($("form-message"), answer, "已新增 added");
  if (answer.ok) {
    event.target.reset();
    await refresh();
  }
}

(async () => {
  await Console.start();
  $("new-window").addEventListener("submit", add);
  await refresh();
})();
