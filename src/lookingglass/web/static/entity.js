// One entity (GET /graph/entity/<id>): GET /entities/<id> → facts, its neighbourhood drawn (GET
// /entities/<id>/neighbourhood, cytoscape.js from static/vendor), typed relations with evidence before the folded
// co-mentions, the faces of the persons named as it, faces seen on its pages, documents.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, link, faceThumb, typeWord } = window.LG;
  const root = document.getElementById("entity");
  const id = root.dataset.entityId;
  const statusLine = document.getElementById("status");
  const CO = "co_mentioned";

  function entityLink(entity) {
    return el("a", { href: `/graph/entity/${encodeURIComponent(entity.id)}` }, entity.name);
  }

  function words(type) {
    return String(type).replace(/_/g, " ");
  }

  function notYet(v) {
    return v === null || v === undefined;
  }

  function facts(e) {
    const dl = document.getElementById("facts");
    const listed = e.relations.length;
    const total = notYet(e.relation_count) ? listed : e.relation_count;
    const rows = [
      ["Type", typeWord(e.type)],
      ["PageRank", notYet(e.pagerank) ? "not computed yet" : e.pagerank.toFixed(4)],
      ["Mentions", String(e.mentions)],
      ["Relations", total > listed ? `${total} (the ${listed} strongest listed below)` : String(total)],
      ...(e.type === "ORG"
        ? [["Shares people with", notYet(e.shares_people) ? "not computed yet" : `${e.shares_people} organisation${e.shares_people === 1 ? "" : "s"}`]]
        : []),
      ["Community", notYet(e.community) ? "not computed yet" : `${e.community} (Louvain), ${e.leiden ?? "–"} (Leiden)`],
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
      el("span", { class: `badge rel${r.type === CO ? " co" : ""}` }, r.type === CO ? "named with" : words(r.type)),
      ` ${arrow} `,
      to,
      el("span", { class: "meta" }, ` · ${typeWord(r.target.type)} · ${r.weight} sentence${r.weight === 1 ? "" : "s"}`),
    );
    const evidence = el("ul", { class: "evidence", "aria-label": "Evidence" });
    (r.evidence || []).forEach((ev) => {
      evidence.append(
        el("li", {}, el("blockquote", {}, ev.text), el("p", { class: "meta" }, "— ", el("a", { href: `/view/${encodeURIComponent(ev.document)}`, class: "view" }, ev.title || "the document"), /^https?:/.test(ev.url || "") ? [" · ", link(ev.url, "original")] : [])),
      );
    });
    if (!(r.evidence || []).length) evidence.append(el("li", { class: "meta" }, "No sentence recorded as evidence."));
    return el("li", {}, head, evidence);
  }

  function relations(e) {
    const typed = e.relations.filter((r) => r.type !== CO);
    const co = e.relations.filter((r) => r.type === CO);
    const list = document.getElementById("relations");
    list.replaceChildren(...typed.map((r) => relation(r, e.name)));
    if (!typed.length) {
      const text = co.length ? "No relation read from a sentence yet; it is only named together with others (below)." : "No relations found for this entity.";
      list.append(el("li", { class: "empty" }, text));
    }
    const fold = document.getElementById("co-mentions");
    document.getElementById("co-mentioned").replaceChildren(...co.map((r) => relation(r, e.name)));
    document.getElementById("co-mentions-title").textContent = `Named together with ${co.length} entit${co.length === 1 ? "y" : "ies"}`;
    fold.hidden = !co.length;
    section("relations", true);
  }

  function section(name, show) {
    document.getElementById(`${name}-section`).hidden = !show;
  }

  // ---- the drawing

  const network = document.getElementById("network");
  const networkStatus = document.getElementById("network-status");
  const PALETTE = ["#1f6fd1", "#d9480f", "#2b8a3e", "#ae3ec9", "#e8590c", "#0c8599", "#c2255c", "#5c940d", "#6741d9", "#a5681c"];
  const SHAPES = { PERSON: "ellipse", ORG: "round-rectangle", GPE: "diamond", LOC: "diamond", PROJECT: "hexagon" };
  let cy = null;

  function colour(node) {
    return notYet(node.community) ? "#868e96" : PALETTE[node.community % PALETTE.length];
  }

  function elements(body) {
    const nodes = body.nodes.map((n) => ({
      data: { id: n.id, label: n.name, colour: colour(n), shape: SHAPES[n.type] || "ellipse", hops: n.hops, kind: typeWord(n.type) },
      classes: n.hops === 0 ? "centre" : "",
    }));
    const edges = body.edges.map((e, i) => ({
      data: { id: `e${i}`, source: e.source, target: e.target, label: e.type === CO ? "" : words(e.type), width: Math.min(8, 1 + Math.log2(1 + e.weight)) },
      classes: e.type === CO ? "co" : "typed",
    }));
    return [...nodes, ...edges];
  }

  const STYLE = [
    { selector: "node", style: { "background-color": "data(colour)", shape: "data(shape)", label: "data(label)", "font-size": 11, color: "#1c1f24", "text-valign": "bottom", "text-margin-y": 3, "text-wrap": "ellipsis", "text-max-width": 120, width: 22, height: 22 } },
    { selector: "node.centre", style: { width: 34, height: 34, "border-width": 4, "border-color": "#1c1f24", "font-weight": "bold" } },
    { selector: "edge", style: { width: "data(width)", "curve-style": "bezier", "line-color": "#6b7480", "font-size": 9, color: "#174f96", "text-background-color": "#fff", "text-background-opacity": 0.85, "text-background-padding": 1 } },
    { selector: "edge.typed", style: { "line-style": "solid", label: "data(label)", "target-arrow-shape": "triangle", "target-arrow-color": "#6b7480", "line-color": "#3d4652" } },
    { selector: "edge.co", style: { "line-style": "dashed", "line-dash-pattern": [6, 4], "line-color": "#adb5bd" } },
  ];

  function positions() {
    // Where each node is drawn, in page pixels relative to the drawing: the browser tests click on them (no eval).
    const found = {};
    cy.nodes().forEach((n) => {
      const p = n.renderedPosition();
      found[n.id()] = [Math.round(p.x), Math.round(p.y)];
    });
    network.dataset.positions = JSON.stringify(found);
  }

  async function draw(hops) {
    network.dataset.ready = "false";
    status(networkStatus, "Drawing…", "loading");
    try {
      const body = await api(`/entities/${encodeURIComponent(id)}/neighbourhood?hops=${hops}`);
      if (typeof window.cytoscape !== "function") throw new Error("the drawing library did not load");
      if (cy) cy.destroy();
      cy = window.cytoscape({ container: network, elements: elements(body), style: STYLE, wheelSensitivity: 0.3, minZoom: 0.2, maxZoom: 3 });
      cy.on("tap", "node", (event) => {
        const target = event.target.id();
        if (target !== id) window.location.assign(`/graph/entity/${encodeURIComponent(target)}`);
      });
      cy.on("mouseover", "node", () => network.classList.add("pointing"));
      cy.on("mouseout", "node", () => network.classList.remove("pointing"));
      // Rings by hops: the entity in the middle, what is tied to it around it, two hops out on the outer ring.
      const layout = cy.layout({
        name: "concentric",
        animate: false,
        concentric: (node) => 10 - node.data("hops"),
        levelWidth: () => 1,
        minNodeSpacing: 36,
        padding: 24,
      });
      layout.one("layoutstop", () => {
        cy.fit(undefined, 24);
        if (cy.zoom() > 1.2) {
          cy.zoom(1.2); // a small neighbourhood stays at reading size instead of filling the box
          cy.center();
        }
        positions();
        network.dataset.nodes = String(cy.nodes().length);
        network.dataset.edges = String(cy.edges().length);
        network.dataset.hops = String(hops);
        network.dataset.ready = "true";
      });
      cy.on("viewport resize", () => positions());
      layout.run();
      const n = body.nodes.length - 1;
      const more = body.truncated ? " (the most strongly tied; there are more)" : "";
      status(networkStatus, n ? `${n} entit${n === 1 ? "y" : "ies"} within ${hops} hop${hops === 1 ? "" : "s"}${more}.` : "Nothing is tied to this entity yet.", n ? "" : "empty");
    } catch (err) {
      if (err.status !== 401) status(networkStatus, `Could not draw the neighbourhood. ${err.message}`, "error");
    }
  }

  document.querySelectorAll('input[name="hops"]').forEach((radio) => radio.addEventListener("change", () => draw(Number(radio.value))));

  async function load() {
    status(statusLine, "Loading…", "loading");
    try {
      const e = await api(`/entities/${encodeURIComponent(id)}`);
      document.getElementById("entity-name").textContent = e.name;
      document.title = `${e.name} · LookingGlass`;
      status(statusLine, "");
      facts(e);
      section("network", true);
      draw(1);
      relations(e);

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
