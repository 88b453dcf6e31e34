// Polls: start one (question, options, live or at close, how long, for whom), watch the open ones'
// counts arrive (the status carries them once a second; hosts see counts of "at close" polls too),
// close them, and keep the final results of those closed from this page.

import { html, useState, useAction, Outcome, BarChart, when } from "./ui.js";

function StartPoll({ link, status, refresh }) {
  const act = useAction();
  const [question, setQuestion] = useState("");
  const [options, setOptions] = useState("");
  const [results, setResults] = useState("live");
  const [minutes, setMinutes] = useState("");
  const [community, setCommunity] = useState("");
  const communities = status.communities || [];
  const start = (e) => {
    e.preventDefault();
    const message = {
      type: "host_poll", question: question.trim(),
      options: options.split("\n").map((o) => o.trim()).filter(Boolean), results,
    };
    if (minutes.trim()) message.seconds = Number(minutes) * 60;
    if (community) message.community = community;
    act.run(async () => {
      const r = await link.ask(message, ["poll"]);
      setQuestion(""); setOptions("");
      refresh();
      return r;
    }, (r) => `Poll open: ${r.question}`);
  };
  return html`<article aria-labelledby="start-poll-title">
    <header><h2 id="start-poll-title">Start a poll</h2></header>
    <form onSubmit=${start}>
      <label for="poll-question">Question
        <input id="poll-question" maxlength="200" required value=${question} onInput=${(e) => setQuestion(e.target.value)} /></label>
      <label for="poll-options">Options, one per line (2 to 10)
        <textarea id="poll-options" rows="4" required value=${options} onInput=${(e) => setOptions(e.target.value)}></textarea></label>
      <div class="grid-fields">
        <label for="poll-results">Results
          <select id="poll-results" value=${results} onChange=${(e) => setResults(e.target.value)}>
            <option value="live">live</option>
            <option value="on_close">when it closes</option>
          </select></label>
        <label for="poll-minutes">Closes after (minutes)
          <input id="poll-minutes" type="number" min="0.1" step="0.1" placeholder="when I close it" value=${minutes}
                 onInput=${(e) => setMinutes(e.target.value)} /></label>
        <label for="poll-community">Who may answer
          <select id="poll-community" value=${community} onChange=${(e) => setCommunity(e.target.value)}>
            <option value="">everyone</option>
            ${communities.map((c) => html`<option key=${c.community} value=${c.community}>${c.name || c.community} members</option>`)}
          </select></label>
      </div>
      <button type="submit" disabled=${act.busy}>Start poll</button>
    </form>
    <${Outcome} action=${act} />
  </article>`;
}

function PollCard({ poll, counts, final, onClose, busy }) {
  const total = counts.reduce((a, b) => a + b, 0);
  return html`<article class="poll" data-poll=${poll.poll} aria-label=${`Poll: ${poll.question}`}>
    <header>
      <h3>${poll.question}</h3>
      <p class="meta">${final ? "closed" : "open"} · ${total} answer${total === 1 ? "" : "s"} ·
        results ${poll.results === "live" ? "live" : "at close"}${poll.community ? ` · members of ${poll.community}` : ""}
        ${!final && poll.closes_at ? ` · closes ${when(poll.closes_at)}` : ""}</p>
    </header>
    <${BarChart} labels=${poll.options} values=${counts} name="answers" caption=${poll.question} />
    ${onClose && html`<button class="secondary" onClick=${onClose} disabled=${busy}>Close poll</button>`}
  </article>`;
}

export function PollsPanel({ link, status, refresh }) {
  const act = useAction();
  const [closed, setClosed] = useState([]);
  const open = status.polls || [];
  const close = (poll) => act.run(async () => {
    const r = await link.ask({ type: "host_poll_close", poll: poll.poll }, ["poll"]);
    setClosed((c) => [{ ...r, counts: r.counts || poll.counts || [] }, ...c.filter((p) => p.poll !== r.poll)].slice(0, 10));
    refresh();
    return r;
  }, (r) => `Closed: ${r.question}`);
  return html`<div class="grid-2">
    <div class="stack">
      <section aria-labelledby="open-polls-title">
        <h2 id="open-polls-title">Open polls</h2>
        <${Outcome} action=${act} />
        ${open.length === 0 && html`<p class="note">No poll is open.</p>`}
        ${open.map((p) => html`<${PollCard} key=${p.poll} poll=${p} counts=${p.counts || p.options.map(() => 0)}
                                             onClose=${() => close(p)} busy=${act.busy} />`)}
      </section>
      ${closed.length > 0 && html`<section aria-labelledby="closed-polls-title">
        <h2 id="closed-polls-title">Closed from this page</h2>
        ${closed.map((p) => html`<${PollCard} key=${p.poll} poll=${p} counts=${p.counts} final=${true} />`)}
      </section>`}
    </div>
    <div class="stack"><${StartPoll} link=${link} status=${status} refresh=${refresh} /></div>
  </div>`;
}
