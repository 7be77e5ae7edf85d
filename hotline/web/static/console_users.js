// User administration: create, disable / enable, reset a password, change the role. Every
// change is in the access log (the API logs it). JSON API: /api/users.
"use strict";

const { $, el, api, report } = Console;
const ROLE_NAMES = {
  agent: "座席 agent", supervisor: "班长 supervisor", reviewer: "质检 reviewer",
  unit: "承办单位 unit", auditor: "审计 auditor", admin: "管理员 admin", wallboard: "大屏 wallboard",
};
let roles = [];

function roleSelect(current, onchange) {
  const select = el("select", { "aria-label": "角色 role", onchange });
  for (const role of roles) {
    select.append(el("option", { value: role, selected: role === current }, ROLE_NAMES[role] || role));
  }
  return select;
}

async function act(username, what, body, done) {
  const answer = await api("POST", `/api/users/${encodeURIComponent(username)}/${what}`, body);
  report($("list-message"), answer, done);
  await refresh();
  return answer;
}

function row(user) {
  const actions = el("div", { class: "actions" });
  actions.append(user.active
    ? el("button", { type: "button", class: "danger", "data-action": "disable",
      onclick: () => confirm(`停用 ${user.username}？ Disable?`) && act(user.username, "disable", undefined, `已停用 disabled ${user.username}`) }, "停用 disable")
    : el("button", { type: "button", "data-action": "enable",
      onclick: () => act(user.username, "enable", undefined, `已启用 enabled ${user.username}`) }, "启用 enable"));
  actions.append(el("button", { type: "button", "data-action": "password", onclick: () => {
    const password = prompt(`${user.username} 的新密码（至少10位） new password (≥ 10 characters)`);
    if (password) act(user.username, "password", { password }, `密码已重置 password reset for ${user.username}`);
  } }, "重置密码 reset password"));
  return el("tr", { "data-user": user.username, "data-active": user.active ? "yes" : "no" },
    el("td", {}, el("code", {}, user.username)), el("td", {}, user.display_name),
    el("td", {}, roleSelect(user.role, (event) => act(user.username, "role",
      { role: event.target.value }, `角色已更改 role changed for ${user.username}`))),
    el("td", { class: user.active ? "" : "status-disabled" }, user.active ? "启用 active" : "停用 disabled"),
    el("td", {}, actions));
}

async function refresh() {
  const answer = await api("GET", "/api/users");
  if (!answer.ok) { report($("list-message"), answer); return; }
  roles = answer.data.roles;
  const select = $("user-role");
  if (!select.options.length) select.replaceWith(Object.assign(roleSelect("agent"),
    { id: "user-role", name: "role" }));
  $("users").replaceChildren(...answer.data.users.map(row));
  document.body.dataset.loaded = "yes";
}

async function create(event) {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(event.target).entries());
  const body = { username: data.username.trim(), role: data.role, password: data.password,
    display_name: data.display_name.trim() || data.username.trim() };
  if (data.unit.trim()) body.unit = data.unit.trim();
  const answer = await api("POST", "/api/users", body);
  report($("form-message"), answer, `已新建 created ${body.username}`);
  if (answer.ok) { event.target.reset(); await refresh(); }
}

(async () => {
  await Console.start();
  $("new-user").addEventListener("submit", create);
  await refresh();
})();
