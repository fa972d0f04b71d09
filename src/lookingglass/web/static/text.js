// Text search (GET /text): GET /search?q=&kind= → hits with highlighted snippets, linked to the moment or the page.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, link, snippet, seconds } = window.LG;
  const form = document.getElementById("text-form");
  const q = document.getElementById("q");
  const kind = document.getElementById("kind");
  const statusLine = document.getElementById("status");
  const hits = document.getElementById("hits");

  function hitItem(hit) {
    const text = el("p", { class: "snippet" }, snippet(hit.snippet, hit.text));
    const meta = el("p", { class: "meta" }, el("span", { class: "badge" }, hit.kind === "page" ? "page" : "said in a video"));
    const links = el("ul", { class: "links" });
    const timed = hit.start !== null && hit.start !== undefined;
    const view = `/view/${encodeURIComponent(hit.sha256)}`; // the evidence viewer (viewer.js); the original is second
    if (timed) {
      meta.append(` ${seconds(hit.start)}${hit.end !== null && hit.end !== undefined ? ` – ${seconds(hit.end)}` : ""}`);
      const href = `${view}?t=${Number(hit.start).toFixed(1)}`;
      links.append(el("li", {}, el("a", { href, class: "moment view" }, `Play from ${seconds(hit.start)}`)));
      if (hit.source_url) links.append(el("li", {}, "Original: ", link(hit.source_url)));
    } else {
      links.append(el("li", {}, el("a", { href: view, class: "view" }, `Read ${hit.title ? `“${hit.title}”` : "the page"}`)));
      if (hit.source_url) links.append(el("li", {}, "Original: ", link(hit.source_url, hit.title || hit.source_url, { class: hit.title ? "page" : "url page" })));
    }
    return el("li", { class: "hit" }, text, meta, links);
  }

  async function run(query, which) {
    hits.replaceChildren();
    if (!query) {
      status(statusLine, "Type a word or a phrase to search for.", "error");
      return;
    }
    status(statusLine, "Searching…", "loading");
    hits.setAttribute("aria-busy", "true");
    try {
      const params = new URLSearchParams({ q: query, limit: "30" });
      if (which) params.set("kind", which);
      const body = await api(`/search?${params}`);
      const ignored = (body.ignored || []).map((w) => `“${w}”`).join(", ");
      const note = ignored ? ` Ignored as too common to search for: ${ignored}.` : "";
      const empty = document.querySelector('[data-index-counts="text"][data-empty="true"]');
      if (!body.hits.length) {
        const why = empty ? " Nothing is indexed yet — upload or ingest pages, videos or audio first." : "";
        status(statusLine, `Nothing matched “${query}”.${note}${why}`, "empty");
        return;
      }
      status(statusLine, `${body.hits.length} passage${body.hits.length === 1 ? "" : "s"} matched “${query}”.${note}`);
      body.hits.forEach((hit) => hits.append(hitItem(hit)));
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Search failed. ${err.message}`, "error");
    } finally {
      hits.removeAttribute("aria-busy");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = q.value.trim();
    const params = new URLSearchParams({ q: query });
    if (kind.value) params.set("kind", kind.value);
    window.history.replaceState(null, "", `${window.location.pathname}?${params}`);
    run(query, kind.value);
  });

  // A search can be linked to: /text?q=...&kind=page
  const given = new URLSearchParams(window.location.search);
  if (given.get("q")) {
    q.value = given.get("q");
    if (["transcript", "page"].includes(given.get("kind"))) kind.value = given.get("kind");
    run(q.value.trim(), kind.value);
  }
});
