// Shared by every page: JSON API calls (session cookie + CSRF token, 401 → sign-in, 403 → a clear message),
// DOM building without innerHTML, safe links, snippets, and image thumbnails with a face box drawn over them.
"use strict";

window.LG = (function () {
  const SVG = "http://www.w3.org/2000/svg";

  /** An element with attributes (null/undefined skipped) and children (strings become text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    return node;
  }

  /** Thrown for non-2xx answers: `status` and the API's `{error: {code, message}}`. */
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function signIn() {
    const here = window.location.pathname + window.location.search;
    window.location.assign(`/login?next=${encodeURIComponent(here)}`);
  }

  /** fetch() the JSON API. Unsafe methods carry the page's CSRF token; 401 goes to the sign-in page. */
  async function api(url, options) {
    const opts = Object.assign({ method: "GET" }, options || {});
    const headers = new Headers(opts.headers || {});
    headers.set("Accept", "application/json");
    if (!["GET", "HEAD"].includes(opts.method.toUpperCase())) headers.set("X-CSRF-Token", csrfToken());
    opts.headers = headers;
    opts.credentials = "same-origin";
    let response;
    try {
      response = await fetch(url, opts);
    } catch (err) {
      throw new ApiError(0, "network", "The server could not be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      signIn();
      throw new ApiError(401, "unauthorized", "Your session ended. Taking you to the sign-in page…");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      const error = (body && body.error) || {};
      let message = error.message || `The server answered ${response.status}.`;
      if (response.status === 403) message = `Not allowed: ${message}`;
      if (response.status === 429) {
        const wait = response.headers.get("Retry-After");
        message = `Too many requests${wait ? `; try again in ${wait} s` : ""}. ${error.message || ""}`.trim();
      }
      if (response.status === 413) message = "That file is too large for this server.";
      throw new ApiError(response.status, error.code || "error", message);
    }
    return body;
  }

  /** Show `text` in a status line (role=status): kind is "" | "loading" | "error" | "empty". */
  function status(node, text, kind) {
    node.textContent = text || "";
    node.className = `status${kind ? ` ${kind}` : ""}`;
  }

  /** The URL if it is one a link may point to (http, https, or this site), else null: never file:// (a path on
   * the machine that ingested it, dead in any browser), which link() shows as text. */
  function safeHref(url) {
    if (!url || typeof url !== "string") return null;
    try {
      const parsed = new URL(url, window.location.origin);
      return ["http:", "https:"].includes(parsed.protocol) ? parsed.href : null;
    } catch (err) {
      return null;
    }
  }

  /** A link that opens elsewhere, or plain text when the URL is not linkable. */
  function link(url, text, attrs) {
    const href = safeHref(url);
    const label = text || url || "";
    const cls = label === url ? "url" : null; // raw URLs may break anywhere; titles wrap between words
    if (!href) return el("span", { class: cls }, label);
    return el("a", Object.assign({ href, rel: "noopener noreferrer", class: cls }, attrs || {}), label);
  }

  /** The API's snippet (HTML-escaped text with <mark>…</mark>) as DOM nodes; anything else is shown as text. */
  function snippet(html, fallback) {
    const out = document.createDocumentFragment();
    const pieces = String(html || "").split(/(<mark>|<\/mark>)/);
    const clean = pieces.every((p) => p === "<mark>" || p === "</mark>" || !p.includes("<"));
    if (!clean) {
      out.append(document.createTextNode(fallback || ""));
      return out;
    }
    const decoder = document.createElement("textarea"); // decodes entities; a textarea never parses markup
    let marked = false;
    for (const piece of pieces) {
      if (piece === "<mark>") marked = true;
      else if (piece === "</mark>") marked = false;
      else if (piece) {
        decoder.innerHTML = piece; // checked above: no "<" in it, so only text and entities
        const text = document.createTextNode(decoder.value);
        out.append(marked ? el("mark", {}, text) : text);
      }
    }
    return out;
  }

  function percent(score) {
    return `${(Math.max(0, Math.min(1, score)) * 100).toFixed(1)}%`;
  }

  /** A similarity bar: a track with a fill as wide as the score (CSSOM width, allowed by the CSP). */
  function bar(score) {
    const fill = el("span", { class: "fill" });
    fill.style.width = percent(score);
    return el("span", { class: "bar", "aria-hidden": "true" }, fill);
  }

  function seconds(t) {
    if (t === null || t === undefined) return "";
    const s = Math.max(0, Number(t));
    const m = Math.floor(s / 60);
    const rest = (s - m * 60).toFixed(1).padStart(4, "0");
    return m ? `${m}:${rest}` : `${s.toFixed(1)} s`;
  }

  function date(iso) {
    if (!iso) return null;
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return el("time", {}, iso);
    return el("time", { datetime: iso }, d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
  }

  /** Where a window `side` wide starts so it is centred on `c` but stays inside 0..limit (centred if wider). */
  function fit(c, side, limit) {
    return side >= limit ? (limit - side) / 2 : Math.max(0, Math.min(limit - side, c - side / 2));
  }

  /**
   * A thumbnail of `src` zoomed on `box` ([x1, y1, x2, y2] in the image's own pixels) with the box drawn over it:
   * an SVG whose viewBox is the face with a margin, holding the image at its natural size.
   */
  function boxedThumb(src, box, label) {
    const holder = el("span", { class: "thumb loading", role: "img", "aria-label": label });
    const probe = new Image();
    probe.onload = () => {
      const w = probe.naturalWidth;
      const h = probe.naturalHeight;
      let view = [0, 0, w, h];
      if (box && box.length === 4) {
        const [x1, y1, x2, y2] = box;
        const side = Math.min(Math.max(w, h), Math.max(x2 - x1, y2 - y1) * 1.8);
        const cx = (x1 + x2) / 2;
        const cy = (y1 + y2) / 2;
        view = [fit(cx, side, w), fit(cy, side, h), side, side];
      }
      const pic = svg("svg", { viewBox: view.join(" "), preserveAspectRatio: "xMidYMid meet", "aria-hidden": "true" });
      pic.append(svg("image", { href: src, x: 0, y: 0, width: w, height: h }));
      if (box && box.length === 4) {
        const [x1, y1, x2, y2] = box;
        pic.append(svg("rect", { x: x1, y: y1, width: x2 - x1, height: y2 - y1, class: "box" }));
      }
      holder.classList.remove("loading");
      holder.replaceChildren(pic);
    };
    probe.onerror = () => {
      holder.classList.remove("loading");
      holder.classList.add("missing");
      holder.replaceChildren(el("span", {}, "image unavailable"));
    };
    probe.src = src;
    return holder;
  }

  /** A plain thumbnail (already a face crop, e.g. a video keyframe). */
  function plainThumb(src, label) {
    const img = el("img", { src, alt: label, loading: "lazy", class: "thumb-img" });
    const holder = el("span", { class: "thumb" }, img);
    img.addEventListener("error", () => {
      holder.classList.add("missing");
      holder.replaceChildren(el("span", {}, "image unavailable"));
    });
    return holder;
  }

  /** The thumbnail for a face hit: a video keyframe's stored crop, or the image with the face boxed. */
  function faceThumb(face, label) {
    if (face.kind === "video" && face.face_id) return plainThumb(`/faces/${encodeURIComponent(face.face_id)}/thumbnail`, label);
    return boxedThumb(`/objects/${encodeURIComponent(face.sha256)}/content`, face.box, label);
  }

  /** Run `fn` when Enter or Space is pressed on `node` (for non-button controls such as SVG shapes). */
  function onActivate(node, fn) {
    node.addEventListener("click", fn);
    node.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        fn(event);
      }
    });
  }

  /** An entity type in plain words (spaCy's labels are for the machine): person, organisation, place, project. */
  const TYPE_WORDS = { PERSON: "person", ORG: "organisation", GPE: "place", LOC: "place", PROJECT: "project" };
  function typeWord(type) {
    return TYPE_WORDS[String(type).toUpperCase()] || String(type || "").toLowerCase();
  }

  return { typeWord, el, svg, api, ApiError, status, safeHref, link, snippet, percent, bar, seconds, date, boxedThumb, plainThumb, faceThumb, onActivate, signIn };
})();
