// The case console (工单): a unit's inbox (sign, return, ask for an extension, answer), the
// dispatcher's lists (new cases, to dispatch, approvals), overdue cases, call-backs and the
// chase list. Every action's form is built from the workflow table (/api/workflow): the page
// holds no rule of its own, the server decides and says why when it refuses.
"use strict";

const STATES = {
  registered: "受理 registered", to_dispatch: "待派单 to dispatch", answered_directly: "直接答复 answered directly",
  referred: "转其他热线 referred", invalid: "无效 invalid", merged: "已并单 merged", dispatched: "已派单 dispatched",
  return_requested: "退件申请 return asked", signed: "已签收 signed", in_progress: "办理中 in progress",
  extension_requested: "延期申请 extension asked", answered: "已答复 answered", callback: "已回访 called back",
  redo: "重办 redo", closed: "办结 closed", archived: "归档 archived",
};
const ACTIONS = {
  answer_directly: "直接答复 answer directly", refer: "转其他热线 refer", mark_invalid: "无效 invalid",
  submit: "提交派单 submit", merge: "并单 merge", send_back: "退回坐席 send back", dispatch: "派单 dispatch",
  sign: "签收 sign", return: "退件 return", approve_return: "同意退件 approve return",
  reject_return: "驳回退件 reject return", start: "开始办理 start", request_extension: "申请延期 ask extension",
  approve_extension: "批准延期 approve extension", deny_extension: "不批准延期 deny extension",
  share_caller: "向承办单位提供来电人联系方式 share caller's contact", answer: "答复 answer", co_opinion: "会办意见 co-unit opinion", chase: "催办 chase", supervise: "督办 supervise", instruct: "批示 instruct",
  call_back: "回访 call back", call_back_attempt: "回访未接通 unreachable", redo: "重办 redo",
  close: "办结 close", archive: "归档 archive",
  created: "创建 created", registered: "登记 registered", survey: "满意度评价 survey",
  repeat: "重复来电 repeat call",
};
const FIELDS = {
  reason: "理由 reason", answer: "答复内容 answer", unit: "承办单位 unit", co_units: "协办单位 co-units",
  basis: "依据 basis", suggested_unit: "建议单位 suggested unit", leader_opinion: "领导意见 leader's opinion",
  referred_to: "转往 referred to", into: "并入工单号 merge into", instruction: "批示 instruction",
  level: "级别 level", days: "延期工作日 working days", satisfaction: "结果满意度 result",
  process_satisfaction: "过程满意度 process", attachments: "附件 (引用, 逗号分隔) attachments (references)",
  category: "类别 category", urgency: "紧急程度 urgency", subject: "标题 subject", content: "内容 content",
  district: "区 district", address: "地址 address", caller_name: "姓名 name", source: "来源 source",
};
const CHOICE_LABELS = {
  satisfied: "满意 satisfied", basically_satisfied: "基本满意 basically satisfied",
  dissatisfied: "不满意 dissatisfied", unreachable: "未接通 unreachable",
  consultation: "咨询 consultation", help: "求助 help", complaint: "投诉 complaint", report: "举报 report",
  suggestion: "建议 suggestion", praise: "表扬 praise", other: "其他 other",
  normal: "一般 normal", urgent: "紧急 urgent", agent: "座席回访 agent", survey: "语音评价 survey",
  text: "短信 text",
};
const STAFF = ["agent", "supervisor", "reviewer"];
// Who may hear recordings (hotline.web.auth_table.RECORDINGS): only they get the call's link.
const RECORDING_ROLES = ["supervisor", "qa"];
// The lists each role works from: [id, label, how to fetch, filter].
const TABS = [
  { id: "new", label: "新建 new case", roles: STAFF },
  { id: "dispatch", label: "待派单 to dispatch", roles: STAFF, query: "", keep: (c) => ["registered", "to_dispatch"].includes(c.status) },
  { id: "approvals", label: "待审批 approvals", roles: ["supervisor", "reviewer"], query: "", keep: (c) => ["return_requested", "extension_requested"].includes(c.status) },
  { id: "inbox", label: "本单位工单 our cases", roles: ["unit"], query: "" },
  { id: "open", label: "在办 open", roles: [...STAFF, "auditor", "admin"], query: "" },
  { id: "overdue", label: "超期 overdue", roles: [...STAFF, "unit", "auditor", "admin"], query: "", keep: (c) => c.deadline && c.deadline.overdue },
  { id: "callbacks", label: "待回访 call-back", roles: ["agent", "supervisor"], statuses: ["answered", "closed"] },
  { id: "chases", label: "催办督办 chases", roles: [...STAFF, "unit", "auditor", "admin"] },
  { id: "policy", label: "期限规则 deadlines", roles: [...STAFF, "unit", "auditor", "admin"] },
];
TABS.push({ id: "kpis", label: "考核 KPIs", roles: ["supervisor", "admin", "auditor"] });
const POLICY_EDITORS = ["supervisor", "admin"];
const KINDS = {
  urgent: "紧急 urgent", direct: "直接办理 direct", special: "特殊事项 special",
};

let csrf = "";
let role = "";
let table = null;
let units = [];
let current = null; // the case shown
let tab = null;
let pendingAction = null;

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
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

function localTime(iso) {
  // The server sends local (Asia/Shanghai) ISO times for deadlines: show them as they are.
  return iso ? iso.slice(0, 16).replace("T", " ") : "—";
}

function shanghai(iso) {
  // Event times are UTC: shown in the hotline's local time.
  return new Date(iso).toLocaleString("sv-SE", { timeZone: "Asia/Shanghai" }).slice(0, 16);
}

function deadlineText(deadline) {
  if (!deadline) return "—";
  const due = localTime(deadline.due_local);
  if (deadline.overdue) return `${due} 已超期 overdue`;
  return `${due} · 剩余 ${deadline.working_days_left} 个工作日 (${deadline.working_days_left} working days left)`;
}

function say(text, kind) {
  $("message").textContent = text;
  $("message").dataset.kind = kind;
}

// ---- lists -------------------------------------------------------------------------------

function showTabs() {
  const nav = $("tabs");
  nav.replaceChildren();
  for (const t of TABS.filter((t) => t.roles.includes(role))) {
    nav.append(el("button", { type: "button", id: `tab-${t.id}`, "aria-pressed": "false", onclick: () => openTab(t) }, t.label));
  }
}

async function openTab(t) {
  tab = t;
  for (const button of $("tabs").querySelectorAll("button")) button.setAttribute("aria-pressed", String(button.id === `tab-${t.id}`));
  $("list-title").textContent = t.label;
  document.body.dataset.tab = t.id;
  $("new-case").hidden = t.id !== "new";
  $("cases").hidden = t.id === "chases" || t.id === "policy";
  $("chases").hidden = t.id !== "chases";
  $("policy").hidden = t.id !== "policy";
  $("kpis").hidden = t.id !== "kpis";
  $("cases").hidden = $("cases").hidden || t.id === "kpis";
  await refreshList();
}

async function refreshList() {
  if (!tab) return;
  document.body.dataset.list = "loading";
  if (tab.id === "kpis") {
    await showKpis();
    $("empty").hidden = true;
    document.body.dataset.list = "ready";
    return;
  }
  if (tab.id === "policy") {
    await showPolicy();
    $("empty").hidden = true;
    document.body.dataset.list = "ready";
    return;
  }
  if (tab.id === "chases") {
    const found = await api("GET", "/api/chases");
    const rows = (found.data && found.data.chases) || [];
    $("chases").tBodies[0].replaceChildren(...rows.map((c) => el("tr", { "data-number": c.number, onclick: () => openCase(c.number) },
      el("td", {}, shanghai(c.at)),
      el("td", {}, c.number), el("td", {}, `${ACTIONS[c.kind] || c.kind}${c.level ? ` (${c.level})` : ""}`),
      el("td", {}, c.reason || ""), el("td", {}, c.handling_unit || "—"), el("td", {}, STATES[c.status] || c.status))));
    $("empty").hidden = rows.length > 0;
    document.body.dataset.list = "ready";
    return;
  }
  let cases = [];
  if (tab.statuses) {
    for (const status of tab.statuses) {
      const found = await api("GET", `/api/cases/inbox?status=${status}`);
      cases.push(...((found.data && found.data.cases) || []));
    }
  } else {
    const found = await api("GET", "/api/cases/inbox");
    cases = (found.data && found.data.cases) || [];
  }
  if (tab.keep) cases = cases.filter(tab.keep);
  if (tab.id === "new") cases = cases.filter((c) => c.status === "registered");
  $("cases").tBodies[0].replaceChildren(...cases.map(caseRow));
  $("empty").hidden = cases.length > 0;
  document.body.dataset.list = "ready";
}

function caseRow(c) {
  const late = c.deadline && c.deadline.overdue ? "overdue" : (c.deadline && c.deadline.working_days_left === 0 ? "due-soon" : "");
  return el("tr", { "data-number": c.number, "data-status": c.status, "aria-selected": String(current && current.number === c.number), onclick: () => openCase(c.number) },
    el("td", {}, c.number), el("td", { class: "status" }, STATES[c.status] || c.status),
    el("td", {}, CHOICE_LABELS[c.category] || c.category), el("td", {}, c.handling_unit || "—"),
    el("td", { class: `deadline ${late}` }, deadlineText(c.deadline)), el("td", {}, c.subject || (c.content || "").slice(0, 40)));
}

// ---- one case ----------------------------------------------------------------------------

async function openCase(number) {
  const found = await api("GET", `/api/cases/${encodeURIComponent(number)}`);
  if (!found.ok) { say(found.data ? found.data.error.message : "error", "error"); return; }
  showCase(found.data);
  for (const row of $("cases").tBodies[0].rows) row.setAttribute("aria-selected", String(row.dataset.number === number));
  if (STAFF.includes(role) && ["registered", "to_dispatch"].includes(found.data.status)) await showSimilar(number);
  else $("similar").hidden = true;
}

function showCase(c) {
  current = c;
  const panel = $("case");
  panel.hidden = false;
  panel.dataset.number = c.number;
  panel.dataset.status = c.status;
  panel.dataset.version = c.version;
  $("case-title").textContent = `${c.number} · ${STATES[c.status] || c.status}`;
  const facts = [
    ["类别 category", CHOICE_LABELS[c.category] || c.category], ["紧急 urgency", CHOICE_LABELS[c.urgency] || c.urgency],
    ["来电 caller", `${c.caller_name || ""} ${c.caller_number || ""}`.trim() || "—"],
    ["地址 address", [c.district, c.address].filter(Boolean).join(" ") || "—"],
    ["承办单位 unit", c.handling_unit ? `${c.handling_unit}${c.co_units && c.co_units.length ? ` (+${c.co_units.join("、")})` : ""}` : "—"],
    ["首接单位 first unit", c.first_unit || "—"], ["标题 subject", c.subject || "—"], ["内容 content", c.content || "—"],
    ["督办 supervised", c.supervised ? "是 yes" : "否 no"], ["延期 extensions", String(c.extensions || 0)],
  ];
  $("case-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  if (RECORDING_ROLES.includes(role)) {  // complaint investigation pulls the call's recording
    $("case-facts").append(el("dt", {}, "录音 recording"), el("dd", {}, el("a",
      { id: "case-recording", href: `/recordings?ticket=${encodeURIComponent(c.number)}` },
      "来电录音 the call's recording")));
  }
  $("case-deadline").textContent = `期限 deadline: ${deadlineText(c.deadline)}`;
  $("case-deadline").className = `deadline ${c.deadline && c.deadline.overdue ? "overdue" : ""}`;
  const buttons = c.actions.filter((a) => a !== "call_back_attempt").map((a) =>
    el("button", { type: "button", "data-action": a, onclick: () => startAction(a) }, ACTIONS[a] || a));
  $("actions").replaceChildren(...buttons);
  $("action-form").hidden = true;
  $("history").replaceChildren(...(c.history || []).map(historyItem));
}

function historyItem(e) {
  const data = e.data || {};
  const fields = data.fields || {};
  const said = fields.reason || fields.answer || fields.instruction || fields.satisfaction || data.answer || data.content || "";
  const extra = [];
  if (fields.unit) extra.push(`→ ${fields.unit}`);
  if (fields.days) extra.push(`${fields.days} 工作日 wd`);
  if (fields.satisfaction) extra.push(CHOICE_LABELS[fields.satisfaction] || fields.satisfaction);

  if (data.case) extra.push(`并入 ${data.case}`);
  return el("li", { "data-kind": e.kind, "data-actor": e.actor },
    el("span", { class: "when" }, shanghai(e.at)),
    ACTIONS[e.kind] || e.kind, el("span", { class: "actor" }, e.actor),
    data.to && data.from !== data.to ? ` ${STATES[data.from] || data.from} → ${STATES[data.to] || data.to}` : "",
    said && said !== fields.satisfaction ? ` — ${said}` : "", extra.length ? ` (${extra.join("; ")})` : "",
    ...(fields.attachments ? [" ", ...attachmentLinks(fields.attachments)] : []));
}

async function showSimilar(number) {
  const found = await api("GET", `/api/cases/${encodeURIComponent(number)}/similar`);
  const cases = (found.data && found.data.cases) || [];
  $("similar").hidden = cases.length === 0;
  $("similar-list").replaceChildren(...cases.map((c) => el("li", { "data-number": c.number },
    `${c.number} · ${STATES[c.status] || c.status} · ${c.subject || (c.content || "").slice(0, 30)} `,
    c.same_caller ? "(同一来电人 same caller) " : "", c.same_place ? "(同一地点 same place) " : "",
    el("button", { type: "button", "data-merge": c.number, onclick: () => startAction("merge", { into: c.number }) }, "并入此单 merge into it"))));
}

function fieldInput(name, value) {
  const kind = table.fields[name];
  const id = `f-${name}`;
  if (name === "unit" || name === "suggested_unit") {
    return el("select", { id, name }, el("option", { value: "" }, "—"),
      ...units.filter((u) => u.active).map((u) => el("option", { value: u.name }, u.parent ? `${u.parent} / ${u.name}` : u.name)));
  }
  if (table.choices[name]) {
    return el("select", { id, name }, el("option", { value: "" }, "—"),
      ...table.choices[name].map((v) => el("option", { value: v, selected: v === value }, CHOICE_LABELS[v] || v)));
  }
  if (kind === "count") return el("input", { id, name, type: "number", min: "1", max: "30", value: value || "" });
  if (name === "attachments") {
    // References typed by hand, or files uploaded here (their references are added).
    const refs = el("input", { id, name, value: value || "" });
    const picker = el("input", { id: "f-attachments-files", type: "file", multiple: true, onchange: () => upload(picker, refs) });
    return el("span", { class: "attachments" }, refs, picker);
  }
  if (["answer", "reason", "content", "instruction", "leader_opinion"].includes(name)) return el("textarea", { id, name, rows: "3" }, value || "");
  return el("input", { id, name, value: value || "" });
}

async function upload(picker, refs) {
  for (const file of picker.files) {
    document.body.dataset.upload = "sending";
    const response = await fetch(`/api/attachments?name=${encodeURIComponent(file.name)}`, {
      method: "POST", body: file, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/octet-stream", Accept: "application/json" },
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      say(data && data.error ? `${data.error.message} [${data.error.id}]` : `HTTP ${response.status}`, "error");
      document.body.dataset.upload = "failed";
      return;
    }
    refs.value = [refs.value.trim(), data.ref].filter(Boolean).join(", ");
  }
  picker.value = "";
  document.body.dataset.upload = "done";
}

function attachmentLinks(refs) {
  return refs.map((ref) => ref.startsWith("file:sha256:")
    ? el("a", { href: `/api/attachments/${ref.slice("file:sha256:".length)}`, class: "attachment" }, `附件 ${ref.slice(12, 20)}…`)
    : ref);
}

function startAction(action, preset = {}) {
  pendingAction = action;
  const spec = action === "call_back"
    ? { required: ["satisfaction"], optional: ["process_satisfaction", "source"] }
    : table.actions[action];
  const choices = table.choices;
  if (action === "call_back") choices.source = ["agent", "text", "survey"];
  $("action-title").textContent = ACTIONS[action] || action;
  $("action-fields").replaceChildren(...[...spec.required, ...spec.optional].map((name) =>
    el("label", { class: spec.required.includes(name) ? "required" : "" }, FIELDS[name] || name, fieldInput(name, preset[name]))));
  $("action-form").hidden = false;
  $("action-form").dataset.action = action;
  say("", "");
}

async function submitAction(event) {
  event.preventDefault();
  const action = pendingAction;
  const fields = {};
  for (const input of $("action-fields").querySelectorAll("input, select, textarea")) {
    const value = input.value.trim();
    if (!value) continue;
    const kind = table.fields[input.name];
    if (kind === "count") fields[input.name] = Number(value);
    else if (kind === "texts") fields[input.name] = value.split(/[,，]/).map((v) => v.trim()).filter(Boolean);
    else fields[input.name] = value;
  }
  const version = Number($("case").dataset.version);
  const path = `/api/cases/${encodeURIComponent(current.number)}`;
  const sent = action === "call_back"
    ? await api("POST", `${path}/call-back`, { ...fields, expected_version: version })
    : await api("POST", `${path}/actions`, { action, fields, expected_version: version });
  if (!sent.ok) {
    const error = sent.data && sent.data.error;
    say(error ? `${error.message} [${error.id}]` : `HTTP ${sent.status}`, "error");
    $("message").dataset.errorId = error ? error.id : "";
    if (sent.status === 409) await openCase(current.number); // someone acted meanwhile
    return;
  }
  const number = current.number;
  await openCase(number);
  say(`${ACTIONS[action] || action} ✓ → ${STATES[sent.data.status] || sent.data.status}`, "ok");
  document.body.dataset.done = `${action}:${sent.data.status}`;
  await refreshList();
}

async function registerCase(event) {
  event.preventDefault();
  const body = {};
  for (const input of $("new-case").querySelectorAll("input, select, textarea")) {
    if (input.value.trim()) body[input.name] = input.value.trim();
  }
  const sent = await api("POST", "/api/cases", body);
  if (!sent.ok) { say(sent.data ? sent.data.error.message : `HTTP ${sent.status}`, "error"); return; }
  $("new-case").reset();
  await refreshList();
  await openCase(sent.data.number);
  say(`登记 registered ${sent.data.number}`, "ok");
  document.body.dataset.done = `register:${sent.data.number}`;
}

// ---- case KPIs (考核) ---------------------------------------------------------------------

function figureCell(figure) {
  const shown = figure.value === null ? "—" : `${(figure.value * 100).toFixed(1)} %`;
  return el("td", { title: `${figure.formula}: ${figure.numerator} ÷ ${figure.denominator}` },
    shown, el("span", { class: "en" }, ` ${figure.numerator}/${figure.denominator}`));
}

async function showKpis(event) {
  if (event) event.preventDefault();
  if (!$("k-from").value) {
    const today = new Date().toLocaleString("sv-SE", { timeZone: "Asia/Shanghai" }).slice(0, 10);
    $("k-from").value = `${today.slice(0, 8)}01`;
    $("k-to").value = today;
  }
  const found = await api("GET", `/api/case-kpis?from=${$("k-from").value}&to=${$("k-to").value}`);
  if (!found.ok) { say(found.data ? found.data.error.message : `HTTP ${found.status}`, "error"); return; }
  const k = found.data;
  const total = (label, figure) => `${label} ${figure.value === null ? "—" : (figure.value * 100).toFixed(1) + " %"} (${figure.numerator}/${figure.denominator}: ${figure.formula})`;
  $("k-totals").textContent = [`${k.cases} 件 cases`, total("回访率", k.callback_coverage),
    total("满意率", k.satisfaction), total("过程满意率", k.process_satisfaction)].join(" · ");
  $("k-units").tBodies[0].replaceChildren(...Object.entries(k.units).map(([name, u]) => el("tr", { "data-unit": name },
    el("td", {}, name), el("td", {}, String(u.dispatched)), figureCell(u.on_time_rate),
    figureCell(u.extension_rate), figureCell(u.redo_rate), figureCell(u.return_rate))));
  document.body.dataset.kpis = "shown";
}

// ---- the deadline policy (期限规则) ------------------------------------------------------------

let policyShown = null;

async function showPolicy() {
  const found = await api("GET", "/api/case-policy");
  if (!found.ok) return;
  const { policy, source, history } = found.data;
  policyShown = policy;
  const editable = POLICY_EDITORS.includes(role);
  $("policy-source").textContent = source === "changed"
    ? "在用: 运行中修改的规则 in force: changed at run time"
    : "在用: 配置文件 [cases] in force: the settings file";
  $("p-preset").value = policy.preset;
  const kinds = Object.keys(policy.limits);
  $("policy-limits").tBodies[0].replaceChildren(...kinds.map((kind) => {
    const rule = policy.extensions[kind];
    return el("tr", { "data-kind": kind },
      el("td", {}, CHOICE_LABELS[kind] || KINDS[kind] || kind),
      el("td", {}, el("input", { id: `p-limit-${kind}`, value: policy.limits[kind], "data-was": policy.limits[kind], disabled: !editable })),
      el("td", {}, rule ? `${rule[0]} × ${rule[1]}` : "—"));
  }));
  $("p-sign").value = policy.sign;
  $("p-return_window").value = policy.return_window;
  for (const input of $("policy").querySelectorAll("input, select")) input.disabled = !editable;
  $("p-save").hidden = !editable;
  $("policy-history").replaceChildren(...history.map((h) => el("li", {},
    `${shanghai(h.at)} ${h.actor}: ${h.preset} ${JSON.stringify(h.changes)} — ${h.reason}`)));
}

async function savePolicy(event) {
  event.preventDefault();
  // Same preset: the whole table as shown (so earlier changes are kept); another preset: its
  // own limits, with only what was edited here over them.
  const samePreset = $("p-preset").value === policyShown.preset;
  const limits = {};
  for (const input of $("policy-limits").querySelectorAll("input")) {
    if (samePreset || input.value.trim() !== input.dataset.was) limits[input.id.slice("p-limit-".length)] = input.value.trim();
  }
  const changes = { limits };
  if (samePreset) changes.extensions = policyShown.extensions;
  if (samePreset || $("p-sign").value.trim() !== policyShown.sign) changes.sign = $("p-sign").value.trim();
  if (samePreset || $("p-return_window").value.trim() !== policyShown.return_window) changes.return_window = $("p-return_window").value.trim();
  const sent = await api("POST", "/api/case-policy", { preset: $("p-preset").value, changes, reason: $("p-reason").value });
  if (!sent.ok) {
    const error = sent.data && sent.data.error;
    say(error ? `${error.message} [${error.id}]` : `HTTP ${sent.status}`, "error");
    return;
  }
  $("p-reason").value = "";
  await showPolicy();
  say("期限规则已更新 deadlines changed", "ok");
  document.body.dataset.done = "policy:saved";
}

// ---- live lists ----------------------------------------------------------------------------
// /ws/cases names each case this user may see as it changes (dispatched to the unit, chased,
// overdue, answered…): the list on show is reloaded, and the open case if nobody is acting on
// it. After a reconnect the list is reloaded whole: changes while away are not lost.
const LIVE_TABS = ["dispatch", "approvals", "inbox", "open", "overdue", "callbacks", "chases"];
let liveTimer = null;

function onCaseChanged(message) {
  document.body.dataset.pushed = message.number;
  clearTimeout(liveTimer);
  liveTimer = setTimeout(async () => {
    if (tab && LIVE_TABS.includes(tab.id)) await refreshList();
    // The open case: reloaded when it moved on elsewhere, or was chased, supervised or
    // instructed (its own actions already show their outcome here).
    const elsewhere = current && current.number === message.number
      && (current.status !== message.status || ["chase", "supervise", "instruct"].includes(message.kind));
    if (elsewhere && $("action-form").hidden) await openCase(current.number);
  }, 200);
}

function connectLive() {
  const show = (live) => {
    $("link").textContent = live ? "实时 live" : "重连中 reconnecting";
    $("link").className = live ? "link live" : "link offline";
    document.body.dataset.link = live ? "live" : "offline";
  };
  let opened = false;
  openReconnectingSocket("/ws/cases", {
    onOpen: () => {
      show(true);
      if (opened && tab && LIVE_TABS.includes(tab.id)) refreshList();
      opened = true;
    },
    onMessage: (message) => { if (message.type === "case") onCaseChanged(message); },
    onDown: () => show(false),
  });
}

async function main() {
  const session = await api("GET", "/api/session");
  csrf = session.data.csrf || "";
  role = session.data.role;
  document.body.dataset.role = role;
  $("logout-csrf").value = csrf;
  $("who").textContent = `${session.data.display_name} (${session.data.username}, ${role})`;
  table = (await api("GET", "/api/workflow")).data;
  units = ((await api("GET", "/api/units")).data || {}).units || [];
  for (const [select, choices] of [["n-category", table.choices.category], ["n-urgency", table.choices.urgency]]) {
    $(select).replaceChildren(...choices.map((v) => el("option", { value: v }, CHOICE_LABELS[v] || v)));
  }
  $("new-case").addEventListener("submit", registerCase);
  $("action-form").addEventListener("submit", submitAction);
  $("policy").addEventListener("submit", savePolicy);
  $("kpis").addEventListener("submit", showKpis);
  $("action-cancel").addEventListener("click", () => { $("action-form").hidden = true; });
  showTabs();
  connectLive();  // before the first list: no change between the two is missed
  const first = TABS.find((t) => t.roles.includes(role) && t.id !== "new") || TABS[0];
  await openTab(first);
  const wanted = new URLSearchParams(location.search).get("case");
  if (wanted) await openCase(wanted);
  document.body.dataset.ready = "1";
}

main();
