// Face search: send the photo to POST /lookup, draw a box per face, list each face's matches.
(function () {
  "use strict";
  const form = document.getElementById("search-form");
  const input = document.getElementById("image");
  const drop = document.getElementById("drop");
  const status = document.getElementById("status");
  const photo = document.getElementById("photo");
  const overlay = document.getElementById("overlay");
  const list = document.getElementById("faces");
  const result = document.getElementById("result");

  function setStatus(text, isError) {
    status.textContent = text;
    status.className = isError ? "error" : "";
  }

  ["dragenter", "dragover"].forEach((name) => drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.add("over"); }));
  ["dragleave", "drop"].forEach((name) => drop.addEventListener(name, (e) => { e.preventDefault(); drop.classList.remove("over"); }));
  drop.addEventListener("drop", (e) => {
    if (e.dataTransfer.files.length) { input.files = e.dataTransfer.files; form.requestSubmit(); }
  });

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render(body, file) {
    list.replaceChildren();
    overlay.replaceChildren();
    const url = URL.createObjectURL(file);
    photo.onload = () => {
      overlay.setAttribute("viewBox", `0 0 ${photo.naturalWidth} ${photo.naturalHeight}`);
      body.faces.forEach((face, i) => {
        const [x1, y1, x2, y2] = face.box;
        const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
        rect.setAttribute("x", x1); rect.setAttribute("y", y1);
        rect.setAttribute("width", x2 - x1); rect.setAttribute("height", y2 - y1);
        if (!face.matches.length) rect.setAttribute("class", "none");
        overlay.appendChild(rect);
      });
    };
    photo.src = url;
    result.hidden = false;
    if (!body.faces.length) { setStatus("No faces found in this photo."); return; }
    setStatus(`${body.faces.length} face(s) found.`);
    body.faces.forEach((face, i) => {
      const item = el("li", {}, `Face ${i + 1} (detector confidence ${(face.confidence * 100).toFixed(0)}%): `);
      if (!face.matches.length) item.appendChild(el("span", {}, "no matches at this threshold"));
      face.matches.forEach((m) => {
        const row = el("div", { class: "match" });
        const src = m.kind === "video" ? `/faces/${m.face_id}/thumbnail` : `/objects/${m.sha256}/content`;
        const thumb = el("img", { src, alt: "matched face", loading: "lazy" });
        const bar = el("div", { class: "bar", title: `similarity ${m.score.toFixed(3)}` });
        const fill = el("span"); fill.style.width = `${Math.max(0, Math.min(1, m.score)) * 100}%`; bar.appendChild(fill);
        const at = m.kind === "video" && m.timestamp !== null ? ` at ${m.timestamp.toFixed(1)} s` : "";
        row.append(thumb, bar, el("span", {}, `${(m.score * 100).toFixed(1)}%`), el("span", {}, m.kind + at));
        if (m.source_url) {
          // A video link opens the video at the moment the face was seen (media fragment #t=seconds).
          const href = at ? `${m.source_url}#t=${m.timestamp.toFixed(1)}` : m.source_url;
          row.appendChild(el("a", { href, rel: "noopener noreferrer" }, m.source_url));
        }
        item.appendChild(row);
      });
      list.appendChild(item);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.files.length) { setStatus("Choose a photo first.", true); return; }
    const data = new FormData(form);
    for (const [k, v] of [...data.entries()]) if (v === "") data.delete(k);
    setStatus("Searching…");
    try {
      const response = await fetch("/lookup", { method: "POST", body: data });
      const body = await response.json();
      if (!response.ok) { setStatus(body.error ? body.error.message : "Search failed.", true); return; }
      render(body, input.files[0]);
    } catch (err) {
      setStatus(`Search failed: ${err}`, true);
    }
  });

  // Text search over what was said in videos: snippets come from the server HTML-escaped, matches in <mark>.
  const textForm = document.getElementById("text-form");
  const hitsList = document.getElementById("hits");
  textForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const q = document.getElementById("q").value.trim();
    hitsList.replaceChildren();
    if (!q) return;
    const response = await fetch(`/search?${new URLSearchParams({ q, limit: "20" })}`);
    const body = await response.json();
    if (!response.ok) { hitsList.appendChild(el("li", { class: "error" }, body.error.message)); return; }
    if (!body.hits.length) hitsList.appendChild(el("li", {}, "Nothing matched."));
    body.hits.forEach((hit) => {
      const item = el("li");
      const text = el("p");
      text.innerHTML = hit.snippet;  // server-escaped, only <mark> added
      const when = hit.start !== null ? ` ${hit.start.toFixed(1)}–${hit.end.toFixed(1)} s` : "";
      const href = hit.source_url ? `${hit.source_url}${hit.start !== null ? `#t=${hit.start.toFixed(1)}` : ""}` : null;
      item.append(text, href ? el("a", { href, rel: "noopener noreferrer" }, `${hit.source_url}${when}`) : el("span", {}, when));
      hitsList.appendChild(item);
    });
  });
})();
