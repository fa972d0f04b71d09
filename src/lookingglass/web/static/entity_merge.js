// Possible duplicates on an entity's page (GET /graph/entity/<id>): GET /entities/<id>/merge-candidates lists
// entities of the same type whose names are probably this one written differently, with the reasons. An admin merges
// (POST /entities/merge) or rejects (POST /entities/merge-candidates/reject) each; both are audited by the server,
// which also refuses them to anyone else. Kept apart from entity.js: this is the only control that changes the graph.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status } = window.LG;
  const root = document.getElementById("entity");
  if (!root) return;
  const id = root.dataset.entityId;
  const role = document.querySelector(".who .role");
  const admin = Boolean(role && /admin/.test(role.textContent));

  const list = el("ul", { id: "merge-candidates", class: "documents" });
  const line = el("p", { class: "status", role: "status", "aria-live": "polite" });
  const section = el(
    "section",
    { class: "panel", id: "merge-section", "aria-labelledby": "merge-title", hidden: "" },
    el("h2", { id: "merge-title" }, "Possible duplicates"),
    line,
    list,
  );
  root.append(section);

  async function post(url, body, done) {
    status(line, "Working…", "loading");
    try {
      await api(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      done();
    } catch (err) {
      status(line, err.message, "error");
    }
  }

  function candidate(c) {
    const other = c.b;
    const item = el(
      "li",
      {},
      el("a", { href: `/graph/entity/${encodeURIComponent(other.id)}` }, other.name),
      el("span", { class: "meta" }, ` · ${other.mentions} mention${other.mentions === 1 ? "" : "s"} · ${c.reasons.join("; ")}`),
    );
    if (admin) {
      const keep = el("button", { type: "button" }, "Merge it into this one");
      keep.addEventListener("click", () =>
        post("/entities/merge", { source: other.id, target: id }, () => window.location.reload()),
      );
      const differ = el("button", { type: "button", class: "secondary" }, "Not the same");
      differ.addEventListener("click", () =>
        post("/entities/merge-candidates/reject", { a: id, b: other.id }, () => {
          item.remove();
          status(line, `${other.name} will not be proposed again.`, "");
          if (!list.children.length) section.hidden = true;
        }),
      );
      item.append(" ", keep, " ", differ);
    }
    return item;
  }

  api(`/entities/${encodeURIComponent(id)}/merge-candidates`)
    .then((body) => {
      list.replaceChildren(...body.candidates.map(candidate));
      section.hidden = body.candidates.length === 0;
    })
    .catch(() => {
      section.hidden = true; // the page itself reports an unknown entity; nothing to add here
    });
});
