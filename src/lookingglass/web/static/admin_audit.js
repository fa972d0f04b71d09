// Admin console, audit log (GET /admin/audit as a page): filter by user, action and dates, page through, export the
// filtered entries as CSV (the same URL with format=csv), and the hash chain's state (GET /admin/audit/verify).
// The page's query string is the API's, so a filtered view can be linked to and reloaded.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, date } = window.LG;
  const PAGE = 50;
  const statusLine = document.getElementById("status");
  const rows = document.querySelector("#entries tbody");
  const form = document.getElementById("audit-filter");
  const fields = { actor: "f-actor", action: "f-action", since: "f-since", until: "f-until" };
  const newer = document.getElementById("newer");
  const older = document.getElementById("older");
  let offset = 0;

  /** A yyyy-mm-dd date moved by `days` (the API's `until` is exclusive; the form's is the last day shown). */
  function shift(day, days) {
    const d = new Date(`${day}T00:00:00Z`);
    if (Number.isNaN(d.getTime())) return "";
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  function filters() {
    const query = new URLSearchParams();
    for (const [name, id] of Object.entries(fields)) {
      let value = document.getElementById(id).value.trim();
      if (value && name === "until") value = shift(value, 1);
      if (value) query.set(name, value);
    }
    return query;
  }

  function fromUrl() {
    const given = new URLSearchParams(window.location.search);
    for (const [name, id] of Object.entries(fields)) {
      let value = given.get(name) || "";
      if (value && (name === "since" || name === "until")) value = value.slice(0, 10);
      if (value && name === "until") value = shift(value, -1);
      document.getElementById(id).value = value;
    }
    offset = Math.max(0, Number.parseInt(given.get("offset") || "0", 10) || 0);
  }

  function cell(label, ...children) {
    return el("td", { "data-label": label }, ...children);
  }

  function row(e) {
    const about = [e.target, e.query !== null && e.query !== undefined ? `“${e.query}”` : null, e.query_sha256 ? `photo ${e.query_sha256.slice(0, 12)}…` : null]
      .filter(Boolean)
      .join(" · ");
    return el(
      "tr",
      { class: e.status >= 400 ? "refused" : "" },
      cell("When", date(e.at)),
      cell("User", e.actor, e.role && e.role !== "-" ? el("span", { class: "meta" }, ` (${e.role})`) : ""),
      cell("Action", el("span", { class: "badge" }, e.action)),
      cell("Target or query", about || "–"),
      el("td", { class: "num", "data-label": "Results" }, e.results ?? "–"),
      el("td", { class: "num", "data-label": "Status" }, e.status ?? "–"),
      cell("Address", e.ip || "–"),
    );
  }

  async function load() {
    const query = filters();
    const shown = new URLSearchParams(query);
    if (offset) shown.set("offset", String(offset));
    window.history.replaceState(null, "", `${window.location.pathname}${shown.toString() ? `?${shown}` : ""}`);
    const csv = new URLSearchParams(query);
    csv.set("format", "csv");
    document.getElementById("export").href = `/admin/audit?${csv}`;
    query.set("limit", String(PAGE + 1)); // one more than shown: is there an older page?
    query.set("offset", String(offset));
    status(statusLine, "Loading…", "loading");
    try {
      const body = await api(`/admin/audit?${query}`);
      const entries = body.entries.slice(0, PAGE);
      rows.replaceChildren(...entries.map(row));
      status(statusLine, entries.length ? "" : "No entries match these filters.", entries.length ? "" : "empty");
      document.getElementById("range").textContent = entries.length ? `(${offset + 1}–${offset + entries.length}, newest first)` : "";
      newer.disabled = offset === 0;
      older.disabled = body.entries.length <= PAGE;
    } catch (err) {
      rows.replaceChildren();
      status(statusLine, err.message, "error");
    }
  }

  async function verify() {
    const line = document.getElementById("chain");
    try {
      const chain = await api("/admin/audit/verify");
      if (chain.ok) {
        line.replaceChildren(
          el("span", { class: "pill ok" }, "intact"),
          ` The hash chain of all ${chain.entries} entries is intact.`,
          chain.head_id ? el("span", { class: "meta" }, ` Head: entry ${chain.head_id}, `, el("code", {}, chain.head_hash || ""), " (keep a copy elsewhere).") : "",
        );
      } else {
        line.replaceChildren(el("span", { class: "pill bad" }, "broken"), ` ${chain.problem || "The chain is broken."}`);
      }
    } catch (err) {
      line.replaceChildren(el("span", { class: "error" }, err.message));
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    offset = 0;
    load();
  });
  document.getElementById("clear-filter").addEventListener("click", () => {
    form.reset();
    offset = 0;
    load();
  });
  newer.addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    load();
  });
  older.addEventListener("click", () => {
    offset += PAGE;
    load();
  });

  fromUrl();
  load();
  verify();
});
