// The show: the clock and its controls (start, pause, next, seek), the cue list, announcements,
// removing a visitor, and the live figures (visitors per shard, selfie queues, awards, stock).

import { html, useState, useEffect, useRef, useAction, Outcome, timecode, parseTimecode } from "./ui.js";

function Clock({ link, status, refresh }) {
  const act = useAction();
  const [target, setTarget] = useState("");
  const duration = status.duration || 0;
  const go = (message, ok) => act.run(async () => { const r = await link.ask(message); refresh(); return r; }, ok);
  const seek = (e) => {
    e.preventDefault();
    const t = parseTimecode(target);
    if (!Number.isFinite(t)) {
      act.run(async () => { throw new Error(`"${target}" is not a time: write m:ss or seconds`); });
      return;
    }
    go({ type: "host_seek", t }, (r) => `Moved to ${timecode(r.t)}`);
  };
  const next = status.next_cue >= 0 ? `#${status.next_cue} at ${timecode(status.next_at)}` : "none left";
  return html`<article class="clock" aria-labelledby="clock-title">
    <header><h2 id="clock-title">Show clock</h2></header>
    <p class="big-clock"><span data-status-clock>${timecode(status.t)}</span>
      <small> / ${timecode(duration)}</small>
      <span class=${`badge ${status.playing ? "live" : "paused"}`}>${status.playing ? "playing" : "paused"}</span></p>
    <p class="meta">Cue ${status.cue >= 0 ? `#${status.cue} (${status.cue_kind})` : "not started"} · next ${next}
      ${status.look ? ` · look ${status.look}` : ""} · scene v${status.scene_version}
      ${status.pending ? ` · edit v${status.pending.version} waits for ${timecode(status.pending.at)}` : ""}</p>
    <div class="row" role="group" aria-label="Show controls">
      <button onClick=${() => go({ type: "host_start" }, "Started")} disabled=${act.busy}>Start</button>
      <button class="secondary" onClick=${() => go({ type: "host_pause" }, "Paused")} disabled=${act.busy}>Pause</button>
      <button class="secondary" onClick=${() => go({ type: "host_next" }, (r) => `Cue #${r.cue}`)} disabled=${act.busy}>Next cue</button>
    </div>
    <form class="seek" onSubmit=${seek}>
      <label for="seek-slider">Position</label>
      <input id="seek-slider" type="range" min="0" max=${Math.ceil(duration)} step="1"
             value=${target === "" ? Math.floor(status.t) : parseTimecode(target) || 0}
             onInput=${(e) => setTarget(timecode(Number(e.target.value)))} aria-valuetext=${target || timecode(status.t)} />
      <div class="row">
        <label for="seek-to" class="inline">Seek to</label>
        <input id="seek-to" name="seek" inputmode="numeric" placeholder="m:ss" value=${target}
               onInput=${(e) => setTarget(e.target.value)} />
        <button type="submit" disabled=${act.busy || target === ""}>Seek</button>
      </div>
    </form>
    <${Outcome} action=${act} />
  </article>`;
}

function Cues({ link, status, refresh }) {
  const act = useAction();
  const cues = status.cues || [];
  const scroller = useRef(null);
  useEffect(() => {  // keep the current cue in view as the show moves on (inside the list only, not the page)
    const box = scroller.current;
    const row = box && box.querySelector("tr.current");
    if (row) box.scrollTop = Math.max(0, row.offsetTop - box.clientHeight / 3);
  }, [status.cue, cues.length]);
  const fire = (index) => act.run(async () => { const r = await link.ask({ type: "host_cue", index }); refresh(); return r; },
    (r) => `Jumped to cue #${index} (${timecode(r.t)})`);
  return html`<article class="cues" aria-labelledby="cues-title">
    <header><h2 id="cues-title">Cue list</h2></header>
    <${Outcome} action=${act} />
    ${cues.length === 0
      ? html`<p class="note">The server does not list the timeline (an older server): use Next cue or Seek.</p>`
      : html`<div class="scroll" ref=${scroller}><table class="striped compact">
        <thead><tr><th scope="col">#</th><th scope="col">At</th><th scope="col">Kind</th><th scope="col">What</th><th scope="col"><span class="visually-hidden">Go</span></th></tr></thead>
        <tbody>${cues.map((c) => html`<tr key=${c.index} class=${c.index === status.cue ? "current" : c.index === status.next_cue ? "next" : ""}
                                           aria-current=${c.index === status.cue ? "true" : undefined}>
          <td>${c.index}</td><td>${timecode(c.at)}</td><td>${c.kind}</td><td>${c.what}</td>
          <td><button class="small outline" onClick=${() => fire(c.index)} disabled=${act.busy}
                      aria-label=${`Go to cue ${c.index}: ${c.what}`}>Go</button></td></tr>`)}</tbody>
      </table></div>`}
  </article>`;
}

function Announce({ link }) {
  const act = useAction();
  const [text, setText] = useState("");
  const send = (e) => {
    e.preventDefault();
    act.run(async () => { const r = await link.ask({ type: "host_announce", text }); setText(""); return r; }, "Announced to every shard");
  };
  return html`<article aria-labelledby="announce-title">
    <header><h2 id="announce-title">Announcement</h2></header>
    <form onSubmit=${send}>
      <label for="announce-text">Text for every visitor <small>(${text.length}/280)</small>
        <textarea id="announce-text" rows="2" maxlength="280" required value=${text}
                  onInput=${(e) => setText(e.target.value)}></textarea></label>
      <button type="submit" disabled=${act.busy || !text.trim()}>Announce</button>
    </form>
    <${Outcome} action=${act} />
  </article>`;
}

function RemoveVisitor({ link }) {
  const act = useAction();
  const [avatar, setAvatar] = useState("");
  const remove = (type, verb) => act.run(() => link.ask({ type, visitor: Number(avatar) }), `Avatar ${avatar} ${verb}`);
  const ok = /^\d+$/.test(avatar);
  return html`<article aria-labelledby="remove-title">
    <header><h2 id="remove-title">Remove a visitor</h2></header>
    <form onSubmit=${(e) => { e.preventDefault(); if (ok) remove("host_kick", "kicked"); }}>
      <label for="avatar-id">Avatar id
        <input id="avatar-id" inputmode="numeric" value=${avatar} onInput=${(e) => setAvatar(e.target.value.trim())} /></label>
      <div class="row">
        <button type="submit" class="secondary" disabled=${!ok || act.busy}>Kick</button>
        <button type="button" class="contrast" disabled=${!ok || act.busy} onClick=${() => remove("host_ban", "banned")}>Ban</button>
      </div>
    </form>
    <${Outcome} action=${act} />
  </article>`;
}

function Live({ link, status, refresh }) {
  const act = useAction();
  const drop = (entitlement, open) => act.run(async () => {
    const r = await link.ask({ type: "host_drop", entitlement, open }); refresh(); return r;
  }, `${entitlement}: drop ${open ? "opened" : "closed"}`);
  const shards = status.shards || [];
  const stock = status.stock || [];
  return html`<article class="live" aria-labelledby="live-title">
    <header><h2 id="live-title">Live</h2></header>
    <dl class="figures-row">
      <div><dt>Visitors</dt><dd data-visitors>${status.visitors}</dd></div>
      <div><dt>Hosts</dt><dd>${status.hosts}</dd></div>
      <div><dt>Shards</dt><dd>${shards.length}</dd></div>
      <div><dt>Awards</dt><dd>${status.awards ?? "–"}</dd></div>
    </dl>
    <div class="scroll"><table class="compact">
      <caption>Shards and selfie queues</caption>
      <thead><tr><th scope="col">Shard</th><th scope="col">Visitors</th><th scope="col" class="wide">Connected</th><th scope="col">Selfie queues</th></tr></thead>
      <tbody>${shards.map((s) => html`<tr key=${s.shard}><td>${s.shard}</td><td>${s.visitors}</td><td class="wide">${s.connected}</td>
        <td>${(s.selfies || []).length
          ? s.selfies.map((q) => html`<span class="queue" key=${q.mascot}>${q.mascot}: ${q.waiting} waiting${q.serving >= 0 ? `, serving #${q.serving}` : ""}</span>`)
          : html`<span class="note">on another worker</span>`}</td></tr>`)}
      </tbody></table></div>
    ${stock.length > 0 && html`<div class="scroll"><table class="compact">
      <caption>Vouchers</caption>
      <thead><tr><th scope="col">Voucher</th><th scope="col" class="wide">Awarded</th><th scope="col">Left</th><th scope="col">Drop</th></tr></thead>
      <tbody>${stock.map((v) => html`<tr key=${v.entitlement}><td>${v.entitlement}</td>
        <td class="wide">${status.awarded?.[v.entitlement] ?? 0}</td><td class="nowrap">${v.left ?? "–"} / ${v.total}</td>
        <td class="nowrap"><span class=${`badge ${v.open ? "live" : "paused"}`}>${v.open ? "open" : "closed"}</span>
          <button class="small outline" disabled=${act.busy} onClick=${() => drop(v.entitlement, !v.open)}
                  aria-label=${`${v.open ? "Close" : "Open"} the ${v.entitlement} drop`}>${v.open ? "Close" : "Open"}</button></td></tr>`)}
      </tbody></table></div>`}
    <${Outcome} action=${act} />
  </article>`;
}

export function ShowPanel({ link, status, refresh }) {
  return html`<div class="grid-2">
    <div class="stack">
      <${Clock} link=${link} status=${status} refresh=${refresh} />
      <${Live} link=${link} status=${status} refresh=${refresh} />
    </div>
    <div class="stack">
      <${Cues} link=${link} status=${status} refresh=${refresh} />
      <${Announce} link=${link} />
      <${RemoveVisitor} link=${link} />
    </div>
  </div>`;
}
