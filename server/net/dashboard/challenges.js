// Challenges: pick one, move it to a phase, publish its featured entries once closed, and moderate
// its entries with their pictures (approve, or reject with a reason told to the author).

import { html, useState, useEffect, useRef, useAction, Outcome, useVisiblePoll, CommunityPicker, useChoice } from "./ui.js";

const PHASES = ["draft", "submissions", "review", "voting", "closed"];
const ENTRIES_EVERY_MS = 4000;

const IMAGES_AT_ONCE = 2;

/** Blob URLs of entry pictures, fetched once each (entry_image answers a JPEG as bin), two at a time so
 * that a long queue never holds up the status and the actions behind it. */
function useImages(link) {
  const [urls, setUrls] = useState({});
  const asked = useRef(new Set());
  const waiting = useRef([]);
  const busy = useRef(0);
  const made = useRef([]);
  useEffect(() => () => made.current.forEach((u) => URL.revokeObjectURL(u)), []);
  const next = () => {
    while (busy.current < IMAGES_AT_ONCE && waiting.current.length) {
      const entry = waiting.current.shift();
      busy.current += 1;
      link.ask({ type: "entry_image", entry }, ["entry_image"]).then((m) => {
        const url = URL.createObjectURL(new Blob([m.image], { type: "image/jpeg" }));
        made.current.push(url);
        setUrls((u) => ({ ...u, [entry]: url }));
      }).catch(() => asked.current.delete(entry))
        .finally(() => { busy.current -= 1; next(); });
    }
  };
  const want = (entry) => {
    if (asked.current.has(entry)) return;
    asked.current.add(entry);
    waiting.current.push(entry);
    next();
  };
  return [urls, want];
}

function PendingEntry({ entry, image, onDecide, busy }) {
  const [reason, setReason] = useState("");
  return html`<li class="entry" data-entry=${entry.entry}>
    <figure>
      ${image ? html`<img src=${image} alt=${`Entry ${entry.entry}: ${entry.title}`} width=${entry.width} height=${entry.height} />`
              : html`<div class="img-wait" aria-busy="true">picture…</div>`}
      <figcaption title=${`${entry.width}×${entry.height} px`}><strong>${entry.title}</strong> <small>by ${entry.by} · #${entry.entry}</small></figcaption>
    </figure>
    <form onSubmit=${(e) => { e.preventDefault(); onDecide(entry, false, reason); }}>
      <button type="button" onClick=${() => onDecide(entry, true, "")} disabled=${busy}
              aria-label=${`Approve ${entry.title}`}>Approve</button>
      <label for=${`reason-${entry.entry}`} class="visually-hidden">Reason for rejecting ${entry.title}</label>
      <input id=${`reason-${entry.entry}`} maxlength="80" placeholder="reason, if rejected" value=${reason}
             onInput=${(e) => setReason(e.target.value)} />
      <button type="button" class="secondary" disabled=${busy} onClick=${() => onDecide(entry, false, reason)}
              aria-label=${`Reject ${entry.title}`}>Reject</button>
    </form>
  </li>`;
}

function Entries({ link, community, challenge }) {
  const act = useAction();
  const [gallery, setGallery] = useState(null);
  const [error, setError] = useState("");
  const [images, want] = useImages(link);
  const read = async () => {
    try {
      const g = await link.ask({ type: "host_entries", community, challenge: challenge.id }, ["gallery"]);
      if (g.challenge === challenge.id) setGallery(g);
      setError("");
    } catch (err) { setError(err.message); }
  };
  useVisiblePoll(read, ENTRIES_EVERY_MS, [community, challenge.id]);
  const entries = gallery && gallery.challenge === challenge.id ? gallery.entries : [];
  const pending = entries.filter((e) => e.status === "pending");
  const decided = entries.filter((e) => e.status !== "pending");
  useEffect(() => { pending.forEach((e) => want(e.entry)); decided.forEach((e) => want(e.entry)); }, [entries.length, pending.length]);
  const decide = (entry, approve, reason) => act.run(async () => {
    const message = { type: "host_moderate", entry: entry.entry, approve };
    if (!approve && reason.trim()) message.reason = reason.trim();
    const r = await link.ask(message);
    await read();
    return r;
  }, `${entry.title}: ${approve ? "approved" : "rejected"}`);
  return html`<section aria-labelledby="queue-title">
    <h3 id="queue-title">Moderation queue <small>(${pending.length} waiting)</small></h3>
    ${error && html`<p class="outcome error" role="alert">${error}</p>`}
    <${Outcome} action=${act} />
    ${gallery === null && !error ? html`<p aria-busy="true">Reading the entries…</p>`
      : pending.length === 0 ? html`<p class="note" data-queue-empty>No entry waits for moderation.</p>` : null}
    <ul class="entries queue">${pending.map((e) => html`<${PendingEntry} key=${e.entry} entry=${e} image=${images[e.entry]}
                                                                        onDecide=${decide} busy=${act.busy} />`)}</ul>
    ${decided.length > 0 && html`<h3>Decided</h3>
      <ul class="entries decided">${decided.map((e) => html`<li key=${e.entry} class="entry small" data-entry=${e.entry} data-status=${e.status}>
        <figure>${images[e.entry] ? html`<img src=${images[e.entry]} alt=${`Entry ${e.entry}: ${e.title}`} />` : html`<div class="img-wait"></div>`}
          <figcaption><strong>${e.title}</strong> <small>by ${e.by}</small><br />
            <span class=${`badge ${e.status}`}>${e.status}</span>${e.rank ? html` <span class="badge live">#${e.rank} featured</span>` : ""}
            ${e.reason ? html`<br /><small>${e.reason}</small>` : ""}</figcaption></figure></li>`)}</ul>`}
  </section>`;
}

function ChallengeControls({ link, community, challenge, refresh }) {
  const act = useAction();
  const [phase, setPhase] = useState(challenge.phase);
  useEffect(() => setPhase(challenge.phase), [challenge.id, challenge.phase]);
  const move = (e) => {
    e.preventDefault();
    act.run(async () => {
      const r = await link.ask({ type: "host_phase", community, challenge: challenge.id, phase });
      refresh();
      return r;
    }, `${challenge.title}: now ${phase}`);
  };
  const feature = () => act.run(async () => {
    const r = await link.ask({ type: "host_feature", community, challenge: challenge.id });
    refresh();
    return r;
  }, `${challenge.title}: featured entries published`);
  return html`<div class="controls">
    <form class="row" onSubmit=${move}>
      <label for="phase" class="inline">Phase</label>
      <select id="phase" class="narrow" value=${phase} onChange=${(e) => setPhase(e.target.value)}>
        ${PHASES.map((p) => html`<option key=${p} value=${p}>${p}</option>`)}
      </select>
      <button type="submit" disabled=${act.busy}>Move to phase</button>
      <button type="button" class="contrast" onClick=${feature} disabled=${act.busy}>Publish featured</button>
    </form>
    <${Outcome} action=${act} />
  </div>`;
}

export function ChallengesPanel({ link, status, refresh }) {
  const communities = status.communities || [];
  const [community, setCommunity] = useChoice(communities.map((c) => c.community), "showroom-community");
  const brief = communities.find((c) => c.community === community);
  const challenges = brief ? brief.challenges || [] : [];
  const [chosen, choose] = useChoice(challenges.map((c) => c.id), "showroom-challenge");
  const challenge = challenges.find((c) => c.id === chosen);
  return html`<div class="stack">
    <article aria-labelledby="challenges-title">
      <header class="split"><h2 id="challenges-title">Challenges</h2>
        <${CommunityPicker} id="challenge-community" communities=${communities} value=${community} onChange=${setCommunity} /></header>
      ${challenges.length > 0 && html`<div class="scroll"><table class="compact">
        <thead><tr><th scope="col">Challenge</th><th scope="col">Phase</th><th scope="col" class="wide">Ballot</th><th scope="col" class="wide">Entries</th>
          <th scope="col">Waiting</th><th scope="col" class="wide">Approved</th><th scope="col" class="wide">Featured</th><th scope="col"><span class="visually-hidden">Open</span></th></tr></thead>
        <tbody>${challenges.map((c) => html`<tr key=${c.id} class=${c.id === chosen ? "current" : ""} data-challenge=${c.id}>
          <td>${c.title} <small>${c.id}</small></td><td data-phase>${c.phase}</td><td class="wide">${c.ballot}</td><td class="wide">${c.entries ?? "–"}</td>
          <td>${c.pending ?? c.pending_entries ?? "–"}</td><td class="wide">${c.approved ?? "–"}</td><td class="wide" data-featured>${c.featured ? "yes" : "no"}</td>
          <td><button class="small outline" aria-pressed=${c.id === chosen ? "true" : "false"} onClick=${() => choose(c.id)}
                      aria-label=${`Open ${c.title} (${c.id})`}>Open</button></td></tr>`)}
        </tbody></table></div>`}
      ${brief && challenges.length === 0 && html`<p class="note">This community has no current challenge.</p>`}
    </article>
    ${challenge && html`<article aria-labelledby="challenge-title" data-open-challenge=${challenge.id}>
      <header><h2 id="challenge-title">${challenge.title} <small>${challenge.id} · ${challenge.phase}</small></h2></header>
      <${ChallengeControls} link=${link} community=${community} challenge=${challenge} refresh=${refresh} />
      <${Entries} key=${`${community}/${challenge.id}`} link=${link} community=${community} challenge=${challenge} />
    </article>`}
  </div>`;
}
