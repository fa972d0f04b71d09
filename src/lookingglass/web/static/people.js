// People (GET /people in a browser): GET /people (JSON) → a grid of persons, each a face, a name and a count.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, faceThumb } = window.LG;
  const form = document.getElementById("people-form");
  const q = document.getElementById("q");
  const show = document.getElementById("show");
  const grid = document.getElementById("people");
  const statusLine = document.getElementById("status");

  function card(p) {
    const name = p.name || "unnamed";
    const n = p.objects;
    const label = `${name}: ${n} photo${n === 1 ? "" : "s"} or video${n === 1 ? "" : "s"}`;
    const thumb = p.cover ? faceThumb(p.cover, `A face of ${name}`) : el("span", { class: "thumb missing" }, "no face");
    return el(
      "li",
      { class: "person", "data-person": p.id },
      el(
        "a",
        { href: `/people/${encodeURIComponent(p.id)}`, "aria-label": label },
        thumb,
        el("span", { class: p.name ? "name" : "name unnamed" }, name),
        el("span", { class: "meta" }, `${n} photo${n === 1 ? "" : "s"}${p.faces !== n ? ` · ${p.faces} faces` : ""}`),
      ),
    );
  }

  async function load() {
    const params = new URLSearchParams({ show: show.value, suggest: "false", limit: "500" });
    if (q.value.trim()) params.set("q", q.value.trim());
    status(statusLine, "Loading…", "loading");
    grid.setAttribute("aria-busy", "true");
    try {
      const body = await api(`/people?${params}`);
      grid.replaceChildren(...body.people.map(card));
      const n = body.people.length;
      if (!n) status(statusLine, q.value.trim() ? "No person has a name like that." : "No person here yet: persons appear as faces are indexed.", "empty");
      else status(statusLine, `${n} person${n === 1 ? "" : "s"}${n === 500 ? " (the first 500)" : ""}.`);
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Could not load the people. ${err.message}`, "error");
    } finally {
      grid.removeAttribute("aria-busy");
    }
  }

  // The filter lives in the URL, so a view can be linked to and Back restores it.
  const start = new URLSearchParams(window.location.search);
  q.value = start.get("q") || "";
  if (["visible", "named", "unnamed", "hidden"].includes(start.get("show"))) show.value = start.get("show");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params = new URLSearchParams();
    if (q.value.trim()) params.set("q", q.value.trim());
    if (show.value !== "visible") params.set("show", show.value);
    window.history.replaceState(null, "", `/people${params.toString() ? `?${params}` : ""}`);
    load();
  });
  show.addEventListener("change", () => form.requestSubmit());
  load();
});
