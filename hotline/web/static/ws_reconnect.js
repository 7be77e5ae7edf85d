// One WebSocket that comes back by itself: the wallboard's /ws and the desk's /ws/desk share
// this so the backoff (0.5 s doubling to 10 s, reset once a connection opens) is written once.
// A classic script (pages load it before their own): it defines one global function.
"use strict";

/**
 * Open `path` (same host, ws: or wss: like the page) and reopen it whenever it closes.
 * handlers.onOpen()         — the socket is up (first time or after a reconnect)
 * handlers.onMessage(data)  — one JSON message; a frame that is not JSON is ignored
 * handlers.onDown()         — the socket closed (or the browser has no WebSocket at all)
 */
function openReconnectingSocket(path, handlers) {
  const FIRST_MS = 500;
  const MAX_MS = 10000;
  let delayMs = FIRST_MS;
  const call = (name, ...args) => { if (handlers[name]) handlers[name](...args); };

  function connect() {
    if (!("WebSocket" in window)) {
      call("onDown");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}${path}`);
    ws.onopen = () => {
      delayMs = FIRST_MS;
      call("onOpen");
    };
    ws.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      call("onMessage", message);
    };
    ws.onclose = () => {
      call("onDown");
      setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, MAX_MS);
    };
  }
  connect();
}
