// The dashboard's shell: sign in with the host token, keep the live status, and show one panel at a time.
//
// The token comes from the login form or the URL fragment (`/host#token=...`, which never reaches
// the server's logs); it is kept in sessionStorage for this tab only and taken out of the address bar.

import { render } from "./vendor/htm-preact.module.js";
import { html, useState, useEffect, useRef, useVisiblePoll, timecode } from "./ui.js";
import { HostLink, serverUrl } from "./wire.js";
import { ShowPanel } from "./show.js";
import { PollsPanel } from "./polls.js";
import { ChallengesPanel } from "./challenges.js";
import { MembersPanel } from "./members.js";
import { AudiencesPanel } from "./audiences.js";

const TOKEN_KEY = "showroom-host-token";
const STATUS_EVERY_MS = 1000;
const RETRY_MS = [1000, 2000, 5000, 10000];

const PANELS = [
  { id: "show", title: "Show", view: ShowPanel },
  { id: "polls", title: "Polls", view: PollsPanel },
  { id: "challenges", title: "Challenges", view: ChallengesPanel },
  { id: "members", title: "Members", view: MembersPanel },
  { id: "audiences", title: "Audiences", view: AudiencesPanel },
];

function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return token;
}

function Login({ onToken, error, busy }) {
  const [token, setToken] = useState("");
  return html`<main class="container login">
    <article>
      <header><h1>Showroom host</h1><p>Sign in with the event's host token.</p></header>
      <form onSubmit=${(e) => { e.preventDefault(); onToken(token); }}>
        <label for="token">Host token
          <input id="token" name="token" type="password" autocomplete="current-password" required
                 value=${token} onInput=${(e) => setToken(e.target.value)} aria-invalid=${error ? "true" : undefined}
                 aria-describedby="login-error" />
        </label>
        ${error && html`<p id="login-error" class="outcome error" role="alert" data-error>${error}</p>`}
        <button type="submit" aria-busy=${busy ? "true" : "false"} disabled=${busy}>Sign in</button>
      </form>
      <footer><small>The token is what <code>showroom serve</code> printed (or its <code>--host-token</code>).
        It stays in this tab only.</small></footer>
    </article>
  </main>`;
}

function Header({ welcome, status, connection, onSignOut }) {
  const s = status || {};
  return html`<header class="top">
    <div class="container-fluid top-row">
      <div class="brand"><strong>Showroom host</strong>
        <span class="event">${welcome.event?.title || s.event || ""}</span></div>
      <div class="clock-mini" aria-live="off">
        <span data-clock>${timecode(s.t)}</span> / ${timecode(s.duration)}
        <span class=${`badge ${s.playing ? "live" : "paused"}`}>${s.playing ? "playing" : "paused"}</span>
      </div>
      <div class="conn">
        <span class=${`dot ${connection}`} aria-hidden="true"></span>
        <span class="conn-text">${connection === "up" ? "connected" : connection}</span>
        <button class="secondary outline small" onClick=${onSignOut}>Sign out</button>
      </div>
    </div>
  </header>`;
}

function Tabs({ current, onPick }) {
  return html`<nav class="tabs container-fluid" aria-label="Dashboard sections">
    <ul>
      ${PANELS.map((p, i) => html`<li key=${p.id}>
        <button class=${p.id === current ? "tab current" : "tab"} aria-current=${p.id === current ? "page" : undefined}
                data-tab=${p.id} title=${`${p.title} (key ${i + 1})`} onClick=${() => onPick(p.id)}>${p.title}</button></li>`)}
    </ul>
  </nav>`;
}

function Dashboard({ link, welcome, connection, onSignOut, notices, dismiss }) {
  const [status, setStatus] = useState(null);
  const [statusError, setStatusError] = useState("");
  const [tab, setTab] = useState(() => sessionStorage.getItem("showroom-tab") || "show");
  const asking = useRef(false);

  const refresh = async () => {
    if (asking.current || connection !== "up") return;
    asking.current = true;
    try {
      setStatus(await link.ask({ type: "host_status" }, ["status"]));
      setStatusError("");
    } catch (err) {
      setStatusError(err.message);
    } finally {
      asking.current = false;
    }
  };
  useVisiblePoll(refresh, STATUS_EVERY_MS, [link, connection]);

  const pick = (id) => { sessionStorage.setItem("showroom-tab", id); setTab(id); };
  useEffect(() => {
    const key = (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
      const n = Number(e.key);
      if (n >= 1 && n <= PANELS.length) pick(PANELS[n - 1].id);
    };
    addEventListener("keydown", key);
    return () => removeEventListener("keydown", key);
  }, []);

  const panel = PANELS.find((p) => p.id === tab) || PANELS[0];
  const View = panel.view;
  return html`
    <${Header} welcome=${welcome} status=${status} connection=${connection} onSignOut=${onSignOut} />
    <${Tabs} current=${panel.id} onPick=${pick} />
    <main class="container-fluid panel" id=${`panel-${panel.id}`}>
      ${notices.map((n, i) => html`<p key=${i} class="notice" role="status">${n}
        <button class="secondary outline small" onClick=${() => dismiss(i)} aria-label="Dismiss">×</button></p>`)}
      ${statusError && html`<p class="outcome error" role="alert">Status: ${statusError}</p>`}
      ${status === null
        ? html`<p aria-busy="true">Reading the event's status…</p>`
        : html`<${View} link=${link} status=${status} refresh=${refresh} />`}
    </main>`;
}

function App() {
  const [session, setSession] = useState(null); // {link, welcome}
  const [connection, setConnection] = useState("down");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [notices, setNotices] = useState([]);
  const retries = useRef(0);

  const connect = async (token, quiet = false) => {
    setBusy(true);
    if (!quiet) setError("");
    const link = new HostLink(serverUrl(), {
      onEvent: (m) => {
        if (m.type === "reload" && m.message) setNotices((n) => [...n.slice(-2), `Scene: ${m.message}`]);
        else if (m.type === "error" && m.message) setNotices((n) => [...n.slice(-2), m.message]);
      },
      onClose: (reason) => {
        setConnection("reconnecting");
        const wait = RETRY_MS[Math.min(retries.current++, RETRY_MS.length - 1)];
        setTimeout(() => connect(token, true), wait);
        setNotices((n) => [...n.slice(-2), `Connection lost (${reason}); reconnecting…`]);
      },
    });
    try {
      const welcome = await link.join(token);
      sessionStorage.setItem(TOKEN_KEY, token);
      retries.current = 0;
      setSession({ link, welcome });
      setConnection("up");
      setError("");
    } catch (err) {
      if (quiet && err.code === "closed") {
        const wait = RETRY_MS[Math.min(retries.current++, RETRY_MS.length - 1)];
        setTimeout(() => connect(token, true), wait);
      } else {
        sessionStorage.removeItem(TOKEN_KEY);
        setSession(null);
        setConnection("down");
        setError(err.message);
      }
    } finally {
      setBusy(false);
    }
  };

  useEffect(() => {
    const token = tokenFromFragment() || sessionStorage.getItem(TOKEN_KEY);
    if (token) connect(token);
  }, []);

  const signOut = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    if (session) session.link.close();
    setSession(null);
    setConnection("down");
  };

  if (!session) return html`<${Login} onToken=${(t) => connect(t)} error=${error} busy=${busy} />`;
  return html`<${Dashboard} link=${session.link} welcome=${session.welcome} connection=${connection}
    onSignOut=${signOut} notices=${notices} dismiss=${(i) => setNotices((n) => n.filter((_, k) => k !== i))} />`;
}

render(html`<${App} />`, document.getElementById("app"));
