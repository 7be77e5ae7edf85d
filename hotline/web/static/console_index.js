// The console's start page: the pages this role may open.
"use strict";

(async () => {
  const me = await Console.start();
  const links = Console.pages.filter(([, , roles]) => roles.includes(me.role))
    .map(([href, label]) => Console.el("a", { href }, label));
  document.getElementById("pages").replaceChildren(...links);
  document.body.dataset.loaded = "yes";
})();
