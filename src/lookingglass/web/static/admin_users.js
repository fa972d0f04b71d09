// Admin console, users (GET /admin/users as a page): list, add, disable/enable, reset a password, change a role,
// remove. Everything goes through the JSON API under /admin/users (admins only, CSRF token from app.js).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status, date } = window.LG;
  const statusLine = document.getElementById("status");
  const rows = document.querySelector("#users tbody");
  const dialog = document.getElementById("password-dialog");
  const resetInput = document.getElementById("reset-password");
  let resetting = null;

  const json = (method, body) => ({ method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const userUrl = (name) => `/admin/users/${encodeURIComponent(name)}`;

  async function act(promise, done) {
    try {
      await promise;
      status(statusLine, done);
    } catch (err) {
      status(statusLine, err.message, "error");
    }
    await load();
  }

  function cell(label, ...children) {
    return el("td", { "data-label": label }, ...children);
  }

  function row(user) {
    const role = el(
      "select",
      { "aria-label": `Role of ${user.username}`, class: "role-select" },
      ...["analyst", "admin"].map((r) => el("option", { value: r, selected: r === user.role }, r)),
    );
    role.addEventListener("change", () =>
      act(api(`${userUrl(user.username)}/role`, json("PUT", { role: role.value })), `${user.username} is now an ${role.value}.`),
    );
    const toggle = el("button", { type: "button", class: "quiet" }, user.disabled ? "Enable" : "Disable");
    toggle.setAttribute("aria-label", `${user.disabled ? "Enable" : "Disable"} ${user.username}`);
    toggle.addEventListener("click", () =>
      act(
        api(userUrl(user.username), json("PATCH", { disabled: !user.disabled })),
        `${user.username} ${user.disabled ? "enabled" : "disabled: their sign-in, sessions and keys stopped working"}.`,
      ),
    );
    const reset = el("button", { type: "button", class: "quiet", "aria-label": `Reset the password of ${user.username}` }, "Reset password");
    reset.addEventListener("click", () => {
      resetting = user.username;
      document.getElementById("password-user").textContent = user.username;
      resetInput.value = "";
      dialog.showModal();
      resetInput.focus();
    });
    const remove = el("button", { type: "button", class: "quiet danger", "aria-label": `Remove ${user.username}` }, "Remove");
    remove.addEventListener("click", () => {
      if (!window.confirm(`Remove ${user.username}? Their keys are revoked and their sessions end.`)) return;
      act(api(userUrl(user.username), { method: "DELETE" }), `${user.username} removed; their keys are revoked.`);
    });
    return el(
      "tr",
      { class: user.disabled ? "disabled" : "", "data-user": user.username },
      el("th", { scope: "row", "data-label": "User" }, user.username),
      cell("Role", role),
      cell("Added", date(user.created_at)),
      cell("State", el("span", { class: `pill ${user.disabled ? "bad" : "ok"}` }, user.disabled ? "disabled" : "active")),
      cell("Actions", el("div", { class: "actions" }, toggle, reset, remove)),
    );
  }

  async function load() {
    try {
      const body = await api("/admin/users");
      rows.replaceChildren(...body.users.map(row));
      if (!body.users.length) rows.append(el("tr", {}, el("td", { colspan: 5, class: "empty" }, "No users yet.")));
    } catch (err) {
      status(statusLine, err.message, "error");
    }
  }

  document.getElementById("add-user").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = {
      username: document.getElementById("new-username").value.trim(),
      role: document.getElementById("new-role").value,
      password: document.getElementById("new-password").value,
    };
    status(statusLine, "Adding…", "loading");
    try {
      const user = await api("/admin/users", json("POST", body));
      form.reset();
      status(statusLine, `Added ${user.role} ${user.username}; they can sign in now.`);
    } catch (err) {
      status(statusLine, err.message, "error");
    }
    await load();
  });

  document.getElementById("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = resetting;
    dialog.close();
    status(statusLine, "Setting the password…", "loading");
    await act(
      api(`${userUrl(name)}/password`, json("PUT", { password: resetInput.value })),
      `Password of ${name} changed; their sessions ended.`,
    );
    resetInput.value = "";
  });
  document.getElementById("password-cancel").addEventListener("click", () => dialog.close());

  load();
});
