// Audiences: the community's members by RFM segment (host_report), as a chart and a table, and a
// form that draws an audience (segments, lowest tier, shortest streak) and gives it an
// entitlement, invite codes in each member's name, or both (host_target).

import { html, useState, useEffect, useAction, Outcome, BarChart, CommunityPicker, useChoice, when } from "./ui.js";

const SEGMENTS = ["champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
  "at_risk", "cannot_lose", "hibernating", "lost"];
const label = (segment) => segment.replaceAll("_", " ");
const figure = (x, digits = 1) => (x === null || x === undefined ? "–" : Number(x).toFixed(digits));

function Report({ report, busy, onRead }) {
  const segments = report ? report.segments || [] : [];
  return html`<article aria-labelledby="report-title">
    <header class="split"><h2 id="report-title">Segments</h2>
      <button class="secondary" onClick=${onRead} disabled=${busy} aria-busy=${busy ? "true" : "false"}>Read again</button></header>
    ${report === null ? (busy ? html`<p aria-busy="true">Reading the members' figures…</p>` : null) : html`
      <p class="meta">${report.members} members, as of ${when(report.at)}</p>
      <${BarChart} labels=${segments.map((s) => label(s.segment))} values=${segments.map((s) => s.members)}
                   name="members" caption="Members by RFM segment" figures=${false} />
      <div class="scroll"><table class="compact">
        <thead><tr><th scope="col">Segment</th><th scope="col">Members</th><th scope="col">Share</th><th scope="col">Days since</th>
          <th scope="col">Visits</th><th scope="col">Value${report.currency ? ` (${report.currency})` : ""}</th><th scope="col">Tier</th></tr></thead>
        <tbody>${segments.map((s) => html`<tr key=${s.segment} data-segment=${s.segment}><td>${label(s.segment)}</td><td>${s.members}</td>
          <td>${Math.round(100 * (s.share || 0))} %</td><td>${figure(s.recency_days)}</td><td>${figure(s.frequency)}</td>
          <td>${figure(s.monetary, 0)}</td><td>${s.tier || "–"}</td></tr>`)}</tbody></table></div>`}
  </article>`;
}

function Target({ link, community, report }) {
  const act = useAction();
  const [segments, setSegments] = useState([]);
  const [minTier, setMinTier] = useState("");
  const [minStreak, setMinStreak] = useState("");
  const [grant, setGrant] = useState("");
  const [invites, setInvites] = useState("");
  const [result, setResult] = useState(null);
  const tiers = report ? [...new Set((report.segments || []).map((s) => s.tier).filter(Boolean))] : [];
  const toggle = (s) => setSegments((list) => (list.includes(s) ? list.filter((x) => x !== s) : [...list, s]));
  const send = (e) => {
    e.preventDefault();
    const message = { type: "host_target", community };
    if (segments.length) message.segments = segments;
    if (minTier.trim()) message.min_tier = minTier.trim();
    if (minStreak) message.min_streak = Number(minStreak);
    if (grant.trim()) message.grant = grant.trim();
    if (invites) message.invites = Number(invites);
    act.run(async () => { const r = await link.ask(message, ["targeted"]); setResult(r); return r; },
      (r) => `${r.members} member${r.members === 1 ? "" : "s"} reached${r.granted ? `, granted ${r.granted}` : ""}${r.invites?.length ? `, ${r.invites.length} invite codes` : ""}`);
  };
  return html`<article aria-labelledby="target-title">
    <header><h2 id="target-title">Reach an audience</h2></header>
    <form onSubmit=${send}>
      <fieldset class="segments"><legend>Segments (none ticked: every segment)</legend>
        ${SEGMENTS.map((s) => html`<label key=${s}><input type="checkbox" name="segment" value=${s} checked=${segments.includes(s)}
                                                          onChange=${() => toggle(s)} /> ${label(s)}</label>`)}
      </fieldset>
      <div class="grid-fields">
        <label for="target-tier">Lowest tier <input id="target-tier" list="tiers" placeholder="any" value=${minTier}
               onInput=${(e) => setMinTier(e.target.value)} /></label>
        <datalist id="tiers">${tiers.map((t) => html`<option key=${t} value=${t} />`)}</datalist>
        <label for="target-streak">Weeks of streak, at least <input id="target-streak" type="number" min="1" max="520" placeholder="any"
               value=${minStreak} onInput=${(e) => setMinStreak(e.target.value)} /></label>
        <label for="target-grant">Grant entitlement <input id="target-grant" placeholder="none"
               value=${grant} onInput=${(e) => setGrant(e.target.value)} /></label>
        <label for="target-invites">Invite code each, for <input id="target-invites" type="number" min="1" max="100" placeholder="no invites"
               value=${invites} onInput=${(e) => setInvites(e.target.value)} /></label>
      </div>
      <button type="submit" disabled=${act.busy}>Reach them</button>
    </form>
    <${Outcome} action=${act} />
    ${result && result.invites?.length > 0 && html`<div class="scroll"><table class="compact">
      <caption>Invite codes handed out</caption>
      <thead><tr><th scope="col">Member</th><th scope="col">Code</th></tr></thead>
      <tbody>${result.invites.map((i) => html`<tr key=${i.wallet}><td>${i.name} <small>${i.wallet}</small></td><td><code>${i.code}</code></td></tr>`)}</tbody>
    </table></div>`}
  </article>`;
}

export function AudiencesPanel({ link, status }) {
  const communities = status.communities || [];
  const [community, setCommunity] = useChoice(communities.map((c) => c.community), "showroom-community");
  const [report, setReport] = useState(null);
  const act = useAction();
  const read = () => act.run(async () => {
    const r = await link.ask({ type: "host_report", community }, ["report"]);
    setReport(r);
    return r;
  });
  useEffect(() => { setReport(null); if (community) read(); }, [community]);
  return html`<div class="stack">
    <div class="split"><${CommunityPicker} id="audience-community" communities=${communities} value=${community} onChange=${setCommunity} /></div>
    <${Outcome} action=${act} />
    ${community && html`<div class="grid-2">
      <div class="stack"><${Report} report=${report && report.community === community ? report : null} busy=${act.busy} onRead=${read} /></div>
      <div class="stack"><${Target} link=${link} community=${community} report=${report} /></div>
    </div>`}
  </div>`;
}
