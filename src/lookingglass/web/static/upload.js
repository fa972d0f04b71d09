// Upload and crawl (GET /upload): files go one request each to POST /objects (XMLHttpRequest, for its upload
// progress events), two at a time; a busy server's 503/429 is waited out (Retry-After) and asked again; then each
// file's processing is followed on GET /objects/<sha>/outcome until it has its faces or its error. Crawls start with
// POST /crawls and are followed on GET /crawls while one runs.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status } = window.LG;
  const PARALLEL = 2;
  const POLL_MS = 1500;
  const BUSY_WAIT_S = 30; // when a busy answer names no Retry-After
  const KIND = { image: "photo", video: "video", audio: "audio", page: "page" };

  const drop = document.getElementById("upload-drop");
  const files = document.getElementById("upload-files");
  const folder = document.getElementById("upload-folder");
  const list = document.getElementById("upload-list");
  const uploadStatus = document.getElementById("upload-status");
  const maxBytes = Number(drop.dataset.maxBytes) || Infinity;
  const waiting = [];
  const counts = { all: 0, done: 0, failed: 0 };
  let active = 0;

  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

  function size(bytes) {
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
    return `${(bytes / 1024 / 1024 / 1024).toFixed(1)} GB`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many || `${one}s`}`;
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // ---- one row per file

  function addFiles(chosen) {
    const fresh = Array.from(chosen).filter((f) => !f.name.startsWith(".")); // a folder's hidden files are not media
    for (const file of fresh) {
      const bar = el("progress", { max: "1", value: "0", "aria-label": `${file.name} progress` });
      const state = el("span", { class: "state" }, "Waiting");
      const result = el("p", { class: "result-line" });
      const name = file.webkitRelativePath || file.name;
      const li = el(
        "li",
        { class: "upload", "data-state": "waiting" },
        el("p", { class: "file" }, el("strong", { class: "name" }, name), " ", el("span", { class: "meta" }, size(file.size))),
        el("div", { class: "progress-line" }, bar, state),
        result,
      );
      list.append(li);
      waiting.push({ file, li, bar, state, result });
      counts.all += 1;
    }
    summary();
    pump();
  }

  function set(item, state, text) {
    item.li.dataset.state = state;
    item.state.textContent = text;
  }

  function done(item, kind, faces, entities) {
    item.bar.value = 1;
    counts.done += 1;
    let found;
    if (kind === "page") found = `page read: ${plural(entities || 0, "name")} found`;
    else if (kind === "video" || kind === "audio") found = faces ? `${plural(faces, "face")} indexed (keyframes of face tracks)` : "no face found; speech transcribed if any";
    else found = faces ? `${plural(faces, "face")} found` : "no face found";
    set(item, faces || kind === "page" ? "done" : "no-face", "Done");
    item.result.textContent = `${KIND[kind] ? `${KIND[kind][0].toUpperCase()}${KIND[kind].slice(1)}` : "File"}: ${found}.`;
  }

  function failed(item, message) {
    item.bar.value = 1;
    counts.failed += 1;
    set(item, "failed", "Failed");
    item.result.textContent = plain(message);
  }

  /** The server's messages are written to be read; this keeps anything that slipped through readable too. */
  function plain(message) {
    const text = String(message || "The file could not be processed.")
      .replace(/^job \S+ failed: /i, "")
      .replace(/^(?:\w+\.)*\w*(Error|Exception|BadInput|Exceeded|NotFound|Unavailable|TooLarge): /, "")
      .replace(/\b(?:[0-9a-f]{2} ){3,}[0-9a-f]{2}\b/g, "unreadable bytes");
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  function summary() {
    const left = counts.all - counts.done - counts.failed;
    if (!counts.all) return status(uploadStatus, "");
    const parts = [`${plural(counts.all, "file")}`, `${counts.done} done`];
    if (counts.failed) parts.push(`${counts.failed} failed`);
    if (left) parts.push(`${left} to go`);
    status(uploadStatus, parts.join(" · "), left ? "loading" : "");
  }

  function pump() {
    while (active < PARALLEL && waiting.length) {
      const item = waiting.shift();
      active += 1;
      run(item)
        .catch((err) => failed(item, err.message))
        .finally(() => {
          active -= 1;
          summary();
          pump();
        });
    }
  }

  // ---- one file: upload (waiting out a busy server), then its processing

  async function run(item) {
    const { file } = item;
    if (file.size > maxBytes) return failed(item, `This file is ${size(file.size)}; the server takes files up to ${size(maxBytes)}.`);
    if (!file.size) return failed(item, "This file is empty.");
    let answer;
    for (;;) {
      answer = await send(item);
      if (answer.status !== 503 && answer.status !== 429) break;
      const wait = Number(answer.retryAfter) || BUSY_WAIT_S;
      for (let left = Math.ceil(wait); left > 0; left -= 1) {
        set(item, "busy", `The server is busy; trying again in ${left} s`);
        await sleep(1000);
      }
    }
    const body = answer.body || {};
    if (answer.status === 401) {
      window.LG.signIn();
      return failed(item, "Your session ended; sign in and upload it again.");
    }
    if (answer.status === 0) return failed(item, "The server could not be reached. Check your connection and try again.");
    if (answer.status === 413) return failed(item, `This file is too large for this server (up to ${size(maxBytes)}).`);
    const stored = Array.isArray(body.objects) ? body.objects[0] : null;
    if (!stored) {
      const error = body.error || {};
      return failed(item, answer.status === 403 ? `Not allowed: ${error.message || "your role cannot upload"}` : error.message);
    }
    if (stored.error) return failed(item, stored.error.message);
    if (stored.faces !== undefined && stored.faces !== null) return done(item, stored.kind, stored.faces, stored.entities);
    return follow(item, stored);
  }

  function send(item) {
    return new Promise((resolve) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/objects");
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      xhr.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        item.bar.value = (event.loaded / event.total) * 0.5; // the first half of the bar: the upload
        set(item, "uploading", `Uploading ${Math.round((event.loaded / event.total) * 100)}%`);
      });
      xhr.upload.addEventListener("load", () => {
        item.bar.value = 0.5;
        set(item, "processing", "Uploaded; finding faces…");
      });
      xhr.addEventListener("load", () => {
        let body = null;
        try {
          body = JSON.parse(xhr.responseText);
        } catch (err) {
          body = null;
        }
        resolve({ status: xhr.status, body, retryAfter: xhr.getResponseHeader("Retry-After") });
      });
      xhr.addEventListener("error", () => resolve({ status: 0, body: null }));
      const form = new FormData();
      form.append("file", item.file, item.file.name);
      set(item, "uploading", "Uploading 0%");
      xhr.send(form);
    });
  }

  async function follow(item, stored) {
    item.bar.removeAttribute("value"); // processing: how long is not known, the bar says "working"
    set(item, "processing", stored.kind === "video" || stored.kind === "audio" ? "Processing (videos take a while)…" : "Processing…");
    const query = stored.job ? `?job=${encodeURIComponent(stored.job)}` : "";
    for (;;) {
      await sleep(POLL_MS);
      let outcome;
      try {
        outcome = await api(`/objects/${stored.sha256}/outcome${query}`);
      } catch (err) {
        if (err.status === 0 || err.status === 503) continue; // the server is away for a moment: ask again
        return failed(item, err.message);
      }
      if (outcome.state === "done") return done(item, outcome.kind, outcome.faces, outcome.entities);
      if (outcome.state === "failed") return failed(item, outcome.error);
      if (outcome.state === "gone") return failed(item, "The file was removed while it was being processed.");
    }
  }

  // ---- choosing and dropping

  files.addEventListener("change", () => {
    addFiles(files.files);
    files.value = "";
  });
  folder.addEventListener("change", () => {
    addFiles(folder.files);
    folder.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    drop.addEventListener(name, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    addFiles(await droppedFiles(event.dataTransfer));
  });

  /** Files dropped, with the files inside dropped folders (read through the entries API). */
  async function droppedFiles(transfer) {
    const entries = Array.from(transfer.items || [])
      .map((item) => (item.webkitGetAsEntry ? item.webkitGetAsEntry() : null))
      .filter(Boolean);
    if (!entries.length) return Array.from(transfer.files || []);
    const out = [];
    async function walk(entry) {
      if (entry.isFile) {
        out.push(await new Promise((resolve, reject) => entry.file(resolve, reject)));
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
          if (!batch.length) break;
          for (const child of batch) await walk(child);
        }
      }
    }
    for (const entry of entries) await walk(entry);
    return out;
  }

  // ---- crawls

  const form = document.getElementById("crawl-form");
  const start = document.getElementById("crawl-start");
  const crawlStatus = document.getElementById("crawl-status");
  const crawlList = document.getElementById("crawl-list");
  let polling = null;

  function number(id) {
    const value = document.getElementById(id).value.trim();
    return value === "" ? null : Number(value);
  }

  function request() {
    const body = { start_url: document.getElementById("crawl-url").value.trim(), mode: document.getElementById("crawl-mode").value };
    const fields = { max_pages: "crawl-pages", depth: "crawl-depth", max_objects: "crawl-objects" };
    for (const [name, id] of Object.entries(fields)) {
      const value = number(id);
      if (value !== null) body[name] = value;
    }
    const mb = number("crawl-mb");
    if (mb !== null) body.max_bytes = Math.round(mb * 1024 * 1024);
    const domains = document.getElementById("crawl-domains").value.split(/[\s,]+/).filter(Boolean);
    if (domains.length) body.allow_domains = domains;
    const render = document.getElementById("crawl-render").value;
    if (render) body.render = render;
    if (document.getElementById("crawl-offsite").checked) body.offsite_media = true;
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const url = document.getElementById("crawl-url");
    if (!/^https?:\/\/\S+$/i.test(url.value.trim())) {
      status(crawlStatus, "Enter the address of the first page, starting with http:// or https://.", "error");
      url.focus();
      return;
    }
    start.disabled = true;
    status(crawlStatus, "Starting the crawl…", "loading");
    try {
      const crawl = await api("/crawls", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request()),
      });
      status(crawlStatus, `Crawl of ${crawl.start_url} started.`);
      await loadCrawls();
    } catch (err) {
      if (err.status !== 401) status(crawlStatus, `The crawl did not start. ${err.message}`, "error");
    } finally {
      start.disabled = false;
    }
  });

  function crawlRow(c) {
    const mb = (c.bytes / 1024 / 1024).toFixed(1);
    const label = { running: "running", finished: "finished", failed: "failed" }[c.state];
    const facts = [
      plural(c.pages, "page") + " fetched",
      `${plural(c.media_stored, "file")} stored` + (c.media_known ? ` (${c.media_known} known already)` : ""),
      `${plural(c.pages_stored, "page")} stored`,
      plural(c.errors, "error"),
      `${mb} MB`,
    ];
    if (c.robots_forbidden) facts.push(`${c.robots_forbidden} refused by robots.txt`);
    const processing = c.processing || {};
    if (processing.faces !== undefined) facts.push(`${plural(processing.faces, "face")} indexed`);
    else if (processing.queued !== undefined) facts.push(`${processing.queued} queued for processing`);
    const li = el(
      "li",
      { class: "crawl", "data-state": c.state, "data-id": c.id },
      el("p", {}, el("span", { class: `pill ${c.state === "failed" ? "bad" : c.state === "finished" ? "ok" : "busy"}` }, label), " ", el("strong", { class: "url" }, c.start_url)),
      el("p", { class: "counts" }, facts.join(" · ")),
      el("p", { class: "meta" }, `${c.mode || "all"} · started ${new Date(c.started_at).toLocaleString()} by ${c.started_by}` + (c.seconds ? ` · ${Math.round(c.seconds)} s` : "")),
    );
    if (c.message) li.append(el("p", { class: "reason" }, c.message));
    if (c.skipped_urls && c.skipped_urls.length) {
      li.append(
        el(
          "details",
          {},
          el("summary", {}, `${plural(c.skipped_urls.length, "address", "addresses")} skipped`),
          el("ul", { class: "skipped" }, ...c.skipped_urls.map((s) => el("li", {}, el("span", { class: "url" }, s.url), ` — ${s.reason}`))),
        ),
      );
    }
    return li;
  }

  async function loadCrawls() {
    try {
      const body = await api("/crawls");
      crawlList.replaceChildren(...body.crawls.map(crawlRow));
      if (!body.crawls.length) crawlList.append(el("li", { class: "empty" }, "No crawl started from here yet."));
      const running = body.crawls.some((c) => c.state === "running");
      window.clearTimeout(polling);
      if (running) polling = window.setTimeout(loadCrawls, 2000);
    } catch (err) {
      if (err.status !== 401) status(crawlStatus, `Could not load the crawls. ${err.message}`, "error");
    }
  }

  loadCrawls();
});
