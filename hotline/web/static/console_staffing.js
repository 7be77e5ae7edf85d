// Staffing (排班测算): the Erlang C plan of a day per half hour — calls forecast from the
// same weekday of recent weeks (or typed in a row), AHT from the history (or typed), the
// agents needed for the target with the service level and ASA they give.
// JSON API: GET /api/staffing?date=…, POST /api/staffing/plan.
"use strict";

const { $, el, api, report } = Console;

// Calls typed into a row: slot → calls (kept across re-plans until "forecast again").
let typed = {};

const percent = (value) => `${(value * 100).toFixed(1)} %`;

function row(slot) {
  const input = el("input", {
    type: "number", min: "0", step: "1", value: String(Math.round(slot.calls * 10) / 10),
    "aria-label": `来电 calls ${slot.start}`, "data-slot": String(slot.slot),
    class: slot.typed ? "typed" : null,
  });
  input.addEventListener("change", () => {
    const value = Number(input.value);
    if (input.value !== "" && Number.isFinite(value) && value >= 0) typed[slot.slot] = value;
  });
  const short = slot.agents > 0 && slot.service_level < Number($("plan-level").value) / 100;
  return el("tr", { "data-slot": String(slot.slot), "data-agents": String(slot.agents) },
    el("td", {}, slot.start),
    el("td", { class: "num" }, input),
    el("td", { class: "num" }, slot.aht_s.toFixed(0)),
    el("td", { class: "num" }, slot.load.toFixed(2)),
    el("td", { class: "num agents" }, String(slot.agents)),
    el("td", { class: `num ${short ? "bad" : ""}` }, percent(slot.service_level)),
    el("td", { class: "num" }, slot.asa_s === null ? "∞" : slot.asa_s.toFixed(1)),
    el("td", { class: "num" }, percent(slot.occupancy)));
}

function show(plan) {
  $("slots").replaceChildren(...plan.slots.map(row));
  const weeks = plan.weeks_used.length
    ? `预测依据 forecast from ${plan.weeks_used.join(", ")}`
    : "没有历史来电 no calls on this weekday in the recent weeks: type the calls";
  $("basis").textContent = `${weeks} · ${plan.formula}`
    + (plan.aht_default ? " · AHT: 默认值 default (no answered call in the history)" : "");
  $("peak").textContent = `· 峰值 peak ${plan.peak_agents}`;
  document.body.dataset.loaded = "yes";
}

async function plan(event) {
  if (event) event.preventDefault();
  const body = {
    date: $("plan-date").value,
    service_level: Number($("plan-level").value) / 100,
    answer_s: Number($("plan-answer").value),
    calls: Object.fromEntries(Object.entries(typed).map(([k, v]) => [String(k), v])),
  };
  if ($("plan-aht").value !== "") body.aht_s = Number($("plan-aht").value);
  document.body.dataset.loaded = "no";
  const answer = await api("POST", "/api/staffing/plan", body);
  report($("message"), answer);
  if (answer.ok) show(answer.data);
}

(async () => {
  const session = await Console.start();
  const today = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
  $("plan-date").value = new URLSearchParams(location.search).get("date")
    || today.toISOString().slice(0, 10);
  $("plan-form").addEventListener("submit", plan);
  $("plan-reset").addEventListener("click", () => { typed = {}; plan(); });
  $("plan-date").addEventListener("change", () => { typed = {}; });
  if (session) await plan();
})();
