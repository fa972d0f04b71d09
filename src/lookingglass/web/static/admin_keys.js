// Admin console, API keys (GET /admin/keys as a page): create (the key is shown once, with a copy button), label,
// owner and role, revoke, last used. Through the JSON API under /admin/keys.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, date } = window.LG;
  const statusLine = document.getElementById("status");
  const rows = document.querySelector("#keys tbody");
  const showRevoked = document.getElementById("show-revoked");
  const newKey = document.getElementById("new-key");
  const keyText = document.getElementById("new-key-text");

  function cell(label, ...children) {
    return el("td", { "data-label": label }, ...children);
  }

  function row(key) {
    const revoke = el("button", { type: "button", class: "quiet danger", "aria-label": `Revoke ${key.label || key.id}` }, "Revoke");
    revoke.addEventListener("click", async () => {
      if (!window.confirm(`Revoke the key ${key.label || key.id}? Whatever uses it stops working at once.`)) return;
      try {
        await api(`/admin/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
        status(statusLine, `Key ${key.label || key.id} revoked.`);
      } catch (err) {
        status(statusLine, err.message, "error");
      }
      load();
    });
    return el(
      "tr",
      { class: key.revoked_at ? "disabled" : "", "data-key": key.id },
      el("th", { scope: "row", "data-label": "Label" }, key.label || el("span", { class: "unnamed" }, "no label")),
      cell("Id", el("code", {}, key.id)),
      cell("Role", key.role),
      cell("Owner", key.owner || "–"),
      cell("Created", date(key.created_at)),
      cell("Last used", key.last_used_at ? date(key.last_used_at) : "never"),
      cell("Actions", key.revoked_at ? el("span", { class: "meta" }, "revoked ", date(key.revoked_at)) : revoke),
    );
  }

  async function load() {
    try {
      const body = await api("/admin/keys");
      const shown = body.keys.filter((k) => showRevoked.checked || !k.revoked_at).reverse(); // newest first
      rows.replaceChildren(...shown.map(row));
      if (!shown.length) rows.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No keys yet: create one above.")));
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  }

  async function owners() {
    try {
      const body = await api("/admin/users");
      const select = document.getElementById("key-owner");
      for (const user of body.users.filter((u) => !u.disabled)) select.append(el("option", { value: user.username }, `${user.username} (${user.role})`));
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  }

  document.getElementById("create-key").addEventListener("submit", async (event) => {
    event.preventDefault();
    const owner = document.getElementById("key-owner").value;
    const body = { label: document.getElementById("key-label").value.trim(), role: document.getElementById("key-role").value };
    if (owner) body.user = owner;
    status(statusLine, "Creating…", "loading");
    try {
      const created = await api("/admin/keys", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      keyText.value = created.key;
      newKey.hidden = false;
      keyText.focus();
      keyText.select();
      event.target.reset();
      status(statusLine, `Created ${created.role} key ${created.label || created.id}.`);
    } catch (err) {
      status(statusLine, err.message, "error");
    }
    load();
  });

  document.getElementById("copy-key").addEventListener("click", async () => {
    keyText.select();
    try {
      await navigator.clipboard.writeText(keyText.value);
      status(statusLine, "Copied to the clipboard.");
    } catch (err) {
      status(statusLine, "The browser did not allow copying: the key is selected, copy it with Ctrl+C (⌘C).", "error");
    }
  });
  document.getElementById("hide-key").addEventListener("click", () => {
    keyText.value = ""; // gone from the page: it cannot be shown again
    newKey.hidden = true;
    status(statusLine, "The key is no longer shown.");
  });
  showRevoked.addEventListener("change", load);

  owners();
  load();
});
