// Members and invites: join requests to approve or refuse, invite codes to issue and revoke, and
// the members with their role, tier and points (change a role, expel for good).

import { html, useState, useAction, Outcome, useVisiblePoll, CommunityPicker, useChoice, when, shortWhen, Wallet } from "./ui.js";

const LISTS_EVERY_MS = 5000;

function Requests({ link, community, requests, reread }) {
  const act = useAction();
  const [reason, setReason] = useState("");
  const decide = (r, approve) => act.run(async () => {
    const message = { type: "host_decide", community, wallet: r.wallet, approve };
    if (reason.trim()) message.reason = reason.trim();
    const answer = await link.ask(message);
    reread();
    return answer;
  }, `${r.name}: ${approve ? "approved" : "refused"}`);
  return html`<article aria-labelledby="requests-title">
    <header><h2 id="requests-title">Join requests <small>(${requests.length})</small></h2></header>
    <${Outcome} action=${act} />
    ${requests.length === 0 ? html`<p class="note">No request waits.</p>` : html`
      <label for="decide-reason">Reason kept with the decision (optional)
        <input id="decide-reason" maxlength="80" value=${reason} onInput=${(e) => setReason(e.target.value)} /></label>
      <div class="scroll"><table class="compact">
        <thead><tr><th scope="col">Name</th><th scope="col">Asked</th><th scope="col">Decide</th></tr></thead>
        <tbody>${requests.map((r) => html`<tr key=${r.wallet} data-wallet=${r.wallet}><td>${r.name} <${Wallet} id=${r.wallet} /></td>
          <td>${shortWhen(r.at)}</td><td class="row">
          <button class="small" onClick=${() => decide(r, true)} disabled=${act.busy} aria-label=${`Approve ${r.name}`}>Approve</button>
          <button class="small secondary" onClick=${() => decide(r, false)} disabled=${act.busy} aria-label=${`Refuse ${r.name}`}>Refuse</button>
        </td></tr>`)}</tbody></table></div>`}
  </article>`;
}

function Invites({ link, community, invites, reread }) {
  const issue = useAction();
  const revoke = useAction();
  const [uses, setUses] = useState("");
  const [days, setDays] = useState("");
  const [code, setCode] = useState("");
  const create = (e) => {
    e.preventDefault();
    const message = { type: "host_invite", community };
    if (uses) message.max_uses = Number(uses);
    if (days) message.days = Number(days);
    issue.run(async () => { const r = await link.ask(message, ["invite"]); reread(); return r; },
      (r) => `New code ${r.code}: ${r.max_uses} use${r.max_uses === 1 ? "" : "s"}, until ${when(r.expires_at)}`);
  };
  const withdraw = (which) => revoke.run(async () => {
    const r = await link.ask({ type: "host_revoke", community, code: which });
    reread();
    return r;
  }, `Code ${which} revoked`);
  return html`<article aria-labelledby="invites-title">
    <header><h2 id="invites-title">Invites</h2></header>
    <form onSubmit=${create}>
      <div class="grid-fields">
        <label for="invite-uses">Uses <input id="invite-uses" type="number" min="1" max="100" placeholder="the limit"
               value=${uses} onInput=${(e) => setUses(e.target.value)} /></label>
        <label for="invite-days">Days valid <input id="invite-days" type="number" min="0.01" max="7" step="0.01" placeholder="the limit"
               value=${days} onInput=${(e) => setDays(e.target.value)} /></label>
      </div>
      <button type="submit" disabled=${issue.busy}>Issue an invite code</button>
    </form>
    <${Outcome} action=${issue} />
    <form class="row" onSubmit=${(e) => { e.preventDefault(); withdraw(code.trim()); }}>
      <label for="revoke-code" class="inline">Revoke code</label>
      <input id="revoke-code" maxlength="32" value=${code} onInput=${(e) => setCode(e.target.value)} />
      <button type="submit" class="secondary" disabled=${revoke.busy || !code.trim()}>Revoke</button>
    </form>
    <${Outcome} action=${revoke} />
    ${invites.length > 0 && html`<div class="scroll"><table class="compact">
      <thead><tr><th scope="col">Code</th><th scope="col">By</th><th scope="col">Used</th><th scope="col">Expires</th><th scope="col"><span class="visually-hidden">Revoke</span></th></tr></thead>
      <tbody>${invites.map((i) => html`<tr key=${i.code} data-code=${i.code}><td><code>${i.code}</code></td><td>${(i.issued_by || "host") === "host" ? "host" : html`<${Wallet} id=${i.issued_by} />`}</td>
        <td>${i.uses} / ${i.max_uses}</td><td>${i.revoked ? "revoked" : shortWhen(i.expires_at)}</td>
        <td>${!i.revoked && html`<button class="small outline" disabled=${revoke.busy} onClick=${() => withdraw(i.code)}
                                         aria-label=${`Revoke ${i.code}`}>Revoke</button>`}</td></tr>`)}</tbody></table></div>`}
  </article>`;
}

function MemberRow({ m, onRole, onExpel, busy }) {
  const [role, setRole] = useState(m.role);
  const [sure, setSure] = useState(false);
  return html`<tr data-wallet=${m.wallet}>
    <td>${m.name} <${Wallet} id=${m.wallet} /></td>
    <td><form class="row" onSubmit=${(e) => { e.preventDefault(); onRole(m, role); }}>
      <label class="visually-hidden" for=${`role-${m.wallet}`}>Role of ${m.name}</label>
      <input id=${`role-${m.wallet}`} class="role" list="roles" value=${role} onInput=${(e) => setRole(e.target.value)} />
      <button type="submit" class="small outline" disabled=${busy || role === m.role}>Set</button></form></td>
    <td>${m.tier || "–"}</td><td>${Math.round(m.points)}</td><td class="nowrap">${shortWhen(m.joined_at)}</td>
    <td>${sure
      ? html`<span class="row"><button class="small contrast" disabled=${busy} onClick=${() => { setSure(false); onExpel(m); }}>Expel for good</button>
             <button class="small secondary outline" onClick=${() => setSure(false)}>Cancel</button></span>`
      : html`<button class="small secondary outline" onClick=${() => setSure(true)} aria-label=${`Expel ${m.name}`}>Expel…</button>`}</td>
  </tr>`;
}

function Members({ link, community, members, reread }) {
  const act = useAction();
  const [filter, setFilter] = useState("");
  const roles = [...new Set(["member", ...members.map((m) => m.role)])];
  const shown = members.filter((m) => !filter || `${m.name} ${m.wallet} ${m.role} ${m.tier}`.toLowerCase().includes(filter.toLowerCase()));
  const setRole = (m, role) => act.run(async () => {
    const r = await link.ask({ type: "host_role", community, wallet: m.wallet, role }); reread(); return r;
  }, `${m.name} is now ${role}`);
  const expel = (m) => act.run(async () => {
    const r = await link.ask({ type: "host_expel", community, wallet: m.wallet }); reread(); return r;
  }, `${m.name} expelled`);
  return html`<article aria-labelledby="members-title">
    <header class="split"><h2 id="members-title">Members <small>(${members.length})</small></h2>
      <label for="member-filter" class="inline">Find <input id="member-filter" type="search" value=${filter}
             onInput=${(e) => setFilter(e.target.value)} /></label></header>
    <datalist id="roles">${roles.map((r) => html`<option key=${r} value=${r} />`)}</datalist>
    <${Outcome} action=${act} />
    <div class="scroll tall"><table class="compact">
      <thead><tr><th scope="col">Member</th><th scope="col">Role</th><th scope="col">Tier</th><th scope="col">Points</th><th scope="col">Joined</th><th scope="col"><span class="visually-hidden">Expel</span></th></tr></thead>
      <tbody>${shown.map((m) => html`<${MemberRow} key=${m.wallet} m=${m} onRole=${setRole} onExpel=${expel} busy=${act.busy} />`)}</tbody>
    </table></div>
  </article>`;
}

export function MembersPanel({ link, status }) {
  const communities = status.communities || [];
  const [community, setCommunity] = useChoice(communities.map((c) => c.community), "showroom-community");
  const [lists, setLists] = useState({ community: "", members: [], invites: [], requests: [] });
  const [error, setError] = useState("");
  const read = async () => {
    if (!community) return;
    const [m, r] = await Promise.allSettled([
      link.ask({ type: "host_members", community }, ["members"]),
      link.ask({ type: "host_requests", community }, ["requests"]),
    ]);
    const members = m.status === "fulfilled" ? m.value : {};
    const requests = r.status === "fulfilled" ? r.value : {};
    setLists({ community, members: members.members || [], invites: members.invites || [], requests: requests.requests || [] });
    setError([m, r].filter((x) => x.status === "rejected").map((x) => x.reason.message).join("; "));
  };
  useVisiblePoll(read, LISTS_EVERY_MS, [community]);
  const brief = communities.find((c) => c.community === community);
  const mine = lists.community === community ? lists : { members: [], invites: [], requests: [] };
  return html`<div class="stack">
    <div class="split">
      <${CommunityPicker} id="members-community" communities=${communities} value=${community} onChange=${setCommunity} />
      ${brief && html`<p class="meta">${brief.members} of ${brief.cap} members · joining by ${brief.entry}</p>`}
    </div>
    ${error && html`<p class="outcome error" role="alert">${error}</p>`}
    ${community && html`<div class="grid-2">
      <div class="stack">
        <${Requests} link=${link} community=${community} requests=${mine.requests} reread=${read} />
        <${Invites} link=${link} community=${community} invites=${mine.invites} reread=${read} />
      </div>
      <div class="stack"><${Members} link=${link} community=${community} members=${mine.members} reread=${read} /></div>
    </div>`}
  </div>`;
}
