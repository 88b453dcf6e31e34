// Small pieces every panel uses: actions with their outcome, polling while the page is seen,
// a bar chart with its figures as text, a community picker, and formatting.

import { html, useState, useEffect, useRef, useCallback } from "./vendor/htm-preact.module.js";

export { html, useState, useEffect, useRef, useCallback };

/** An action's state: `run(fn, ok)` awaits `fn()`, keeps the server's refusal in `error` and `ok` text in `done`. */
export function useAction() {
  const [state, setState] = useState({ busy: false, error: "", done: "" });
  const run = useCallback(async (fn, ok) => {
    setState({ busy: true, error: "", done: "" });
    try {
      const answer = await fn();
      const done = typeof ok === "function" ? ok(answer) : ok || "";
      setState({ busy: false, error: "", done });
      return answer;
    } catch (err) {
      setState({ busy: false, error: err.message || String(err), done: "" });
      return null;
    }
  }, []);
  return { ...state, run };
}

/** The outcome of an action, beside its controls: the server's reason when refused. */
export function Outcome({ action }) {
  if (action.error) return html`<p class="outcome error" role="alert" data-error>${action.error}</p>`;
  if (action.done) return html`<p class="outcome ok" role="status">${action.done}</p>`;
  return null;
}

/** Call `fn` now and every `everyMs` while the page is visible (and again as soon as it is shown). */
export function useVisiblePoll(fn, everyMs, deps = []) {
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    let timer = null;
    const tick = () => {
      if (document.visibilityState === "visible") latest.current();
    };
    const start = () => {
      clearInterval(timer);
      tick();
      timer = setInterval(tick, everyMs);
    };
    const seen = () => { if (document.visibilityState === "visible") start(); else clearInterval(timer); };
    start();
    document.addEventListener("visibilitychange", seen);
    return () => { clearInterval(timer); document.removeEventListener("visibilitychange", seen); };
  }, [everyMs, ...deps]);
}

/** Show seconds as m:ss (h:mm:ss past an hour). */
export function timecode(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "–";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Read "m:ss", "h:mm:ss" or plain seconds; NaN when it is none of them. */
export function parseTimecode(text) {
  const parts = String(text).trim().split(":");
  if (!parts.length || parts.length > 3 || parts.some((p) => !/^\d+(\.\d+)?$/.test(p))) return NaN;
  return parts.reduce((total, p) => total * 60 + Number(p), 0);
}

/** An RFC 3339 instant as local date and time, to the minute. */
export function when(text) {
  if (!text) return "–";
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

/** An RFC 3339 instant in few characters: day, month and time. */
export function shortWhen(text) {
  if (!text) return "–";
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text
    : d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
}

/** A long wallet id cut to its start (the whole id in the tooltip). */
export function Wallet({ id }) {
  return html`<small title=${id}>${id.length > 12 ? `${id.slice(0, 10)}…` : id}</small>`;
}

const BAR = "#1f6feb";

/** A horizontal bar chart (Chart.js) of `values` by `labels`, with the same figures as a list for everyone. */
export function BarChart({ labels, values, name, caption, figures = true }) {
  const canvas = useRef(null);
  const chart = useRef(null);
  useEffect(() => {
    chart.current = new globalThis.Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [{ label: name, data: [], backgroundColor: BAR, borderRadius: 3 }] },
      options: {
        indexAxis: "y", animation: false, responsive: true, maintainAspectRatio: false,
        plugins: { legend: { display: false } },
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
      },
    });
    return () => chart.current.destroy();
  }, []);
  useEffect(() => {
    const c = chart.current;
    c.data.labels = labels.map((l) => (l.length > 28 ? l.slice(0, 27) + "…" : l));
    c.data.datasets[0].data = values;
    c.update("none");
  }, [labels.join("\u0000"), values.join(",")]);
  const total = values.reduce((a, b) => a + b, 0);
  const height = 36 + 30 * Math.max(labels.length, 1);
  return html`<figure class="chart">
    <div class="chart-box" style=${{ height: `${height}px` }}>
      <canvas ref=${canvas} role="img" aria-label=${`${caption || name}: ${labels.map((l, i) => `${l} ${values[i]}`).join(", ")}`}></canvas>
    </div>
    ${figures && html`<figcaption>
      <ul class="figures">
        ${labels.map((l, i) => html`<li key=${i} data-label=${l}>
          <span>${l}</span> <strong data-count>${values[i] ?? 0}</strong>
          <small>${total ? ` (${Math.round((100 * (values[i] ?? 0)) / total)} %)` : ""}</small></li>`)}
      </ul>
    </figcaption>`}
  </figure>`;
}

/** A <select> of the served communities; a note when the server runs none. */
export function CommunityPicker({ communities, value, onChange, id }) {
  if (!communities.length) {
    return html`<p class="note">This server runs no communities (serve with <code>--data-dir</code> and
      <code>--communities</code>).</p>`;
  }
  return html`<label for=${id}>Community
    <select id=${id} value=${value} onChange=${(e) => onChange(e.target.value)}>
      ${communities.map((c) => html`<option key=${c.community} value=${c.community}>${c.name || c.community}</option>`)}
    </select></label>`;
}

/** Keep a choice among `ids` (the first when the current one is gone). */
export function useChoice(ids, storageKey) {
  const [choice, setChoice] = useState(() => sessionStorage.getItem(storageKey) || "");
  const current = ids.includes(choice) ? choice : ids[0] || "";
  const choose = (id) => { sessionStorage.setItem(storageKey, id); setChoice(id); };
  return [current, choose];
}
