// One person (GET /people/<id> in a browser): GET /people/<id> (JSON) → facts, suggested names with their
// evidence, the linked graph entity, every face; the analyst's actions POST /people/<id>/name|merge|split|hide.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, link, seconds, faceThumb } = window.LG;
  const root = document.getElementById("person");
  const id = root.dataset.personId;
  const base = `/people/${encodeURIComponent(id)}`;
  const statusLine = document.getElementById("status");
  const nameForm = document.getElementById("name-form");
  const nameInput = document.getElementById("name-input");
  const splitButton = document.getElementById("split-button");
  const mergeSearch = document.getElementById("merge-search");
  const mergeButton = document.getElementById("merge-button");
  const candidates = document.getElementById("merge-candidates");
  let person = null;

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const words = (type) => String(type).replace(/_/g, " ");
  const EVIDENCE = { caption: "caption", alt: "alt text", context: "text near the photo", title: "page title", page: "page address", transcript: "spoken", filename: "file name" };

  function post(action, body) {
    const opts = { method: "POST" };
    if (body !== undefined) {
      opts.headers = { "Content-Type": "application/json" };
      opts.body = JSON.stringify(body);
    }
    return api(`${base}/${action}`, opts);
  }

  /** Run an analyst's action, reload the person, and say what happened: `done(answer)` gives the words, or the
   *  words and a link to follow them. */
  async function act(button, work, done) {
    if (button) button.disabled = true;
    let answer;
    try {
      answer = await work();
    } catch (err) {
      if (err.status !== 401) status(statusLine, `That did not work. ${err.message}`, "error");
      return;
    } finally {
      if (button) button.disabled = false;
    }
    const [words, after] = [].concat(done(answer));
    if (await load()) {
      status(statusLine, words);
      if (after) statusLine.append(" ", after);
    }
  }

  function facts(p) {
    const objects = new Set(p.faces.map((f) => f.sha256)).size;
    const rows = [
      ["Name", p.name || "unnamed"],
      ["Photos and videos", String(objects)],
      ["Faces", String(p.faces.length)],
      ["Hidden", p.hidden ? "yes" : "no"],
      ["Id", p.id],
    ];
    const dl = document.getElementById("facts");
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    dl.hidden = false;
  }

  function evidenceItem(ev) {
    const where = [];
    if (ev.page_url) where.push(link(ev.page_url, ev.title || ev.page_url));
    else if (ev.title) where.push(ev.title);
    const moment = ev.timestamp !== null && ev.timestamp !== undefined;
    const object = `/view/${encodeURIComponent(ev.sha256)}${moment ? `?t=${Math.max(0, Number(ev.timestamp)).toFixed(1)}` : ""}`;
    return el(
      "li",
      {},
      ev.text ? el("blockquote", {}, ev.text) : null,
      el(
        "p",
        { class: "meta" },
        el("span", { class: "badge" }, EVIDENCE[ev.kind] || ev.kind),
        where.length ? " on " : "",
        where,
        " · ",
        el("a", { href: object }, moment ? `the video at ${seconds(ev.timestamp)}` : "the photo"),
      ),
    );
  }

  function suggestion(s) {
    const use = el("button", { type: "button", class: "quiet" }, `Confirm “${s.name}”`);
    use.addEventListener("click", () => {
      nameInput.value = s.name;
      act(use, () => post("name", { name: s.name }), (p) => `Named ${p.name}.`);
    });
    const evidence = el("ul", { class: "evidence", "aria-label": `Evidence for ${s.name}` }, ...(s.evidence || []).map(evidenceItem));
    return el("li", { class: "suggestion" }, el("p", {}, el("strong", {}, s.name), el("span", { class: "meta" }, ` · score ${s.score.toFixed(2)} `), use), evidence);
  }

  function entity(e) {
    const section = document.getElementById("entity-section");
    section.hidden = !e;
    if (!e) return;
    document.getElementById("entity-link").replaceChildren(
      "Linked to the entity ",
      el("a", { href: `/graph/entity/${encodeURIComponent(e.id)}`, class: "entity" }, e.name),
      el("span", { class: "meta" }, ` · ${String(e.type || "").toLowerCase()}`),
    );
    const list = document.getElementById("entity-relations");
    list.replaceChildren(
      ...(e.relations || []).map((r) => {
        const other = el("a", { href: `/graph/entity/${encodeURIComponent(r.target.id)}` }, r.target.name);
        const arrow = r.direction === "in" ? "←" : r.direction === "both" ? "↔" : "→";
        return el("li", {}, el("span", { class: "badge rel" }, words(r.type)), ` ${arrow} `, other, el("span", { class: "meta" }, ` · ${String(r.target.type || "").toLowerCase()}`));
      }),
    );
    if (!(e.relations || []).length) list.append(el("li", { class: "meta" }, "No relations found for this entity yet."));
  }

  function faceItem(f, i) {
    const video = f.kind === "video" && f.timestamp !== null && f.timestamp !== undefined;
    const label = `Face ${i + 1}${video ? ` at ${seconds(f.timestamp)}` : ""}`;
    const box = el("input", { type: "checkbox", id: `face-${i}`, value: f.face_id, class: "pick" });
    const links = el("ul", { class: "links" });
    const content = `/view/${encodeURIComponent(f.sha256)}?face=${encodeURIComponent(f.face_id)}`; // the evidence viewer
    if (video) links.append(el("li", {}, el("a", { href: `${content}&t=${Math.max(0, Number(f.timestamp)).toFixed(1)}`, class: "moment" }, `Play the video at ${seconds(f.timestamp)}`)));
    else links.append(el("li", {}, el("a", { href: content, class: "object" }, "Open the image")));
    if (f.page_url) links.append(el("li", {}, "Seen on: ", link(f.page_url, f.page_url, { class: "url page" })));
    else if (f.source_url) links.append(el("li", {}, "Source: ", link(f.source_url, f.source_url, { class: "url source" })));
    return el("li", { class: "face" }, faceThumb(f, label), el("label", { for: `face-${i}`, class: "pick" }, box, ` Select ${label.toLowerCase()}`), links);
  }

  async function load() {
    status(statusLine, "Loading…", "loading");
    try {
      person = await api(base);
    } catch (err) {
      if (err.status === 404) status(statusLine, "There is no such person (merged into another, or their faces were forgotten).", "error");
      else if (err.status !== 401) status(statusLine, `Could not load this person. ${err.message}`, "error");
      ["name", "entity", "faces", "merge", "hide"].forEach((s) => (document.getElementById(`${s}-section`).hidden = true));
      document.getElementById("facts").hidden = true;
      return false;
    }
    const p = person;
    const title = p.name || "Unnamed person";
    document.getElementById("person-name").textContent = title;
    document.title = `${title} · LookingGlass`;
    status(statusLine, "");
    facts(p);
    nameInput.value = p.name || "";
    const list = document.getElementById("suggestions");
    list.replaceChildren(...p.suggestions.map(suggestion));
    if (!p.suggestions.length) list.append(el("li", { class: "meta" }, "No name found where their faces were seen."));
    entity(p.entity);
    document.getElementById("person-faces").replaceChildren(...p.faces.map(faceItem));
    document.getElementById("hide-button").disabled = p.hidden;
    ["name", "faces", "merge", "hide"].forEach((s) => (document.getElementById(`${s}-section`).hidden = false));
    return true;
  }

  nameForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameInput.value.trim();
    if (!name) {
      status(statusLine, "Type a name first.", "error");
      nameInput.focus();
      return;
    }
    act(document.getElementById("name-button"), () => post("name", { name }), (p) => `Named ${p.name}.`);
  });

  splitButton.addEventListener("click", () => {
    const chosen = [...document.querySelectorAll("#person-faces input.pick:checked")].map((b) => b.value);
    if (!chosen.length) {
      status(statusLine, "Select the faces to move out first.", "error");
      return;
    }
    if (person && chosen.length === person.faces.length) {
      status(statusLine, "Leave at least one face here (or merge this person into another).", "error");
      return;
    }
    act(splitButton, () => post("split", { face_ids: chosen }), (p) => [
      `${plural(p.faces, "face")} moved to a new person.`,
      el("a", { href: `/people/${encodeURIComponent(p.id)}`, class: "new-person" }, "Open the new person"),
    ]);
  });

  mergeSearch.addEventListener("submit", async (event) => {
    event.preventDefault();
    const needle = document.getElementById("merge-q").value.trim().toLowerCase();
    try {
      const body = await api("/people?suggest=false&limit=1000");
      const found = body.people.filter(
        (p) => p.id !== id && (!needle || (p.name || "").toLowerCase().includes(needle) || p.id.toLowerCase().startsWith(needle)),
      );
      candidates.replaceChildren(
        ...found.map((p, i) => {
          const name = p.name || "unnamed";
          return el(
            "li",
            { class: "candidate" },
            p.cover ? faceThumb(p.cover, `A face of ${name}`) : null,
            el("label", { for: `merge-${i}` }, el("input", { type: "checkbox", id: `merge-${i}`, value: p.id, class: "pick" }), ` ${name} `, el("span", { class: "meta" }, `· ${plural(p.objects, "photo")} · ${p.id.slice(0, 8)}`)),
          );
        }),
      );
      if (!found.length) candidates.append(el("li", { class: "meta" }, "No other person matches."));
      mergeButton.hidden = !found.length;
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Could not find persons. ${err.message}`, "error");
    }
  });

  mergeButton.addEventListener("click", () => {
    const others = [...candidates.querySelectorAll("input.pick:checked")].map((b) => b.value);
    if (!others.length) {
      status(statusLine, "Select the persons to merge first.", "error");
      return;
    }
    act(mergeButton, () => post("merge", { others }), (p) => {
      candidates.replaceChildren();
      mergeButton.hidden = true;
      return `Merged: ${plural(p.faces, "face")} now.`;
    });
  });

  const hideButton = document.getElementById("hide-button");
  hideButton.addEventListener("click", () =>
    act(hideButton, () => post("hide"), () => "Hidden: they no longer show in the People list (Show: hidden finds them)."),
  );

  load();
});
