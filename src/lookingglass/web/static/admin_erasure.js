// Admin console, erasure (GET /admin/erasure): a photo → POST /forget/person/preview (what would go) → tick and
// confirm → POST /forget/person (optionally opting the face out); the opt-out list from GET /forget/opt-outs, each
// withdrawable (DELETE /forget/opt-outs/<id>). The photo stays in the browser between the two calls, never stored.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, date, percent, faceThumb, boxedThumb, safeHref } = window.LG;
  const statusLine = document.getElementById("status");
  const photoInput = document.getElementById("erase-photo");
  const confirmForm = document.getElementById("confirm-form");
  const matchList = document.getElementById("preview-matches");
  const optoutRows = document.querySelector("#optouts tbody");
  let preview = null; // {faces, threshold} for the photo in photoInput
  let chosen = 0;
  let photoUrl = null;

  function where(match) {
    const href = safeHref(match.page_url) || safeHref(match.source_url);
    const web = href && /^https?:/.test(href) ? href : null;
    const name = match.page_title || (match.source_url || "").split("/").pop() || match.sha256.slice(0, 12);
    return web ? el("a", { href: web, rel: "noopener noreferrer" }, name) : el("span", {}, name);
  }

  function showFace(index) {
    chosen = index;
    const face = preview.faces.find((f) => f.index === index);
    const matches = face ? face.matches : [];
    document.getElementById("preview-summary").textContent = matches.length
      ? `${matches.length} indexed ${matches.length === 1 ? "face matches" : "faces match"} this face at ${percent(preview.threshold)} similarity or more. Untick any that are not this person.`
      : "No indexed face matches this face: nothing to erase. You can still opt the face out.";
    matchList.replaceChildren(
      ...matches.map((m, i) => {
        const id = `erase-${i}`;
        const label = `${m.kind === "video" ? "Video" : "Photo"} ${where(m).textContent}, ${percent(m.score)}`;
        return el(
          "li",
          { class: "erase-item" },
          el("input", { type: "checkbox", id, value: m.face_id, checked: true, class: "erase-pick" }),
          el(
            "label",
            { for: id },
            faceThumb(m, label),
            el(
              "span",
              { class: "details" },
              el("strong", {}, percent(m.score)),
              " ",
              where(m),
              m.person && m.person.name ? el("span", { class: "meta" }, ` · ${m.person.name}`) : "",
              m.kind === "video" && m.timestamp !== null ? el("span", { class: "meta" }, ` · at ${window.LG.seconds(m.timestamp)}`) : "",
            ),
          ),
        );
      }),
    );
  }

  function showPreview() {
    const faces = preview.faces;
    if (!faces.length) {
      confirmForm.hidden = true;
      status(statusLine, "No face was found in this photo. Try a clearer photo of the person.", "empty");
      return;
    }
    const fieldset = document.getElementById("which-face");
    const options = document.getElementById("face-options");
    fieldset.hidden = faces.length < 2;
    const first = faces.find((f) => f.matches.length) || faces[0];
    options.replaceChildren(
      ...faces.map((face) => {
        const input = el("input", { type: "radio", name: "face", value: face.index, checked: face === first });
        input.addEventListener("change", () => showFace(face.index));
        return el(
          "label",
          { class: "face-option" },
          input,
          boxedThumb(photoUrl, face.box, `Face ${face.index + 1}`),
          `Face ${face.index + 1} (${face.matches.length} ${face.matches.length === 1 ? "match" : "matches"})`,
        );
      }),
    );
    showFace(first.index);
    confirmForm.hidden = false;
    status(statusLine, "");
  }

  document.getElementById("preview-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = photoInput.files[0];
    if (!file) return;
    if (photoUrl) URL.revokeObjectURL(photoUrl);
    photoUrl = URL.createObjectURL(file);
    const data = new FormData();
    data.append("image", file);
    confirmForm.hidden = true;
    status(statusLine, "Looking for this person's faces…", "loading");
    try {
      preview = await api("/forget/person/preview", { method: "POST", body: data });
      showPreview();
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  });
  photoInput.addEventListener("change", () => {
    confirmForm.hidden = true;
    preview = null;
  });

  confirmForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = [...matchList.querySelectorAll("input.erase-pick:checked")].map((box) => box.value);
    const optOut = document.getElementById("opt-out").checked;
    if (!ids.length && !optOut) {
      status(statusLine, "Nothing to do: tick a face to erase, or opt the face out.", "error");
      return;
    }
    const what = `${ids.length} ${ids.length === 1 ? "face" : "faces"}${optOut ? " and opt the face out of every later ingest" : ""}`;
    if (!window.confirm(`Erase ${what}? This cannot be undone.`)) return;
    const data = new FormData();
    data.append("image", photoInput.files[0]);
    data.append("face_ids", ids.join(","));
    data.append("face_index", String(chosen));
    data.append("threshold", String(preview.threshold));
    data.append("opt_out", optOut ? "true" : "false");
    const note = document.getElementById("note").value.trim();
    if (note) data.append("note", note);
    const button = document.getElementById("confirm-erase");
    button.disabled = true;
    status(statusLine, "Erasing…", "loading");
    try {
      const done = await api("/forget/person", { method: "POST", body: data });
      const stale = done.not_matching.length ? ` ${done.not_matching.length} no longer matched and were left alone.` : "";
      const out = done.opted_out ? ` The face is opted out (${done.optout_id}): it will not be indexed again.` : "";
      status(statusLine, `Erased ${done.removed} ${done.removed === 1 ? "face" : "faces"}.${stale}${out}`);
      confirmForm.hidden = true;
      confirmForm.reset();
      document.getElementById("preview-form").reset();
      preview = null;
      loadOptOuts();
    } catch (err) {
      status(statusLine, err.message, "error");
    } finally {
      button.disabled = false;
    }
  });

  function optoutRow(entry) {
    const withdraw = el("button", { type: "button", class: "quiet", "aria-label": `Withdraw opt-out ${entry.id}` }, "Withdraw");
    withdraw.addEventListener("click", async () => {
      if (!window.confirm("Withdraw this opt-out? The face may be indexed again from the next ingest on.")) return;
      try {
        await api(`/forget/opt-outs/${encodeURIComponent(entry.id)}`, { method: "DELETE" });
        status(statusLine, "Opt-out withdrawn.");
      } catch (err) {
        status(statusLine, err.message, "error");
      }
      loadOptOuts();
    });
    return el(
      "tr",
      { "data-optout": entry.id },
      el("td", { "data-label": "Added" }, date(entry.added_at) || "–"),
      el("td", { "data-label": "Note" }, entry.note || el("span", { class: "unnamed" }, "no note")),
      el("td", { "data-label": "Id" }, el("code", {}, entry.id)),
      el("td", { "data-label": "Actions" }, withdraw),
    );
  }

  async function loadOptOuts() {
    try {
      const body = await api("/forget/opt-outs?limit=1000");
      document.getElementById("optouts-count").textContent = `(${body.count})`;
      optoutRows.replaceChildren(...body.opt_outs.map(optoutRow));
      if (!body.opt_outs.length) optoutRows.append(el("tr", {}, el("td", { colspan: 4, class: "empty" }, "Nobody has opted out.")));
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  }

  loadOptOuts();
});
