// The access log for auditors: who did what, when, from where (logins, playbacks, exports,
// user changes…), newest first. JSON API: /api/access-log (reading it is logged too).
"use strict";

const { $, el, api, report, isoLocal, when } = Console;

async function show(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  const since = $("log-since").value;
  if (since) params.set("since", isoLocal(since));
  const actor = $("log-actor").value.trim();
  if (actor) params.set("actor", actor);
  params.set("limit", $("log-limit").value || "500");
  const answer = await api("GET", `/api/access-log?${params}`);
  report($("message"), answer);
  if (!answer.ok) return;
  const rows = answer.data.entries.map((e) => el("tr", { "data-action": e.action },
    el("td", {}, when(e.at)), el("td", {}, e.actor), el("td", {}, e.role),
    el("td", {}, el("code", {}, e.action)), el("td", {}, e.target || ""),
    el("td", {}, Object.keys(e.detail || {}).length ? el("code", {}, JSON.stringify(e.detail)) : ""),
    el("td", {}, e.remote || "")));
  $("entries").replaceChildren(...(rows.length ? rows
    : [el("tr", {}, el("td", { colspan: 7, class: "empty" }, "没有记录 no entries"))]));
  document.body.dataset.loaded = "yes";
}

(async () => {
  await Console.start();
  $("filter").addEventListener("submit", show);
  await show();
})();
