// Entities (GET /graph): search GET /entities (most central first), the graph's size, organisations sharing people.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, typeWord } = window.LG;
  const PAGE = 50;
  const form = document.getElementById("entity-form");
  const q = document.getElementById("q");
  const type = document.getElementById("type");
  const statusLine = document.getElementById("status");
  const table = document.getElementById("entities");
  const rows = table.querySelector("tbody");
  const more = document.getElementById("more");
  const stats = document.getElementById("graph-stats");
  const shared = document.getElementById("shared");
  const sharedStatus = document.getElementById("shared-status");
  let offset = 0;

  function entityLink(entity) {
    return el("a", { href: `/graph/entity/${encodeURIComponent(entity.id)}` }, entity.name);
  }

  function row(e) {
    const rank = e.pagerank === null || e.pagerank === undefined ? "–" : e.pagerank.toFixed(4);
    const community = e.community === null || e.community === undefined ? "–" : String(e.community);
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, entityLink(e)),
      el("td", {}, el("span", { class: `badge type-${String(e.type).toLowerCase()}` }, typeWord(e.type))),
      el("td", { class: "num" }, rank),
      el("td", { class: "num" }, String(e.mentions)),
      el("td", { class: "num" }, e.relation_count === null || e.relation_count === undefined ? "–" : String(e.relation_count)),
      el("td", { class: "num" }, community),
    );
  }

  async function load(append) {
    if (!append) {
      offset = 0;
      rows.replaceChildren();
      table.hidden = true;
    }
    more.hidden = true;
    status(statusLine, "Loading entities…", "loading");
    // One more than a page: "Show more" only when there is more (not when the last page happened to be full).
    const params = new URLSearchParams({ sort: "pagerank", limit: String(PAGE + 1), offset: String(offset) });
    if (q.value.trim()) params.set("q", q.value.trim());
    if (type.value) params.set("type", type.value);
    try {
      const body = await api(`/entities?${params}`);
      const shown = body.entities.slice(0, PAGE);
      shown.forEach((e) => rows.append(row(e)));
      offset += shown.length;
      if (!offset) {
        const filtered = q.value.trim() || type.value;
        status(statusLine, filtered ? "No entity matches." : "Nothing is indexed yet — upload or ingest pages, videos or audio (or crawl a site); the names they mention appear here.", "empty");
        return;
      }
      table.hidden = false;
      more.hidden = body.entities.length <= PAGE;
      status(statusLine, `${offset} entit${offset === 1 ? "y" : "ies"} shown, most central first.`);
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Could not load entities. ${err.message}`, "error");
    }
  }

  async function loadStats() {
    try {
      const body = await api("/graph/stats");
      const s = body.stats;
      const last = body.last_analytics;
      const when = last && last.finished_at ? `; PageRank and communities from ${new Date(last.finished_at).toLocaleString()}` : "; PageRank not computed yet";
      stats.textContent = `${s.entities} entities, ${s.relations} relations, ${s.documents} documents${when}.`;
    } catch (err) {
      stats.textContent = "";
    }
  }

  async function loadShared() {
    status(sharedStatus, "Loading…", "loading");
    try {
      const body = await api("/graph/shared-people?limit=20");
      shared.replaceChildren();
      if (!body.pairs.length) {
        status(sharedStatus, "No two organisations share a person yet.", "empty");
        return;
      }
      status(sharedStatus, "");
      body.pairs.forEach((pair) => {
        const n = pair.people.length;
        shared.append(
          el(
            "li",
            {},
            entityLink(pair.a),
            " and ",
            entityLink(pair.b),
            el("span", { class: "meta" }, ` share ${n} ${n === 1 ? "person" : "people"}: ${pair.people.join(", ")}`),
          ),
        );
      });
    } catch (err) {
      if (err.status !== 401) status(sharedStatus, `Could not load. ${err.message}`, "error");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    if (type.value) params.set("type", type.value);
    window.history.replaceState(null, "", `${window.location.pathname}${params.size ? `?${params}` : ""}`);
    load(false);
  });
  more.addEventListener("click", () => load(true));

  const given = new URLSearchParams(window.location.search);
  if (given.get("q")) q.value = given.get("q");
  if (given.get("type")) type.value = given.get("type").toUpperCase();
  load(false);
  loadStats();
  loadShared();
});
