// The agent desk: the screen pop from the user's own WebSocket (/ws/desk, reconnecting),
// the registration form with its server-side draft, and the agent's state and figures.
// All text goes through textContent, never innerHTML: data from the PBX is not trusted.
"use strict";

const DRAFT_DELAY_MS = 800;
const PLACE_DELAY_MS = 400;
// The state comes pushed on /ws/desk; polled only while that socket is down.
const STATE_POLL_MS = 3000;
// Today's figures also refresh on a timer: the running state's seconds grow between changes.
const FIGURES_REFRESH_MS = 30000;
const POP_STATES = {
  ringing: "振铃 ringing", answered: "通话中 talking", ended: "已挂机 ended",
};
const AGENT_STATES = {
  logged_out: "未签入 logged out", ready: "就绪 ready", ringing: "振铃 ringing",
  talking: "通话 talking", wrap_up: "话后处理 wrap-up", paused: "暂停 paused",
};
const STATUS_LABELS = {
  registered: "受理 registered", answered_directly: "直接答复 answered", referred: "转办 referred",
  invalid: "无效 invalid", dispatched: "已派单 dispatched", signed: "签收 signed",
  in_progress: "办理中 in progress", answered: "已答复 answered", callback: "回访 callback",
  closed: "办结 closed", archived: "归档 archived", redo: "重办 redo",
  to_dispatch: "待派单 to dispatch", merged: "已并单 merged", return_requested: "退件申请 return asked",
  extension_requested: "延期申请 extension asked",
};

let csrf = "";
let pop = null;
let agentState = null;
let draftTimer = null;
let categories = [];

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
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}:${String(s % 60).padStart(2, "0")}`;
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
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

// ---- the screen pop --------------------------------------------------------------------

function renderPop() {
  document.body.dataset.pop = pop ? pop.state : "none";
  $("no-pop").hidden = !!pop;
  $("pop").hidden = !pop;
  if (!pop) return;
  $("pop").dataset.linkedid = pop.linkedid;
  $("pop-state").textContent = POP_STATES[pop.state] || pop.state;
  $("pop-close").hidden = pop.state !== "ended";
  $("pop-number").textContent = pop.number || "—";
  $("pop-name").textContent = pop.name || "";
  $("pop-queue").textContent = pop.queue || "—";
  $("pop-wait").textContent = duration(pop.wait_s);
  $("pop-priority").textContent = `${pop.priority ?? 0} · ${pop.priority_reason || ""}`;
  $("pop-path").textContent = (pop.ivr_path || []).join(" › ") || "—";
  $("pop-choice").textContent = [pop.ivr_choice, pop.category].filter(Boolean).join(" / ") || "—";
  const body = $("pop-tickets");
  body.replaceChildren();
  const history = pop.history;
  if (!history) {
    body.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "查询中 loading…")));
  } else if (history.errors && history.errors.tickets) {
    body.append(el("tr", {}, el("td", { colspan: 5, class: "error" }, history.errors.tickets)));
  } else if (!history.tickets.length) {
    body.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "无 none")));
  } else {
    for (const ticket of history.tickets) {
      const attach = el("button", { type: "button", class: "attach",
        "data-ticket": ticket.number }, "追加 add to it");
      attach.addEventListener("click", () => attachTo(ticket.number));
      body.append(el("tr", { "data-ticket": ticket.number },
        el("td", {}, ticket.number),
        el("td", {}, labelOf(ticket.category)),
        el("td", { class: "status" }, STATUS_LABELS[ticket.status] || ticket.status),
        el("td", {}, (ticket.created_at || "").slice(0, 10)),
        el("td", {}, attach)));
    }
  }
  const list = $("pop-incidents");
  list.replaceChildren();
  const incidents = history ? history.incidents : [];
  if (!incidents.length) list.append(el("li", { class: "empty" }, "无 none"));
  for (const incident of incidents) {
    list.append(el("li", { "data-incident": incident.id }, el("strong", {}, incident.title),
      " ", incident.text));
  }
}

function labelOf(category) {
  const found = categories.find((c) => c.value === category);
  return found ? `${found.zh} ${found.en}` : category || "—";
}

async function onPop(next) {
  const fresh = !pop || pop.linkedid !== next.linkedid;
  pop = next;
  renderPop();
  if (fresh) await startForm(next);
}

function onClear(message) {
  if (pop && pop.linkedid === message.linkedid) {
    pop = null;
    renderPop();
    // Registered: the form stays with its result; closed or gone: the form goes too.
    if ($("register-result").dataset.linkedid !== message.linkedid) clearForm();
  }
}

// ---- the registration form, its draft and validation ------------------------------------

function formData() {
  const data = {};
  for (const name of ["linkedid", "category", "district", "address", "content",
    "referred_to", "repeat_of"]) {
    const value = $(`f-${name}`).value;
    if (value !== "") data[name] = value;
  }
  data.reply_wanted = $("f-reply_wanted").checked;
  data.anonymous = $("f-anonymous").checked;
  const ending = document.querySelector("input[name=ending]:checked");
  if (ending) data.ending = ending.value;
  return data;
}

function fillForm(data) {
  for (const name of ["category", "district", "address", "content", "referred_to"]) {
    if (typeof data[name] === "string") $(`f-${name}`).value = data[name];
  }
  $("f-reply_wanted").checked = !!data.reply_wanted;
  $("f-anonymous").checked = !!data.anonymous;
  for (const radio of document.querySelectorAll("input[name=ending]")) {
    radio.checked = radio.value === data.ending;
  }
  if (data.repeat_of) attachTo(data.repeat_of, false); else showRepeat(null);
  showReferred();
  schedulePlace();
}

function clearForm() {
  $("registration").reset();
  $("f-linkedid").value = "";
  showRepeat(null);
  clearErrors();
  $("draft-status").textContent = "";
  placeAsked = "";
  showPlace([]);
}

async function startForm(next) {
  clearForm();
  $("f-linkedid").value = next.linkedid;
  $("register-result").textContent = "";
  $("register-result").className = "";
  delete $("register-result").dataset.ticket;
  delete $("register-result").dataset.linkedid;
  // Prefilled from the call: the category the caller chose in the menu.
  if (next.category) $("f-category").value = next.category;
  const saved = await api("GET", `/api/desk/drafts?linkedid=${encodeURIComponent(next.linkedid)}`);
  if (saved.ok && saved.data.drafts.length && $("f-linkedid").value === next.linkedid) {
    fillForm(saved.data.drafts[0].data);
    $("draft-status").textContent = "已恢复草稿 draft restored";
  }
}

function showRepeat(number) {
  $("repeat-box").hidden = !number;
  $("f-repeat_of").value = number || "";
  $("f-repeat-label").textContent = number || "";
}

function attachTo(number, save = true) {
  showRepeat(number);
  if (save) scheduleDraft();
}

// 并单 by place: another citizen may report the same matter; while the agent types the
// address, the open cases about it (same category, 30 days) are offered to add to.
let placeTimer = null;
let placeAsked = "";

function schedulePlace() {
  clearTimeout(placeTimer);
  placeTimer = setTimeout(checkPlace, PLACE_DELAY_MS);
}

async function checkPlace() {
  const address = $("f-address").value.trim();
  const category = $("f-category").value;
  const key = `${category}|${address}`;
  if (key === placeAsked) return;
  placeAsked = key;
  if (!address || !category) { showPlace([]); return; }
  const query = new URLSearchParams({ address, category });
  const found = await api("GET", `/api/desk/similar?${query}`);
  if (placeAsked !== key) return;  // the agent typed on meanwhile
  showPlace(found.ok ? found.data.cases : []);
}

function showPlace(cases) {
  const own = new Set(pop && pop.history ? pop.history.tickets.map((t) => t.number) : []);
  const shown = cases.filter((c) => !own.has(c.number));  // the caller's own: in the pop
  $("place-box").hidden = shown.length === 0;
  document.body.dataset.place = shown.length ? "offered" : "none";
  $("place-cases").replaceChildren(...shown.map((c) => {
    const attach = el("button", { type: "button", class: "attach", "data-ticket": c.number },
      "追加 add to it");
    attach.addEventListener("click", () => attachTo(c.number));
    return el("li", { "data-ticket": c.number }, el("strong", {}, c.number), " ",
      labelOf(c.category), " · ", STATUS_LABELS[c.status] || c.status, " · ",
      (c.created_at || "").slice(0, 10), " ", attach);
  }));
}

function showReferred() {
  const ending = document.querySelector("input[name=ending]:checked");
  $("referred-box").hidden = !(ending && ending.value === "referred");
}

function scheduleDraft() {
  if (!$("f-linkedid").value) return;
  clearTimeout(draftTimer);
  $("draft-status").textContent = "编辑中 editing…";
  draftTimer = setTimeout(saveDraft, DRAFT_DELAY_MS);
}

async function saveDraft() {
  const data = formData();
  const linkedid = data.linkedid;
  if (!linkedid) return;
  delete data.linkedid;
  try {
    const saved = await api("POST", `/api/desk/drafts/${encodeURIComponent(linkedid)}`, { data });
    $("draft-status").textContent = saved.ok
      ? `草稿已保存 draft saved ${new Date().toLocaleTimeString("zh-CN")}`
      : "草稿未保存 draft not saved";
    document.body.dataset.draft = saved.ok ? "saved" : "failed";
  } catch (error) {
    $("draft-status").textContent = "草稿未保存 draft not saved";
  }
}

function clearErrors() {
  for (const node of document.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const node of document.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
}

function showErrors(errors) {
  clearErrors();
  for (const error of errors) {
    const box = document.querySelector(`[data-error-for="${CSS.escape(error.field)}"]`);
    if (box) {
      box.textContent = `${error.message} (${error.id})`;
      box.dataset.errorId = error.id;
    }
    const input = $(`f-${error.field}`);
    if (input) input.setAttribute("aria-invalid", "true");
  }
  const first = errors.length ? $(`f-${errors[0].field}`) : null;
  if (first && first.focus) first.focus();
}

async function register(event) {
  event.preventDefault();
  clearTimeout(draftTimer);
  const data = formData();
  const result = $("register-result");
  if (!data.linkedid) {
    result.textContent = "没有来电 no call to register";
    return;
  }
  const answer = await api("POST", "/api/desk/registrations", data);
  if (answer.ok) {
    clearErrors();
    result.className = "ok";
    result.textContent = answer.data.merged_into
      ? `已追加到 added to ${answer.data.merged_into}`
      : `已登记 registered ${answer.data.ticket}`;
    result.dataset.ticket = answer.data.ticket;
    result.dataset.linkedid = data.linkedid;
    $("draft-status").textContent = "";
    return;
  }
  result.className = "error";
  const error = (answer.data && answer.data.error) || { message: `HTTP ${answer.status}` };
  if (answer.data && answer.data.errors) showErrors(answer.data.errors);
  else if (error.field) showErrors([error]);
  result.textContent = `未保存 not saved: ${error.message}`;
}

async function loadChoices() {
  const answer = await api("GET", "/api/desk/form");
  if (!answer.ok) return;
  categories = answer.data.categories;
  const select = $("f-category");
  select.replaceChildren(el("option", { value: "" }, "— 请选择 choose —"));
  for (const c of categories) select.append(el("option", { value: c.value }, `${c.zh} ${c.en}`));
  const box = $("f-ending");
  for (const e of answer.data.endings) {
    const radio = el("input", { type: "radio", name: "ending", value: e.value, id: `ending-${e.value}` });
    box.append(el("label", { for: `ending-${e.value}` }, radio, e.zh, " ", el("span", { class: "en" }, e.en)));
  }
}

// ---- the agent's state (the queue operations API, /api/agent/*) ---------------------------

let clockOffset = 0;  // the PBX's clock minus this browser's: time in state is on the PBX's

function renderState() {
  const node = $("state");
  if (!agentState) {
    node.textContent = "—";
    node.className = "state unknown";
    node.dataset.state = "unknown";
    $("state-for").textContent = "";
    return;
  }
  const reason = agentState.reason ? ` · ${agentState.reason}` : "";
  node.textContent = (AGENT_STATES[agentState.state] || agentState.state) + reason;
  node.className = `state ${agentState.state}`;
  node.dataset.state = agentState.state;
  node.dataset.reason = agentState.reason || "";
  const since = agentState.since;
  $("state-for").textContent = typeof since === "number"
    ? duration(Date.now() / 1000 + clockOffset - since) : "";
}

function renderFigures(figures) {
  const cells = {
    calls: String(figures.calls ?? "—"),
    talk_s: duration(figures.talk_s),
    aht_s: duration(figures.aht_s),
    within_15s: typeof figures.answered_within_share === "number"
      ? `${(figures.answered_within_share * 100).toFixed(0)} %` : "—",
    wrap_up_s: duration(figures.wrap_up_s),
  };
  // Time paused today, in all and by reason (小休, 用餐…), from the stored state changes.
  const pauses = (figures.states || []).filter((s) => s.state === "paused");
  cells.paused_s = duration(pauses.reduce((sum, s) => sum + s.seconds, 0));
  for (const [name, value] of Object.entries(cells)) {
    const cell = document.querySelector(`[data-figure="${name}"]`);
    if (cell) cell.textContent = value;
  }
  $("pause-figures").replaceChildren(...pauses.map((s) => el("li",
    { "data-reason": s.reason || "", "data-seconds": String(s.seconds) },
    `${s.reason || "—"} ${duration(s.seconds)}`)));
}

async function refreshState() {
  try {
    const answer = await api("GET", "/api/agent/state");
    agentState = answer.ok ? answer.data : null;
    if (agentState && typeof agentState.now === "number") {
      clockOffset = agentState.now - Date.now() / 1000;
    }
    const reasons = (agentState && agentState.pause_reasons) || [];
    const select = $("pause-reason");
    if (select.options.length !== reasons.length) {
      select.replaceChildren(...reasons.map((r) => el("option", { value: r }, r)));
    }
    await refreshFigures();
  } catch (error) {
    agentState = null;
  }
  renderState();
}

async function refreshFigures() {
  const figures = await api("GET", "/api/agent/figures");
  if (figures.ok) renderFigures(figures.data);
}

// A change pushed on the desk's socket (agent.status): the new state at once, no request.
function onAgentStatus(status) {
  const before = agentState ? agentState.state : null;
  agentState = { ...(agentState || {}), ...status };
  if (typeof status.now === "number") clockOffset = status.now - Date.now() / 1000;
  renderState();
  if (before !== status.state) refreshFigures().catch(() => {});  // a call ended, a pause…
}

let statePoll = null;
function pollState(on) {
  if (on && statePoll === null) statePoll = setInterval(refreshState, STATE_POLL_MS);
  if (!on && statePoll !== null) { clearInterval(statePoll); statePoll = null; }
}

async function agentAction(path, body) {
  const box = $("state-error");
  box.hidden = true;
  const answer = await api("POST", path, body);
  if (answer.ok) {
    agentState = answer.data;
    if (typeof agentState.now === "number") clockOffset = agentState.now - Date.now() / 1000;
  } else {
    const error = (answer.data && answer.data.error) || { message: `HTTP ${answer.status}` };
    box.textContent = `操作失败 failed: ${error.message}`;
    box.dataset.errorId = error.id || "";
    box.hidden = false;
  }
  renderState();
}

const loggedOut = () => !agentState || agentState.state === "logged_out";
// One click: a logged-out agent logs in to the queues (ready, or paused with the reason).
const goReady = () => loggedOut()
  ? agentAction("/api/agent/login", {})
  : agentAction("/api/agent/ready", {});
const goPause = () => loggedOut()
  ? agentAction("/api/agent/login", { paused: true, reason: $("pause-reason").value })
  : agentAction("/api/agent/pause", { reason: $("pause-reason").value });

// ---- the desk's own channel ----------------------------------------------------------------

function setLink(live) {
  $("link").textContent = live ? "实时 live" : "重连中 reconnecting";
  $("link").className = live ? "link live" : "link offline";
  document.body.dataset.link = live ? "live" : "offline";
}

function connect() {
  openReconnectingSocket("/ws/desk", {
    onOpen: () => {
      setLink(true);
      pollState(false);
      refreshState();  // what changed while the socket was down; then pushes only
    },
    onMessage: (message) => {
      if (message.type === "pop") onPop(message.pop);
      else if (message.type === "pop.clear") onClear(message);
      else if (message.type === "agent") onAgentStatus(message.status);
    },
    onDown: () => {
      setLink(false);
      pollState(true);  // the fallback: the state stays true while the socket is down
    },
  });
}

function shortcuts(event) {
  if (event.key === "F2") { event.preventDefault(); goReady(); }
  else if (event.key === "F3") { event.preventDefault(); goPause(); }
  else if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); $("register").click(); }
}

async function main() {
  const session = await api("GET", "/api/session");
  csrf = session.data.csrf || "";
  $("logout-csrf").value = csrf;
  $("who").textContent = `${session.data.display_name} (${session.data.username})`;
  await loadChoices();
  $("registration").addEventListener("submit", register);
  $("registration").addEventListener("input", () => {
    showReferred(); scheduleDraft(); schedulePlace();
  });
  $("repeat-cancel").addEventListener("click", () => attachTo(null));
  $("pop-close").addEventListener("click", () => {
    if (pop) api("POST", `/api/desk/pop/${encodeURIComponent(pop.linkedid)}/dismiss`, {});
  });
  $("ready").addEventListener("click", goReady);
  $("pause").addEventListener("click", goPause);
  $("queue-logout").addEventListener("click", () => agentAction("/api/agent/logout", {}));
  document.addEventListener("keydown", shortcuts);
  showReferred();
  await refreshState();
  connect();
  setInterval(renderState, 1000);  // the time in state ticks on the page
  setInterval(() => refreshFigures().catch(() => {}), FIGURES_REFRESH_MS);
}

main();
