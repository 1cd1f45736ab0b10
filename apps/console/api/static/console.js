// orderflow console: live updates over server-sent events. The pages are complete without this script; it
// only keeps them current. Every fragment it inserts was rendered (and escaped) by the server's templates.
(() => {
  "use strict";
  const main = document.getElementById("main");
  const url = main && main.dataset.live;
  if (!url || !window.EventSource) return;

  const status = document.getElementById("live-status");
  const say = (text) => { if (status) status.textContent = text; };
  const fragment = (html) => {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content;
  };
  const replace = (id, html) => {
    const old = document.getElementById(id);
    if (old) old.replaceWith(fragment(html));
  };
  const mark = (el) => {
    el.classList.remove("updated");
    void el.offsetWidth; // restart the highlight
    el.classList.add("updated");
  };

  // Board rows: insert or replace by order id, keep newest first, keep at most the board's size.
  const upsertRows = (rows) => {
    const body = document.getElementById("board-rows");
    if (!body) return;
    const size = Number(body.closest("table").dataset.size) || 200;
    for (const r of rows) {
      const row = fragment(r.html).firstElementChild;
      const old = document.getElementById(row.id);
      if (old && Number(old.dataset.version) >= Number(row.dataset.version)) continue;
      if (old) old.remove();
      const since = Number(row.dataset.since);
      const before = [...body.rows].find((x) => Number(x.dataset.since) < since);
      body.insertBefore(row, before || null);
      mark(row);
    }
    while (body.rows.length > size) body.deleteRow(-1);
    const empty = document.getElementById("board-empty");
    if (empty && body.rows.length) empty.remove();
  };

  // The order the reader just placed: its status is read out as it changes.
  const placed = document.getElementById("placed");
  const placedStatus = document.getElementById("placed-status");
  const announce = () => {
    if (!placed || !placedStatus) return;
    const row = document.getElementById("order-" + placed.dataset.orderId);
    if (row && placedStatus.textContent !== row.dataset.status) placedStatus.textContent = row.dataset.status;
  };

  // How long after its event an update reached this page (event time → on screen).
  const freshness = (eventAt) => {
    const el = document.getElementById("freshness");
    if (!el || !eventAt) return;
    const lag = Math.max(0, Date.now() - eventAt);
    el.dataset.lagMs = String(lag);
    el.textContent = `Last update on screen ${lag} ms after its event was published.`;
  };

  const es = new EventSource(url);
  es.addEventListener("open", () => say("live"));
  es.addEventListener("error", () => say("reconnecting…"));
  es.addEventListener("board", (e) => {
    const d = JSON.parse(e.data);
    upsertRows(d.rows || []);
    if (d.summary) replace("board-summary", d.summary);
    announce();
    freshness(d.eventAt);
  });
  es.addEventListener("order", (e) => {
    const d = JSON.parse(e.data);
    replace("order-live", d.html);
    freshness(d.eventAt);
  });
  const table = (id) => (e) => {
    const body = document.getElementById(id);
    if (!body) return;
    body.replaceChildren(fragment(JSON.parse(e.data).html));
  };
  es.addEventListener("stock", table("stock-rows"));
  es.addEventListener("health", table("health-rows"));
  // The session ended (signed out elsewhere, or the token expired): the next page load signs in again.
  es.addEventListener("expired", () => { es.close(); say("session ended: reload to sign in"); });
  announce();
})();
