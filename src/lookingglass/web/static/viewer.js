// The evidence viewer (GET /view/<sha256>?face=&t=&box=): GET /objects/<sha>/view → an image with the matched face
// boxed, a video from the match's moment with a timeline of when that person is on screen and what was said, or a
// page's main text with its entities linked. The face search opens the same viewer in a panel beside its results
// (LG.viewer.show), so the results stay where they were.
"use strict";

window.LG.viewer = (function () {
  const { el, svg, api, status, link, safeHref, seconds, date } = window.LG;

  /** A link only for http(s): a file:// path (a locally ingested file) is shown as text, never as a link. */
  function original(url, text, attrs) {
    const href = safeHref(url);
    if (href && /^https?:/.test(href)) return link(url, text, attrs);
    return el("span", Object.assign({}, attrs || {}, { class: `${(attrs && attrs.class) || ""} url`.trim() }), text || url);
  }

  function parseBox(text) {
    const parts = String(text || "").split(",").map(Number);
    return parts.length === 4 && parts.every(Number.isFinite) ? parts : null;
  }

  function header(view, node) {
    const facts = el("ul", { class: "links viewer-facts" });
    facts.append(el("li", {}, el("span", { class: "badge" }, view.kind)));
    const web = /^https?:/i.test(view.source_url || "");
    if (view.source_url) facts.append(el("li", {}, web ? "Original: " : "File: ", original(view.source_url, view.source_url, { class: "source" })));
    if (view.page_url) facts.append(el("li", {}, "Seen on: ", original(view.page_url, view.page_title || view.page_url, { class: "page" })));
    const when = date(view.crawled_at || view.first_seen);
    if (when) facts.append(el("li", {}, web && view.crawled_at ? "Fetched " : "Stored ", when));
    node.append(el("h2", { class: "viewer-title", tabindex: "-1" }, view.title || `${view.kind} ${view.sha256.slice(0, 12)}`), facts);
    if (view.processing_error) node.append(el("p", { class: "status error" }, `Processing failed: ${view.processing_error}`));
  }

  function image(view, node, opts) {
    const wanted = view.faces.find((f) => f.face_id === opts.face);
    const box = wanted ? wanted.box : parseBox(opts.box);
    const img = el("img", { src: view.content_url, alt: view.title || "The stored image", class: "viewer-img" });
    const overlay = svg("svg", { class: "viewer-overlay", "aria-hidden": "true" });
    const stage = el("div", { class: "viewer-stage fit" }, el("div", { class: "viewer-figure" }, img, overlay));
    const zoom = el("button", { type: "button", class: "quiet viewer-zoom", "aria-pressed": "false" }, "Full size");
    zoom.addEventListener("click", () => {
      const full = stage.classList.toggle("full");
      stage.classList.toggle("fit", !full);
      zoom.setAttribute("aria-pressed", String(full));
      zoom.textContent = full ? "Fit to the window" : "Full size";
      if (full && box) stage.scrollTo({ left: Math.max(0, box[0] - 40), top: Math.max(0, box[1] - 40) });
    });
    img.addEventListener("load", () => {
      overlay.setAttribute("viewBox", `0 0 ${img.naturalWidth} ${img.naturalHeight}`);
      view.faces.forEach((f) => {
        const [x1, y1, x2, y2] = f.box;
        const chosen = box && f.box.every((v, i) => Math.abs(v - box[i]) < 0.5);
        overlay.append(svg("rect", { x: x1, y: y1, width: x2 - x1, height: y2 - y1, class: chosen ? "box matched" : "box other" }));
      });
      if (box && !wanted && !view.faces.some((f) => f.box.every((v, i) => Math.abs(v - box[i]) < 0.5))) {
        const [x1, y1, x2, y2] = box;
        overlay.append(svg("rect", { x: x1, y: y1, width: x2 - x1, height: y2 - y1, class: "box matched" }));
      }
      zoom.hidden = false;
    });
    zoom.hidden = true;
    const who = wanted && wanted.person ? personLink(wanted.person) : null;
    node.append(
      el("p", { class: "meta" }, box ? "The matched face is boxed. " : "", `${view.faces.length} face${view.faces.length === 1 ? "" : "s"} indexed in this image.`, who ? " Person: " : "", who || ""),
      zoom,
      stage,
    );
  }

  function personLink(p) {
    const href = `/people/${encodeURIComponent(p.id)}`;
    return el("a", { href, class: p.name ? "person" : "person unnamed" }, p.name || "an unnamed person");
  }

  /** Move the player to `t` seconds; it goes on playing if it was, and stays paused if it was paused. */
  function seek(player, t) {
    player.currentTime = Math.max(0, Number(t) || 0);
  }

  /** A lane of marks on a 0..duration axis; each mark seeks the player when activated. */
  function lane(label, items, duration, player, cls) {
    const row = el("div", { class: `lane ${cls}`, role: "group", "aria-label": label });
    items.forEach((item) => {
      const left = (100 * Math.max(0, item.start)) / duration;
      const width = Math.max(0.8, (100 * Math.max(0, item.end - item.start)) / duration);
      const mark = el(
        "button",
        { type: "button", class: `span ${item.cls || ""}`.trim(), "data-start": item.start, "data-end": item.end, title: item.title, "aria-label": item.title },
        "",
      );
      mark.style.left = `${Math.min(100, left)}%`;
      mark.style.width = `${Math.min(100 - Math.min(100, left), width)}%`;
      mark.addEventListener("click", () => seek(player, item.start));
      row.append(mark);
    });
    return el("div", { class: "lane-row" }, el("span", { class: "lane-label" }, label), row);
  }

  function media(view, node, opts) {
    const video = view.kind === "video";
    const player = el(video ? "video" : "audio", { src: view.content_url, controls: true, preload: "metadata", class: "viewer-player" });
    const start = Math.max(0, Number(opts.t) || 0);
    let seeked = false;
    player.addEventListener("loadedmetadata", () => {
      if (!seeked && start > 0) player.currentTime = Math.min(start, player.duration || start);
      seeked = true;
      draw();
    });
    const wanted = view.faces.find((f) => f.face_id === opts.face);
    const mine = wanted
      ? view.tracks.filter((t) => t.track_id === wanted.track_id || (wanted.person && t.person && t.person.id === wanted.person.id))
      : [];
    const timeline = el("div", { class: "timeline", "aria-label": "Timeline" });
    const transcriptList = el("ol", { class: "transcript" });
    let segments = [];
    function draw() {
      const ends = [...view.tracks.map((t) => t.end), ...segments.map((s) => s.end)];
      const duration = player.duration && Number.isFinite(player.duration) ? player.duration : view.duration || Math.max(1, ...ends);
      const lanes = [];
      if (video) {
        const who = wanted ? (wanted.person && wanted.person.name) || (wanted.person ? "This person" : "This face") : "Faces";
        const shown = mine.length ? mine : view.tracks;
        lanes.push(
          lane(
            mine.length ? `${who} on screen` : "Faces on screen",
            shown.map((t) => ({ start: t.start, end: t.end, cls: "face", title: `On screen ${seconds(t.start)} – ${seconds(t.end)}` })),
            duration,
            player,
            "faces",
          ),
        );
      }
      if (segments.length) {
        lanes.push(lane("Said", segments.map((s) => ({ start: s.start, end: s.end, cls: "said", title: `${seconds(s.start)}: ${s.text}` })), duration, player, "said"));
      }
      const cursor = el("span", { class: "cursor", "aria-hidden": "true" });
      cursor.style.left = `${(100 * (player.currentTime || start)) / duration}%`;
      timeline.replaceChildren(...lanes, el("div", { class: "lane-row" }, el("span", { class: "lane-label" }, ""), el("div", { class: "lane axis" }, cursor)));
      timeline.dataset.duration = String(duration);
    }
    player.addEventListener("timeupdate", () => {
      const cursor = timeline.querySelector(".cursor");
      const duration = Number(timeline.dataset.duration) || 1;
      if (cursor) cursor.style.left = `${Math.min(100, (100 * player.currentTime) / duration)}%`;
    });
    const facts = [];
    if (wanted && wanted.timestamp !== null) facts.push(`The match is at ${seconds(wanted.timestamp)}.`);
    if (video) facts.push(`${view.tracks.length} face track${view.tracks.length === 1 ? "" : "s"}.`);
    const who = wanted && wanted.person ? personLink(wanted.person) : null;
    node.append(player, el("p", { class: "meta" }, facts.join(" "), who ? " Person: " : "", who || ""), timeline);
    draw();
    if (view.transcript) {
      node.append(el("h3", {}, "What was said"), transcriptList);
      api(`/objects/${encodeURIComponent(view.sha256)}/transcript`)
        .then((t) => {
          segments = t.segments || [];
          transcriptList.replaceChildren(
            ...segments.map((s) => {
              const go = el("button", { type: "button", class: "quiet seek", "data-start": s.start }, seconds(s.start));
              go.addEventListener("click", () => seek(player, s.start));
              return el("li", {}, go, " ", s.text);
            }),
          );
          draw();
        })
        .catch((err) => transcriptList.replaceChildren(el("li", { class: "meta" }, `The transcript could not be read. ${err.message}`)));
    }
  }

  /** The page's text with the entities the graph read in it linked to their pages (longest words first). */
  function linkedText(text, entities) {
    const words = new Map();
    entities.forEach((e) => [e.name, ...(e.surfaces || [])].forEach((w) => w && w.length > 1 && !words.has(w) && words.set(w, e)));
    const sorted = [...words.keys()].sort((a, b) => b.length - a.length);
    const escaped = sorted.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
    const pattern = escaped.length ? new RegExp(`(?<![\\p{L}\\p{N}])(${escaped.join("|")})(?![\\p{L}\\p{N}])`, "u") : null;
    return String(text || "")
      .split(/\n+/)
      .filter((p) => p.trim())
      .map((paragraph) => {
        const out = el("p", {});
        let rest = paragraph;
        while (pattern && rest) {
          const m = pattern.exec(rest);
          if (!m) break;
          const e = words.get(m[1]);
          out.append(rest.slice(0, m.index), el("a", { href: `/graph/entity/${encodeURIComponent(e.id)}`, class: "entity", title: `${e.name} (${String(e.type).toLowerCase()})` }, m[1]));
          rest = rest.slice(m.index + m[1].length);
        }
        out.append(rest);
        return out;
      });
  }

  function entityChips(view, node) {
    if (!view.entities.length) return;
    const names = el(
      "ul",
      { class: "entity-chips", "aria-label": "Entities named on this page" },
      ...view.entities.map((e) => el("li", {}, el("a", { href: `/graph/entity/${encodeURIComponent(e.id)}` }, e.name), el("span", { class: "meta" }, ` ${String(e.type).toLowerCase()}`))),
    );
    node.append(el("h3", {}, view.kind === "page" ? "Named on this page" : "Named in what was said"), names);
  }

  function page(view, node) {
    entityChips(view, node);
    node.append(el("h3", {}, "Main text"));
    const paragraphs = linkedText(view.text, view.entities);
    node.append(paragraphs.length ? el("div", { class: "page-text" }, ...paragraphs) : el("p", { class: "empty" }, "No main text was found on this page."));
  }

  /** Render the object `sha256` into `node`; opts: {face, t, box} from the viewer's URL. */
  async function show(node, sha256, opts) {
    const options = opts || {};
    const line = el("p", { class: "status", role: "status", "aria-live": "polite" });
    node.replaceChildren(line);
    status(line, "Loading…", "loading");
    try {
      const view = await api(`/objects/${encodeURIComponent(sha256)}/view`);
      const body = el("div", { class: `viewer-body kind-${view.kind}` });
      header(view, body);
      if (view.kind === "image") image(view, body, options);
      else if (view.kind === "video" || view.kind === "audio") media(view, body, options);
      else if (view.kind === "page") page(view, body);
      status(line, "");
      node.replaceChildren(line, body);
      if (view.kind !== "page") entityChips(view, body);
      return view;
    } catch (err) {
      if (err.status === 404) status(line, "This object is not stored (it may have been removed).", "error");
      else if (err.status !== 401) status(line, `Could not open this object. ${err.message}`, "error");
      return null;
    }
  }

  /** The viewer's options from a /view URL's query string. */
  function optionsOf(search) {
    const q = new URLSearchParams(search);
    return { face: q.get("face"), t: q.get("t"), box: q.get("box") };
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("viewer");
    if (!root || !root.dataset.sha256) return;
    const back = document.getElementById("viewer-back");
    if (back && window.history.length > 1) {
      // Opened from a page of this app (Referrer-Policy hides which): Back returns to it with its state.
      back.textContent = "Back";
      back.addEventListener("click", (event) => {
        event.preventDefault();
        window.history.back();
      });
    }
    show(root, root.dataset.sha256, optionsOf(window.location.search)).then((view) => {
      if (view) document.title = `${view.title || view.kind} · LookingGlass`;
    });
  });

  return { show, optionsOf, original };
})();
