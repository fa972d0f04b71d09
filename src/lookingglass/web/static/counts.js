// What is indexed (GET /index/counts), said on every page that has a `data-index-counts` line: "1,204 faces
// indexed", or, on an empty index, what to do first — so an empty result never reads as "no match".
"use strict";

document.addEventListener("DOMContentLoaded", async () => {
  const lines = document.querySelectorAll("[data-index-counts]");
  if (!lines.length) return;
  const { api, status } = window.LG;
  const n = (v, one, many) => `${Number(v || 0).toLocaleString()} ${v === 1 ? one : many}`;
  const SAY = {
    faces: (c) =>
      c.faces ? `${n(c.faces, "face", "faces")} indexed.` : "Nothing is indexed yet — upload or ingest photos and videos (lookingglass ingest FOLDER), then search here.",
    text: (c) =>
      c.passages || c.segments
        ? `${n(c.passages, "page passage", "page passages")} and ${n(c.segments, "transcript segment", "transcript segments")} indexed.`
        : "Nothing is indexed yet — upload or ingest pages, videos or audio (or crawl a site), then search here.",
    people: (c) =>
      c.faces ? `${n(c.faces, "face", "faces")} indexed, grouped into the persons below.` : "Nothing is indexed yet — upload or ingest photos and videos; persons appear as their faces are grouped.",
  };
  let counts;
  try {
    counts = await api("/index/counts");
  } catch (err) {
    return; // the page's own status line says what went wrong with its own request
  }
  lines.forEach((line) => {
    const say = SAY[line.dataset.indexCounts];
    if (!say) return;
    const empty = !(line.dataset.indexCounts === "text" ? counts.passages || counts.segments : counts.faces);
    status(line, say(counts), empty ? "empty" : "");
    line.classList.add("index-counts");
    line.dataset.empty = String(empty);
  });
});
