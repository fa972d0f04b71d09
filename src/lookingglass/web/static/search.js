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
        const thumb = el("img", { src: `/objects/${m.sha256}/content`, alt: "matched photo", loading: "lazy" });
        const bar = el("div", { class: "bar", title: `similarity ${m.score.toFixed(3)}` });
        const fill = el("span"); fill.style.width = `${Math.max(0, Math.min(1, m.score)) * 100}%`; bar.appendChild(fill);
        row.append(thumb, bar, el("span", {}, `${(m.score * 100).toFixed(1)}%`), el("span", {}, m.kind));
        if (m.source_url) row.appendChild(el("a", { href: m.source_url, rel: "noopener noreferrer" }, m.source_url));
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
})();
