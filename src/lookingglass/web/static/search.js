// Face search (GET /): send a photo to POST /lookup, box every face over the photo, show a chosen face's matches.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, svg, api, status, link, bar, percent, seconds, date, faceThumb, onActivate } = window.LG;
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
    status(statusLine, `${matchesTitle.textContent}, listed below the photo.`);
  }

  function matchItem(m, i) {
    const when = m.kind === "video" && m.timestamp !== null && m.timestamp !== undefined;
    const label = `Match ${i + 1}: ${percent(m.score)} similar`;
    const details = el("div", { class: "details" });
    details.append(
      el("p", { class: "score" }, bar(m.score), el("strong", {}, percent(m.score)), " similar"),
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
    if (when) {
      // The stored video at the moment the face was seen (a media fragment: #t=seconds).
      const t = Math.max(0, Number(m.timestamp));
      const href = `/objects/${encodeURIComponent(m.sha256)}/content#t=${t.toFixed(1)}`;
      links.append(el("li", {}, el("a", { href, class: "moment" }, `Play the video at ${seconds(t)}`)));
    } else {
      links.append(el("li", {}, el("a", { href: `/objects/${encodeURIComponent(m.sha256)}/content` }, "Open the image")));
    }
    if (m.source_url) links.append(el("li", {}, "Source: ", link(m.source_url, m.source_url, { class: "url source" })));
    if (m.page_url) links.append(el("li", {}, "Seen on: ", link(m.page_url, m.page_title || m.page_url, { class: m.page_title ? "page" : "url page" })));
    if (m.person) {
      // Whose face this is, once faces are grouped into persons (GET /people/<id> is their page).
      const href = `/people/${encodeURIComponent(m.person.id)}`;
      const who = m.person.name ? el("a", { href, class: "person" }, m.person.name) : el("a", { href, class: "person unnamed" }, "an unnamed person");
      links.append(el("li", {}, "Person: ", who));
    }
    details.append(links);
    const indexed = date(m.indexed_at);
    if (indexed) details.append(el("p", { class: "meta" }, "Indexed ", indexed));
    return el("li", { class: "match" }, faceThumb(m, `${label}, the matched face`), details);
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
          `No indexed face is at least ${body.threshold} similar. Lower the threshold to see weaker candidates.`,
        ),
      );
    }
    face.matches.forEach((m, i) => matchList.append(matchItem(m, i)));
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
      const b = el("button", { type: "button", class: "face-button", "aria-pressed": "false", "data-face": i }, `${faceLabel(face, i)}${best}`);
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
      throw new Error(`${name} must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}.`);
    }
    return raw;
  }

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
      const threshold = number("threshold", "The threshold", -1, 1, false);
      if (topK !== null) data.append("top_k", topK);
      if (threshold !== null) data.append("threshold", threshold);
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
