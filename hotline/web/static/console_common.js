// Shared by the console pages (console_*.html): the signed-in user, the JSON API with its
// CSRF token and stable error ids, the page header's links, and a safe element builder.
// All text goes through textContent, never innerHTML.
"use strict";

const Console = (() => {
  let csrf = "";
  const PAGES = [
    ["/console/incidents", "重大故障 incidents", ["supervisor", "admin"]],
    ["/console/exclusions", "剔除时段 KPI exclusions", ["supervisor", "admin"]],
    ["/console/kpi", "历史指标 KPI history", ["supervisor", "admin", "auditor"]],
    ["/console/reports/daily", "日报 daily log", ["supervisor", "admin", "auditor"]],
    ["/console/reports/weekly", "周报 weekly report", ["supervisor", "admin", "auditor"]],
    ["/console/reports/monthly", "月度简报 monthly briefing", ["supervisor", "admin", "auditor"]],
    ["/console/staffing", "排班测算 staffing", ["supervisor", "admin", "auditor"]],
    ["/console/users", "用户管理 users", ["admin"]],
    ["/console/access-log", "访问日志 access log", ["auditor", "admin"]],
  ];

  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
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

  // Show an API answer in a message box: the error's message and id, or a success text.
  function report(box, answer, success) {
    if (answer.ok) {
      box.className = "ok";
      box.textContent = success || "";
      box.dataset.errorId = "";
      box.hidden = !success;
      return;
    }
    const error = (answer.data && answer.data.error) || { message: `HTTP ${answer.status}` };
    box.className = "error";
    box.textContent = `失败 failed: ${error.message}`;
    box.dataset.errorId = error.id || "";
    box.hidden = false;
  }

  // Who is signed in; fills the header's links (only the pages this role may open).
  async function start() {
    const answer = await api("GET", "/api/session");
    if (!answer.ok) throw new Error(`session: HTTP ${answer.status}`);
    csrf = answer.data.csrf || "";
    const nav = $("console-nav");
    if (nav) {
      // logout.js may already have put its form in this nav: keep it, last.
      const logout = document.getElementById("logout-form");
      nav.replaceChildren(el("a", { href: "/console" }, "控制台 console"));
      for (const [href, label, roles] of PAGES) {
        if (!roles.includes(answer.data.role)) continue;
        nav.append(el("a", { href, "aria-current": location.pathname === href ? "page" : null }, label));
      }
      nav.append(el("span", { class: "who" }, `${answer.data.display_name} (${answer.data.role})`));
      if (logout) nav.append(logout);
    }
    return answer.data;
  }

  // datetime-local value (local wall time) → ISO 8601 with the browser's offset.
  function isoLocal(value) {
    if (!value) return "";
    const date = new Date(value);
    const offset = -date.getTimezoneOffset();
    const sign = offset >= 0 ? "+" : "-";
    const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
    return `${value.length === 16 ? value + ":00" : value}${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
  }

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString("zh-CN", { hour12: false });
  }

  return { $, el, api, report, start, isoLocal, when, pages: PAGES };
})();
