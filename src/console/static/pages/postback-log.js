// Postback log: every attempt from every route; each opens to its raw request, client IP,
// warnings, the reason in plain words with the fix, and — for a rejection whose cause the
// operator fixed — "Register again".
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Badge, Field, Loaded, Notice, Options, PageHeading, useAction, useLoad, valueOf } from '../lib/components.js';
import { formatTime, isoToLocalInput, localInputToIso, OUTCOME_TONE, ROUTE_NAMES } from '../lib/format.js';
import { html } from '../lib/html.js';
import { Link, setQuery } from '../lib/router.js';

const FILTERS = ['outcome', 'reason', 'source', 'network_id', 'click_id', 'txid', 'from', 'to'];
const REASONS = [
  'unknown_click_id', 'ip_not_allowed', 'invalid_token', 'route_not_allowed', 'unreplaced_macro', 'missing_click_id', 'invalid_click_id', 'invalid_payout',
  'invalid_currency', 'invalid_txid', 'invalid_conversion_type', 'invalid_status', 'invalid_timestamp', 'invalid_characters', 'storage_error', 'invalid_csv_line',
  'line_too_long', 'unchanged', 'duplicate_policy', 'changed', 'adopted',
];

function Filters({ query, networks }) {
  const [draft, setDraft] = useState(() => Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ''])));
  const set = (name) => (event) => setDraft({ ...draft, [name]: valueOf(event) });
  const submit = (event) => {
    event.preventDefault();
    setQuery(draft);
  };
  return html`<form class="filters" onSubmit=${submit} aria-label="Filter the postback log">
    <${Field} label="Outcome">${(props) => html`<select ...${props} value=${draft.outcome} onChange=${set('outcome')}>
      <option value="">any</option>${['accepted', 'updated', 'duplicate', 'rejected'].map((outcome) => html`<option value=${outcome}>${outcome}</option>`)}</select>`}</${Field}>
    <${Field} label="Reason">${(props) => html`<input ...${props} list="log-reasons" value=${draft.reason} onInput=${set('reason')} size="16" />
      <datalist id="log-reasons">${REASONS.map((reason) => html`<option value=${reason} />`)}</datalist>`}</${Field}>
    <${Field} label="Route">${(props) => html`<select ...${props} value=${draft.source} onChange=${set('source')}>
      <option value="">any</option>${Object.entries(ROUTE_NAMES).map(([value, name]) => html`<option value=${value}>${name}</option>`)}</select>`}</${Field}>
    <${Field} label="Network">${(props) => html`<select ...${props} value=${draft.network_id} onChange=${set('network_id')}><${Options} items=${networks} empty="any" /></select>`}</${Field}>
    <${Field} label="Click ID">${(props) => html`<input ...${props} value=${draft.click_id} onInput=${set('click_id')} size="26" />`}</${Field}>
    <${Field} label="Txid">${(props) => html`<input ...${props} value=${draft.txid} onInput=${set('txid')} size="14" />`}</${Field}>
    <${Field} label="Received from">${(props) => html`<input ...${props} type="datetime-local" value=${isoToLocalInput(draft.from)} onInput=${(event) => setDraft({ ...draft, from: localInputToIso(valueOf(event)) ?? '' })} />`}</${Field}>
    <${Field} label="Received before">${(props) => html`<input ...${props} type="datetime-local" value=${isoToLocalInput(draft.to)} onInput=${(event) => setDraft({ ...draft, to: localInputToIso(valueOf(event)) ?? '' })} />`}</${Field}>
    <div class="actions"><button type="submit" class="primary">Filter</button><button type="button" onClick=${() => { setDraft(Object.fromEntries(FILTERS.map((name) => [name, '']))); setQuery({}); }}>Clear</button></div>
  </form>`;
}

function RegisterAgain({ attempt, onDone }) {
  const action = useAction();
  const [result, setResult] = useState(null);
  const run = () =>
    action.run(async () => {
      const answer = await api(`/api/v1/postback-log/${attempt.id}/retry`, { method: 'POST' });
      setResult(answer);
      onDone();
      return answer;
    });
  if (result) {
    const tone = result.outcome.status === 'rejected' ? 'fail' : 'ok';
    return html`<${Notice} tone=${tone}>Registered again: <strong>${result.outcome.status}</strong>${result.outcome.reason ? ` (${result.outcome.reason})` : ''}. ${result.outcome.message ?? ''}
      ${result.logged_as
        ? html` See attempt <${Link} href=${`/console/log?click_id=${encodeURIComponent(attempt.click_id ?? '')}`}>#${result.logged_as}</${Link}>.`
        : ' Nothing new was logged: this attempt stays as it is and can be registered again once the cause is fixed.'}</${Notice}>`;
  }
  return html`<div class="stack">
    <p>Fixed the cause (imported the click, corrected the network's IP list, token or routes)? Tally registers this attempt again with what it proved at receipt — its fields, route, client IP and token — judged by the network's current settings. An attempt is registered again only once.</p>
    <button type="button" class="primary" disabled=${action.busy} onClick=${run}>Register again</button>
    ${action.view}
  </div>`;
}

function AttemptDetails({ id, reload }) {
  const state = useLoad(() => api(`/api/v1/postback-log/${id}`), [id]);
  return html`<${Loaded} state=${state}>${(attempt) => html`<div class="grid two">
    <div>
      ${attempt.guide ? html`<h3>${attempt.guide.title}</h3>` : null}
      ${attempt.message ? html`<p>${attempt.message}</p>` : null}
      ${attempt.guide && attempt.outcome === 'rejected' ? html`<p><strong>How to fix:</strong> ${attempt.guide.fix}</p>` : null}
      <dl class="facts">
        <dt>Attempt</dt><dd>#${attempt.id}${attempt.rematch_of ? html` (registers #${attempt.rematch_of} again)` : null}</dd>
        <dt>Received</dt><dd>${formatTime(attempt.received_at)}${attempt.times_seen > 1 ? ` · seen ${attempt.times_seen} times, last ${formatTime(attempt.last_seen_at)}` : ''}</dd>
        <dt>Route</dt><dd>${ROUTE_NAMES[attempt.source] ?? attempt.source}</dd>
        <dt>Client IP</dt><dd class="mono">${attempt.client_ip ?? '—'}</dd>
        <dt>Warnings</dt><dd>${attempt.warnings?.length ? html`<ul>${attempt.warnings.map((warning) => html`<li>${warning}</li>`)}</ul>` : 'none'}</dd>
        ${attempt.conversion_id ? html`<dt>Conversion</dt><dd><${Link} href=${`/console/conversions?click_id=${encodeURIComponent(attempt.click_id ?? '')}`}>#${attempt.conversion_id}</${Link}></dd>` : null}
        ${attempt.registered_again_as ? html`<dt>Registered again</dt><dd>as attempt #${attempt.registered_again_as}</dd>` : null}
      </dl>
      <div class="actions">
        ${attempt.click_id ? html`<${Link} class="button" href=${`/console/explain?click_id=${encodeURIComponent(attempt.click_id)}`}>Explain this click</${Link}>` : null}
      </div>
      ${attempt.outcome === 'rejected'
        ? attempt.can_register_again
          ? html`<h3>Register again</h3><${RegisterAgain} attempt=${attempt} onDone=${reload} />`
          : html`<p class="muted">${attempt.register_again_refusal}</p>`
        : null}
    </div>
    <div>
      <h3>Raw request</h3>
      <pre aria-label="Raw request">${JSON.stringify(attempt.request, null, 2)}</pre>
    </div>
  </div>`}</${Loaded}>`;
}

function LogRow({ item, networks, open, toggle, reload }) {
  const detailsId = `attempt-${item.id}`;
  const network = networks.find((candidate) => candidate.id === item.network_id);
  return html`<tr>
      <td class="nowrap"><button type="button" class="link-button" aria-expanded=${open ? 'true' : 'false'} aria-controls=${detailsId} onClick=${toggle}>${open ? 'Hide' : 'Open'}<span class="visually-hidden"> attempt ${item.id}</span></button></td>
      <td class="nowrap">${formatTime(item.received_at)}</td>
      <td>${ROUTE_NAMES[item.source] ?? item.source}</td>
      <td><${Badge} tone=${OUTCOME_TONE[item.outcome] ?? 'info'}>${item.outcome}</${Badge}></td>
      <td>${item.reason ?? ''}</td>
      <td class="mono">${item.click_id ?? '—'}</td>
      <td class="mono">${item.txid ?? ''}</td>
      <td>${network?.name ?? ''}</td>
      <td class="mono">${item.client_ip ?? ''}</td>
      <td class="num">${item.times_seen}</td>
    </tr>
    ${open ? html`<tr class="details-row" id=${detailsId}><td colspan="10"><${AttemptDetails} id=${item.id} reload=${reload} /></td></tr>` : null}`;
}

export function PostbackLogPage({ query }) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? undefined]));
  const key = JSON.stringify(filters);
  const networks = useLoad(() => api('/api/v1/networks').then((answer) => answer.items), []);
  const [pages, setPages] = useState({ key: null, items: [], cursor: null });
  const [open, setOpen] = useState(new Set());
  const first = useLoad(async () => {
    const answer = await api('/api/v1/postback-log', { query: { ...filters, limit: 50 } });
    setPages({ key, items: answer.items, cursor: answer.next_cursor });
    return answer;
  }, [key]);
  const more = useAction();
  const loadMore = () =>
    more.run(async () => {
      const answer = await api('/api/v1/postback-log', { query: { ...filters, limit: 50, cursor: pages.cursor } });
      setPages({ key, items: [...pages.items, ...answer.items], cursor: answer.next_cursor });
    });
  const toggle = (id) => () => {
    const next = new Set(open);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setOpen(next);
  };
  return html`<${PageHeading} title="Postback log" lead="Every attempt to register a conversion, from every route, newest first — accepted or not. Open a row for its raw request and what to do about it." />
    <${Filters} query=${query} networks=${networks.data ?? []} key=${key} />
    <${Loaded} state=${first}>${() => html`
      <div class="table-wrap"><table aria-describedby="log-count">
        <caption class="visually-hidden">Registration attempts</caption>
        <thead><tr><th scope="col"><span class="visually-hidden">Details</span></th><th scope="col">Received</th><th scope="col">Route</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Click ID</th><th scope="col">Txid</th><th scope="col">Network</th><th scope="col">Client IP</th><th scope="col" class="num">Seen</th></tr></thead>
        <tbody>${pages.items.map((item) => html`<${LogRow} key=${item.id} item=${item} networks=${networks.data ?? []} open=${open.has(item.id)} toggle=${toggle(item.id)} reload=${first.reload} />`)}</tbody>
      </table></div>
      <p id="log-count" class="muted" role="status">${pages.items.length === 0 ? 'No attempt matches these filters.' : `${pages.items.length} attempt${pages.items.length === 1 ? '' : 's'} shown${pages.cursor ? '; more are older' : ''}.`}</p>
      ${pages.cursor ? html`<button type="button" onClick=${loadMore} disabled=${more.busy}>Load older attempts</button>` : null}
      ${more.view}
    `}</${Loaded}>`;
}
