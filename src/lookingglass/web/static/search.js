// Face search (GET /): send a photo to POST /lookup, box and number every face over the photo, show a chosen face's
// matches beside it, grouped per person (or object), each opening the evidence viewer in a panel (viewer.js) so the
// results stay; Back or Escape closes it. Scores are similarity in percent everywhere, the threshold too.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, svg, api, status, bar, percent, seconds, date, faceThumb, boxedThumb, onActivate, viewer } = window.LG;
  const form = document.getElementById("search-form");
  const input = document.getElementById("image");
  const drop = document.getElementById("drop");
  const button = document.getElementById("search-button");
  const statusLine = document.getElementById("status");
  const result = document.getElementById("result");
  const photo = document.getElementById("photo");
  const overlay = document.getElementById("overlay");
  const faceList = document.getElementById("faces");
  const matches = document.getElementById("matches");
  const matchesTitle = document.getElementById("matches-title");
  const matchList = document.getElementById("match-list");
  const panel = document.getElementById("viewer-panel");
  const panelBody = document.getElementById("viewer-panel-body");
  const panelTab = document.getElementById("viewer-panel-tab");
  const panelClose = document.getElementById("viewer-panel-close");
  let opener = null; // the link that opened the panel: focus goes back there
  let photoUrl = null;
  let current = null; // {body, rects, buttons}

  // Drag and drop onto the drop zone; the file input stays the keyboard way in.
  ["dragenter", "dragover"].forEach((name) =>
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    }),
  );
  ["dragleave", "dragend", "drop"].forEach((name) =>
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.remove("over");
    }),
  );
  drop.addEventListener("drop", (event) => {
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    if (!files[0].type.startsWith("image/")) {
      status(statusLine, `${files[0].name} is not an image.`, "error");
      return;
    }
    const chosen = new DataTransfer();
    chosen.items.add(files[0]);
    input.files = chosen.files;
    form.requestSubmit();
  });
  input.addEventListener("change", () => {
    if (input.files.length) form.requestSubmit();
  });

  function faceLabel(face, i) {
    const n = face.matches.length;
    return `Face ${i + 1}: ${n ? `${n} match${n === 1 ? "" : "es"}` : "no match"}`;
  }

  function select(index) {
    if (!current) return;
    current.rects.forEach((rect, i) => {
      rect.classList.toggle("selected", i === index);
      rect.setAttribute("aria-pressed", String(i === index));
    });
    current.buttons.forEach((b, i) => b.setAttribute("aria-pressed", String(i === index)));
    showMatches(current.body, index);
    status(statusLine, `${matchesTitle.textContent}.`);
  }

  /** The viewer's URL for a match (the API gives it; a canned or older answer may not). */
  function viewUrl(m) {
    if (m.view_url) return m.view_url;
    const q = new URLSearchParams();
    if (m.face_id) q.set("face", m.face_id);
    if (m.kind === "video" && m.timestamp !== null && m.timestamp !== undefined) q.set("t", Number(m.timestamp).toFixed(1));
    return `/view/${encodeURIComponent(m.sha256)}${q.toString() ? `?${q}` : ""}`;
  }

  function matchItem(m, i) {
    const when = m.kind === "video" && m.timestamp !== null && m.timestamp !== undefined;
    const label = `Match ${i + 1}: ${percent(m.score)} similar`;
    const details = el("div", { class: "details" });
    details.append(
      el("p", { class: "score" }, el("span", { class: "match-no" }, `${i + 1}.`), " ", bar(m.score), el("strong", {}, percent(m.score)), " similar"),
      el(
        "p",
        { class: "meta" },
        el("span", { class: "badge" }, m.kind),
        when ? ` at ${seconds(m.timestamp)}` : "",
        when && m.start !== null && m.end !== null && m.end > m.start ? ` (on screen ${seconds(m.start)} – ${seconds(m.end)})` : "",
        m.grouped > 1 ? ` · best of ${m.grouped} frames in this track` : "",
      ),
    );
    const links = el("ul", { class: "links" });
    const href = viewUrl(m);
    const what = when ? `Play the video at ${seconds(m.timestamp)}` : m.kind === "image" ? "Open the image" : `Open the ${m.kind}`;
    const open = el("a", { href, class: `view${when ? " moment" : ""}`, "data-view": "panel" }, what);
    links.append(el("li", {}, open, " · ", el("a", { href, target: "_blank", rel: "noopener", class: "view-tab" }, "new tab")));
    const web = /^https?:/i.test(m.source_url || "");
    if (m.source_url) links.append(el("li", {}, web ? "Original: " : "File: ", viewer.original(m.source_url, m.source_url, { class: "source" })));
    if (m.page_url) links.append(el("li", {}, "Seen on: ", viewer.original(m.page_url, m.page_title || m.page_url, { class: m.page_title ? "page" : "url page" })));
    if (m.person) {
      // Whose face this is, once faces are grouped into persons (GET /people/<id> is their page).
      const person = `/people/${encodeURIComponent(m.person.id)}`;
      const who = m.person.name ? el("a", { href: person, class: "person" }, m.person.name) : el("a", { href: person, class: "person unnamed" }, "an unnamed person");
      links.append(el("li", {}, "Person: ", who));
    }
    details.append(links);
    const indexed = date(m.indexed_at);
    if (indexed) details.append(el("p", { class: "meta" }, "Indexed ", indexed));
    return el("li", { class: "match" }, el("a", { href, class: "thumb-link", tabindex: "-1", "aria-hidden": "true", "data-view": "panel" }, faceThumb(m, `${label}, the matched face`)), details);
  }

  /** Matches grouped per person (when their faces are grouped into one) or else per object, best group first. */
  function groups(matchesOfFace) {
    const byKey = new Map();
    matchesOfFace.forEach((m, i) => {
      const key = m.person ? `person:${m.person.id}` : `object:${m.sha256}`;
      if (!byKey.has(key)) byKey.set(key, { key, first: m, items: [] });
      byKey.get(key).items.push([m, i]);
    });
    return [...byKey.values()];
  }

  function groupTitle(g) {
    const m = g.first;
    const n = g.items.length;
    const count = n > 1 ? ` · ${n} matches` : "";
    if (m.person) return [m.person.name || "An unnamed person", count];
    const name = m.page_title || (m.source_url ? m.source_url.split("/").pop() : null) || `${m.kind} ${m.sha256.slice(0, 12)}`;
    return [name, count];
  }

  function showMatches(body, index) {
    const face = body.faces[index];
    const n = face.matches.length;
    matchesTitle.textContent = `Face ${index + 1}: ${n ? `${n} match${n === 1 ? "" : "es"}` : "no match"}`;
    matchList.replaceChildren();
    if (!n) {
      matchList.append(
        el(
          "li",
          { class: "empty" },
          `No indexed face is at least ${percent(body.threshold)} similar. Lower the threshold to see weaker candidates.`,
        ),
      );
    }
    groups(face.matches).forEach((g) => {
      const [name, count] = groupTitle(g);
      matchList.append(
        el(
          "li",
          { class: "match-group" },
          el("h3", { class: "group-title" }, name, el("span", { class: "meta" }, ` best ${percent(g.first.score)}${count}`)),
          el("ol", { class: "match-list" }, ...g.items.map(([m, i]) => matchItem(m, i))),
        ),
      );
    });
    matches.hidden = false;
  }

  function sizeTargets() {
    const shown = overlay.getBoundingClientRect().width;
    if (!current || !shown) return;
    const least = (44 * photo.naturalWidth) / shown; // 44 screen pixels, in the photo's own pixels
    overlay.querySelectorAll("rect.face-hit").forEach((hit) => {
      const [x1, y1, x2, y2] = current.body.faces[Number(hit.dataset.face)].box;
      const w = Math.max(x2 - x1, least);
      const h = Math.max(y2 - y1, least);
      Object.entries({ x: (x1 + x2 - w) / 2, y: (y1 + y2 - h) / 2, width: w, height: h }).forEach(([k, v]) => hit.setAttribute(k, v));
    });
  }
  window.addEventListener("resize", sizeTargets);

  function drawBoxes(body) {
    overlay.replaceChildren();
    overlay.setAttribute("viewBox", `0 0 ${photo.naturalWidth} ${photo.naturalHeight}`);
    body.faces.forEach((face, i) => {
      // Under the boxes, an invisible target at least 44 screen pixels wide (sizeTargets): a small face stays easy
      // to tap on a phone.
      const hit = svg("rect", { class: "face-hit", "aria-hidden": "true", "data-face": i });
      hit.addEventListener("click", () => select(i));
      overlay.append(hit);
    });
    sizeTargets();
    current.rects = body.faces.map((face, i) => {
      const [x1, y1, x2, y2] = face.box;
      const rect = svg("rect", {
        x: x1,
        y: y1,
        width: Math.max(1, x2 - x1),
        height: Math.max(1, y2 - y1),
        class: `face${face.matches.length ? "" : " none"}`,
        tabindex: 0,
        role: "button",
        "aria-pressed": "false",
        "aria-label": faceLabel(face, i),
        "data-face": i,
      });
      const title = svg("title", {});
      title.textContent = faceLabel(face, i);
      rect.append(title);
      onActivate(rect, () => select(i));
      overlay.append(rect);
      // The face's number, as on its chip: large enough to read whatever the photo's size.
      const size = Math.max(14, Math.max(photo.naturalWidth, photo.naturalHeight) / 28);
      const number = svg("text", { x: x1 + size * 0.2, y: Math.max(size, y1 - size * 0.25), class: "face-no", "font-size": size, "aria-hidden": "true" });
      number.textContent = String(i + 1);
      overlay.append(number);
      return rect;
    });
  }

  function render(body, file) {
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoUrl = URL.createObjectURL(file);
    current = { body, rects: [], buttons: [] };
    faceList.replaceChildren();
    overlay.replaceChildren();
    matches.hidden = true;
    matchList.replaceChildren();
    result.hidden = false;
    photo.onload = () => drawBoxes(body);
    photo.onerror = () => status(statusLine, "Your browser cannot show this photo, but its faces are listed below.");
    photo.src = photoUrl;

    if (!body.faces.length) {
      status(statusLine, "No face found in this photo. Try one where faces are larger, sharper or look at the camera.", "empty");
      return;
    }
    const matched = body.faces.filter((f) => f.matches.length).length;
    const n = body.faces.length;
    status(
      statusLine,
      `${n} face${n === 1 ? "" : "s"} found, ${matched} with matches.${n > 1 ? " Pick a face to see its matches." : ""}`,
    );
    current.buttons = body.faces.map((face, i) => {
      const best = face.matches.length ? ` · best ${percent(face.matches[0].score)}` : "";
      const b = el(
        "button",
        { type: "button", class: "face-button", "aria-pressed": "false", "data-face": i },
        boxedThumb(photoUrl, face.box, `Face ${i + 1}`),
        el("span", { class: "chip-text" }, el("span", { class: "chip-no" }, String(i + 1)), ` ${faceLabel(face, i)}${best}`),
      );
      b.addEventListener("click", () => select(i));
      faceList.append(el("li", {}, b));
      return b;
    });
    if (n === 1) select(0);
  }

  function number(id, name, min, max, integer) {
    const raw = document.getElementById(id).value.trim();
    if (raw === "") return null;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      throw new Error(`${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}${id === "threshold" ? " (%)" : ""}.`);
    }
    return raw;
  }

  // The evidence viewer in a panel beside the results: a plain click opens it (and a history entry, so Back closes
  // it and the search stays); a modified click, or "new tab", opens the viewer page instead.
  function openPanel(href, from) {
    const url = new URL(href, window.location.origin);
    const sha = decodeURIComponent(url.pathname.split("/").pop());
    opener = from;
    panelTab.href = href;
    panel.hidden = false;
    document.body.classList.add("viewing");
    viewer.show(panelBody, sha, viewer.optionsOf(url.search)).then(() => {
      const title = panelBody.querySelector(".viewer-title");
      if (title) title.focus();
    });
    panelClose.focus();
  }

  function closePanel() {
    if (panel.hidden) return;
    panelBody.querySelectorAll("video, audio").forEach((player) => player.pause());
    panelBody.replaceChildren();
    panel.hidden = true;
    document.body.classList.remove("viewing");
    if (opener && opener.isConnected) opener.focus();
  }

  matchList.addEventListener("click", (event) => {
    const a = event.target.closest("a[data-view='panel']");
    if (!a || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    const from = a.classList.contains("thumb-link") ? a.closest("li.match").querySelector("a.view") : a;
    if (!panel.hidden) window.history.replaceState({ viewer: a.getAttribute("href") }, "", "#evidence");
    else window.history.pushState({ viewer: a.getAttribute("href") }, "", "#evidence");
    openPanel(a.getAttribute("href"), from);
  });
  panelClose.addEventListener("click", () => {
    if (window.history.state && window.history.state.viewer) window.history.back();
    else closePanel();
  });
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.viewer) openPanel(event.state.viewer, opener);
    else closePanel();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) panelClose.click();
  });
  if (window.location.hash === "#evidence") window.history.replaceState(null, "", window.location.pathname);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) {
      status(statusLine, "Choose a photo first.", "error");
      input.focus();
      return;
    }
    const file = input.files[0];
    const data = new FormData();
    data.append("image", file, file.name);
    try {
      const topK = number("top_k", "Matches per face", 1, 1000, true);
      const threshold = number("threshold", "The least similarity", -100, 100, false);
      if (topK !== null) data.append("top_k", topK);
      if (threshold !== null) data.append("threshold", String(Number(threshold) / 100)); // the API's cosine
    } catch (err) {
      status(statusLine, err.message, "error");
      return;
    }
    status(statusLine, `Searching for the faces in ${file.name}…`, "loading");
    button.disabled = true;
    result.setAttribute("aria-busy", "true");
    try {
      const body = await api("/lookup", { method: "POST", body: data });
      render(body, file);
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Search failed. ${err.message}`, "error");
    } finally {
      button.disabled = false;
      result.removeAttribute("aria-busy");
    }
  });
});
