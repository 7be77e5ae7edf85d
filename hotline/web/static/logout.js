// The logout button of the console pages: a POST /logout form carrying the session's CSRF
// token (from /api/session), put at the end of the page header's <nav> (or the header).
// Pages that build their own #logout-form (wallboard, desk, case console) get only the token.
// A classic script: load it after the page's markup.
"use strict";

(function addLogout() {
  let form = document.getElementById("logout-form");
  if (form === null) {
    const place = document.querySelector("header nav") || document.querySelector("header") || document.body;
    form = document.createElement("form");
    form.method = "post";
    form.action = "/logout";
    form.id = "logout-form";
    form.className = "logout-form";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrf";
    csrf.id = "logout-csrf";
    const button = document.createElement("button");
    button.type = "submit";
    button.id = "logout";
    button.textContent = "退出 log out";
    form.append(csrf, button);
    place.append(form);
  }
  fetch("/api/session", { cache: "no-store" })
    .then((response) => (response.ok ? response.json() : null))
    .then((session) => {
      if (session && session.csrf) document.getElementById("logout-csrf").value = session.csrf;
    })
    .catch(() => {});
})();
