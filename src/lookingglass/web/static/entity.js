// One entity (GET /graph/entity/<id>): GET /entities/<id> → facts, relations with evidence, the faces of the persons
// named as it, faces seen on its pages, documents.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, link, faceThumb } = window.LG;
  const root = document.getElementById("entity");
  const id = root.dataset.entityId;
  const statusLine = document.getElementById("status");

  function entityLink(entity) {
    return el("a", { href: `/graph/entity/${encodeURIComponent(entity.id)}` }, entity.name);
  }

  function words(type) {
    return String(type).replace(/_/g, " ");
  }

  function facts(e) {
    const dl = document.getElementById("facts");
    const rows = [
      ["Type", String(e.type).toLowerCase()],
      ["PageRank", e.pagerank === null || e.pagerank === undefined ? "not computed yet" : e.pagerank.toFixed(4)],
      ["Mentions", String(e.mentions)],
      ...(e.type === "ORG"
        ? [["Shares people with", e.shares_people === null || e.shares_people === undefined ? "not computed yet" : `${e.shares_people} organisation${e.shares_people === 1 ? "" : "s"}`]]
        : []),
      ["Community", e.community === null || e.community === undefined ? "not computed yet" : `${e.community} (Louvain), ${e.leiden ?? "–"} (Leiden)`],
    ];
    dl.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
    const search = new URLSearchParams({ q: `"${e.name}"` });
    dl.append(el("dt", {}, "Text"), el("dd", {}, el("a", { href: `/text?${search}` }, `Search pages and videos for “${e.name}”`)));
    dl.hidden = false;
  }

  function relation(r, name) {
    // Read as a sentence, source first: "Mara Lindqvist  ceo of →  Norhaven Corp."; untyped ties read both ways.
    const other = entityLink(r.target);
    const me = el("strong", {}, name);
    const [from, to] = r.direction === "in" ? [other, me] : [me, other];
    const arrow = r.direction === "both" ? "↔" : "→";
    const head = el(
      "p",
      { class: "relation" },
      from,
      " ",
      el("span", { class: "badge rel" }, words(r.type)),
      ` ${arrow} `,
      to,
      el("span", { class: "meta" }, ` · ${String(r.target.type).toLowerCase()} · weight ${r.weight}`),
    );
    const evidence = el("ul", { class: "evidence", "aria-label": "Evidence" });
    (r.evidence || []).forEach((ev) => {
      evidence.append(
        el("li", {}, el("blockquote", {}, ev.text), el("p", { class: "meta" }, "— ", link(ev.url, ev.title || ev.url || "a document"))),
      );
    });
    if (!(r.evidence || []).length) evidence.append(el("li", { class: "meta" }, "No sentence recorded as evidence."));
    return el("li", {}, head, evidence);
  }

  function section(name, show) {
    document.getElementById(`${name}-section`).hidden = !show;
  }

  async function load() {
    status(statusLine, "Loading…", "loading");
    try {
      const e = await api(`/entities/${encodeURIComponent(id)}`);
      document.getElementById("entity-name").textContent = e.name;
      document.title = `${e.name} · LookingGlass`;
      status(statusLine, "");
      facts(e);

      const relations = document.getElementById("relations");
      relations.replaceChildren(...e.relations.map((r) => relation(r, e.name)));
      if (!e.relations.length) relations.append(el("li", { class: "empty" }, "No relations found for this entity."));
      section("relations", true);

      const shared = document.getElementById("shared-people");
      shared.replaceChildren(
        ...(e.shared_people || []).map((s) =>
          el("li", {}, entityLink(s.organisation), el("span", { class: "meta" }, ` · ${s.people.join(", ")}`),
            // each person's typed relation and its sentence, on this side and the other (quality, issue 17)
            ...(s.ties || []).map((t) => el("p", { class: "meta" }, `${t.person.name}: ${words(t.a.type)} here (“${t.a.text || ""}”), ${words(t.b.type)} ${s.organisation.name} (“${t.b.text || ""}”)`))),
        ),
      );
      section("shared", (e.shared_people || []).length > 0);

      const persons = document.getElementById("entity-persons");
      persons.replaceChildren(
        ...(e.persons || []).map((p) => {
          const href = `/people/${encodeURIComponent(p.id)}`;
          const name = p.name || "an unnamed person";
          return el(
            "li",
            { class: "entity-person" },
            el("p", {}, el("a", { href, class: "person" }, name), el("span", { class: "meta" }, ` · ${p.faces} face${p.faces === 1 ? "" : "s"}`)),
            el("ul", { class: "thumbs" }, ...(p.shown || []).map((f, i) => el("li", {}, el("a", { href, "aria-label": `${name}, face ${i + 1}` }, faceThumb(f, `${name}, face ${i + 1}`))))),
          );
        }),
      );
      section("persons", (e.persons || []).length > 0);

      const faces = document.getElementById("entity-faces");
      faces.replaceChildren(
        ...(e.faces || []).map((f, i) =>
          el(
            "li",
            {},
            faceThumb(f, `Face ${i + 1} seen on ${f.page_url || "a page"}`),
            el("p", { class: "meta" }, link(f.page_url || f.source_url, "where it was seen")),
          ),
        ),
      );
      section("faces", (e.faces || []).length > 0);

      const docs = document.getElementById("documents");
      docs.replaceChildren(
        ...e.documents.map((d) =>
          el("li", {}, link(d.url, d.title || d.url || d.id), el("span", { class: "meta" }, ` ${d.kind} · ${d.mentions} mention${d.mentions === 1 ? "" : "s"}`)),
        ),
      );
      section("documents", e.documents.length > 0);
    } catch (err) {
      if (err.status === 404) status(statusLine, "There is no such entity (it may have been removed).", "error");
      else if (err.status !== 401) status(statusLine, `Could not load this entity. ${err.message}`, "error");
    }
  }

  load();
});
