// Admin console overview (GET /admin): a line of counts under each section's link, from the same JSON API.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { api, status } = window.LG;
  const statusLine = document.getElementById("status");
  const say = (id, text) => {
    document.getElementById(id).textContent = text;
  };
  const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

  async function fill(id, url, describe) {
    try {
      say(id, describe(await api(url)));
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  }

  fill("users-summary", "/admin/users", (b) => {
    const admins = b.users.filter((u) => u.role === "admin").length;
    const disabled = b.users.filter((u) => u.disabled).length;
    return `${plural(b.users.length, "user", "users")}: ${plural(admins, "admin", "admins")}${disabled ? `, ${disabled} disabled` : ""}.`;
  });
  fill("keys-summary", "/admin/keys", (b) => `${plural(b.keys.filter((k) => !k.revoked_at).length, "key", "keys")} in use.`);
  fill("audit-summary", "/admin/audit/verify", (c) =>
    c.ok ? `${plural(c.entries, "entry", "entries")}; the hash chain is intact.` : `The hash chain is broken: ${c.problem}`,
  );
  fill("optouts-summary", "/forget/opt-outs", (b) => `${plural(b.count, "face", "faces")} opted out.`);
});
