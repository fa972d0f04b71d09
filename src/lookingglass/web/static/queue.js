// Queue and health (GET /queue, admins): GET /queue/stats and GET /health, refreshed every 10 s while visible.
// Jobs are shown by file name and kind; each queue has a progress bar and an ETA; a failed job can be run again
// (POST /queue/failed/<id>/retry, then its object's outcome is followed) or its record removed (DELETE).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const { el, api, status } = window.LG;
  const statusLine = document.getElementById("status");
  const updated = document.getElementById("updated");
  const refresh = document.getElementById("refresh");
  const analytics = document.getElementById("analytics");
  const COLUMNS = ["queued", "started", "finished", "failed", "deferred", "scheduled"];
  const HIDDEN = new Set(["ok", "backend", "latency_ms", "ms"]);
  const failedStatus = document.getElementById("failed-status");
  const KIND = { image: "photo", video: "video", audio: "audio", page: "page" };

  /** A job as a person reads it: the file (or what the job does when it has no file), its kind and task. */
  function jobLabel(job) {
    const name = job.file || (job.sha256 ? `object ${job.sha256.slice(0, 12)}` : job.task);
    return [
      el("strong", { class: "file" }, name),
      job.kind ? el("span", { class: "badge" }, KIND[job.kind] || job.kind) : "",
      el("span", { class: "meta" }, ` ${job.task}`),
    ];
  }

  function progressCell(q) {
    const left = q.queued + q.started + q.deferred + q.scheduled;
    const doneCount = q.finished + q.failed;
    if (q.done_fraction === null || q.done_fraction === undefined) return el("td", { class: "progress-col meta" }, "nothing yet");
    const bar = el("progress", { max: "1", value: String(q.done_fraction), "aria-label": "done" });
    let eta = "";
    if (left && q.eta_s !== null && q.eta_s !== undefined) eta = ` · about ${age(q.eta_s)} left`;
    else if (left) eta = " · time left unknown";
    return el("td", { class: "progress-col" }, bar, el("span", { class: "meta" }, ` ${doneCount} of ${doneCount + left} done${eta}`));
  }

  function age(s) {
    if (s === null || s === undefined) return "–";
    if (s < 120) return `${Math.round(s)} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  function renderHealth(body, httpOk) {
    const summary = document.getElementById("health-summary");
    summary.replaceChildren(el("span", { class: `pill ${httpOk ? "ok" : "bad"}` }, httpOk ? "all backends up" : "a backend is down"));
    if (body.embedder) summary.append(` · embedder ${body.embedder}`);
    if (body.device) {
      // gpu: where each model runs, and why (LG_DEVICE)
      const models = Object.entries(body.device.models).map(([name, where]) => `${name} ${where}`).join(", ");
      summary.append(el("span", { id: "health-models" }, ` · models: ${models} (LG_DEVICE=${body.device.requested}: ${body.device.reason})`));
    }
    const list = document.getElementById("backends");
    list.replaceChildren(
      ...Object.entries(body.backends || {}).map(([name, check]) => {
        const extra = Object.entries(check)
          .filter(([k]) => !HIDDEN.has(k))
          .map(([k, v]) => `${k.replace(/_/g, " ")} ${typeof v === "object" ? JSON.stringify(v) : v}`)
          .join(" · ");
        const latency = check.latency_ms !== undefined ? ` ${check.latency_ms} ms` : "";
        return el(
          "li",
          { class: check.ok ? "" : "down" },
          el("span", { class: `pill ${check.ok ? "ok" : "bad"}` }, check.ok ? "up" : "down"),
          el("strong", {}, ` ${name}`),
          ` ${check.backend || ""}${latency}`,
          extra ? el("span", { class: "meta" }, ` · ${extra}`) : "",
        );
      }),
    );
  }

  function renderQueues(stats) {
    document.getElementById("queue-backend").textContent = `(${stats.backend})`;
    const rows = document.querySelector("#queues tbody");
    rows.replaceChildren(
      ...Object.entries(stats.queues).map(([name, q]) =>
        el(
          "tr",
          { class: q.failed ? "has-failed" : "" },
          el("th", { scope: "row" }, name),
          ...COLUMNS.map((c) => el("td", { class: "num" }, String(q[c] ?? 0))),
          el("td", { class: "num" }, age(q.oldest_queued_age_s)),
          progressCell(q),
        ),
      ),
    );
    const workers = document.getElementById("workers");
    workers.replaceChildren(
      ...stats.workers.map((w) => {
        const p = w.progress;
        const progress = p && p.fraction !== undefined ? ` (${Math.round(p.fraction * 100)}%${p.stage ? ` ${p.stage}` : ""})` : "";
        return el(
          "li",
          {},
          el("strong", {}, w.name),
          ` ${w.state}`,
          w.queues ? el("span", { class: "meta" }, ` · queues ${w.queues.join(", ")}`) : "",
          w.job ? el("span", { class: "job" }, " · running ", ...jobLabel(w.job), progress) : w.current_job ? el("span", { class: "meta job" }, ` · running ${w.current_job}${progress}`) : "",
          w.last_heartbeat ? el("span", { class: "meta" }, ` · heartbeat ${w.last_heartbeat}`) : "",
        );
      }),
    );
    if (!stats.workers.length) workers.append(el("li", { class: "empty" }, "No worker is running: queued jobs wait until one starts."));
    const waiting = document.getElementById("waiting");
    waiting.replaceChildren(...(stats.waiting || []).map((job) => el("li", {}, ...jobLabel(job), el("span", { class: "meta" }, ` · ${job.queue}`))));
    if (!(stats.waiting || []).length) waiting.append(el("li", { class: "empty" }, "Nothing is waiting."));
    const failed = document.getElementById("failed");
    failed.replaceChildren(
      ...stats.failed.map((f) =>
        el(
          "li",
          { "data-job": f.id },
          el("p", {}, ...jobLabel(f), el("span", { class: "meta" }, ` · ${f.queue}`)),
          el("p", { class: "reason" }, f.reason || "no reason recorded"),
          el("p", { class: "meta" }, f.ended_at ? `failed ${new Date(f.ended_at).toLocaleString()}` : ""),
          el(
            "div",
            { class: "actions" },
            action("Retry", f, () => retry(f)),
            action("Remove", f, () => remove(f), "quiet"),
          ),
        ),
      ),
    );
    if (!stats.failed.length) failed.append(el("li", { class: "empty" }, "No failed jobs."));
  }

  function action(label, job, run, cls) {
    const name = job.file || job.task;
    const button = el("button", { type: "button", class: cls || null, "aria-label": `${label} ${name}` }, label);
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await run();
      } catch (err) {
        if (err.status !== 401) status(failedStatus, `${label} failed. ${err.message}`, "error");
      } finally {
        button.disabled = false;
      }
    });
    return button;
  }

  async function retry(job) {
    const name = job.file || job.task;
    await api(`/queue/failed/${encodeURIComponent(job.id)}/retry`, { method: "POST" });
    status(failedStatus, `${name}: queued again.`, "loading");
    await load();
    if (!job.sha256) return status(failedStatus, `${name}: queued again.`);
    for (let tries = 0; tries < 400; tries += 1) {
      await new Promise((resolve) => window.setTimeout(resolve, 1500));
      const outcome = await api(`/objects/${job.sha256}/outcome`);
      if (outcome.state === "pending") continue;
      if (outcome.state === "done") {
        const found = outcome.kind === "page" ? `${outcome.entities} names found` : `${outcome.faces} faces found`;
        status(failedStatus, `${name} ran again and is done: ${found}.`);
      } else {
        status(failedStatus, `${name} ran again and failed: ${outcome.error || "no reason recorded"}`, "error");
      }
      return load();
    }
  }

  async function remove(job) {
    await api(`/queue/failed/${encodeURIComponent(job.id)}`, { method: "DELETE" });
    status(failedStatus, `${job.file || job.task}: failed job removed.`);
    await load();
  }

  async function health() {
    // /health answers 503 with the same body when a backend is down: read it either way.
    const response = await fetch("/health", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 401) {
      window.LG.signIn();
      return;
    }
    renderHealth(await response.json(), response.ok);
  }

  let busy = false;
  async function load() {
    if (busy) return;
    busy = true;
    refresh.disabled = true;
    try {
      const [stats] = await Promise.all([api("/queue/stats"), health()]);
      renderQueues(stats);
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (statusLine.classList.contains("error")) status(statusLine, "");
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Could not load the queue. ${err.message}`, "error");
    } finally {
      busy = false;
      refresh.disabled = false;
    }
  }

  analytics.addEventListener("click", async () => {
    analytics.disabled = true;
    status(statusLine, "Running PageRank and community detection…", "loading");
    try {
      const body = await api("/graph/analytics", { method: "POST" });
      const job = body.job || body.handed_to_owner;
      if (job) status(statusLine, `Graph analytics queued as job ${job}.`);
      else status(statusLine, `Graph analytics done: ${body.nodes ?? "?"} entities, ${body.relations ?? body.edges ?? "?"} relations.`);
    } catch (err) {
      if (err.status !== 401) status(statusLine, `Graph analytics failed. ${err.message}`, "error");
    } finally {
      analytics.disabled = false;
      load();
    }
  });

  refresh.addEventListener("click", load);
  window.setInterval(() => {
    if (!document.hidden) load();
  }, 10000);
  load();
});
