// Conversions: filter, page through, export the filtered set as CSV.
import { useState } from 'preact/hooks';
import { api, queryString } from '../lib/api.js';
import { Badge, Field, Loaded, Options, PageHeading, useLoad, valueOf } from '../lib/components.js';
import { formatAmount } from '../lib/decimal.js';
import { addDays, formatTime, ROUTE_NAMES, STATUS_TONE } from '../lib/format.js';
import { html } from '../lib/html.js';
import { Link, setQuery } from '../lib/router.js';

const FILTERS = ['from', 'to', 'status', 'source', 'type', 'click_id', 'txid', 'campaign_id', 'offer_id', 'network_id'];
const PAGE_SIZE = 50;

/** The API's filters from the page's query: dates become the start of that day in the browser's time. */
function apiFilters(query) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? undefined]));
  if (filters.from) filters.from = new Date(`${filters.from}T00:00:00`).toISOString();
  if (filters.to) filters.to = new Date(`${addDays(filters.to, 1)}T00:00:00`).toISOString();
  return filters;
}

function Filters({ query, catalog }) {
  const [draft, setDraft] = useState(() => Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? ''])));
  const set = (name) => (event) => setDraft({ ...draft, [name]: valueOf(event) });
  return html`<form class="filters" aria-label="Filter conversions" onSubmit=${(event) => { event.preventDefault(); setQuery(draft); }}>
    <${Field} label="From (day)">${(props) => html`<input ...${props} type="date" value=${draft.from} onInput=${set('from')} />`}</${Field}>
    <${Field} label="To (day)">${(props) => html`<input ...${props} type="date" value=${draft.to} onInput=${set('to')} />`}</${Field}>
    <${Field} label="Status">${(props) => html`<select ...${props} value=${draft.status} onChange=${set('status')}><option value="">any</option><option>approved</option><option>pending</option><option>declined</option></select>`}</${Field}>
    <${Field} label="Route">${(props) => html`<select ...${props} value=${draft.source} onChange=${set('source')}><option value="">any</option>${Object.entries(ROUTE_NAMES).map(([value, name]) => html`<option value=${value}>${name}</option>`)}</select>`}</${Field}>
    <${Field} label="Type">${(props) => html`<input ...${props} value=${draft.type} onInput=${set('type')} size="10" />`}</${Field}>
    <${Field} label="Click ID">${(props) => html`<input ...${props} value=${draft.click_id} onInput=${set('click_id')} size="26" />`}</${Field}>
    <${Field} label="Txid">${(props) => html`<input ...${props} value=${draft.txid} onInput=${set('txid')} size="14" />`}</${Field}>
    <${Field} label="Campaign">${(props) => html`<select ...${props} value=${draft.campaign_id} onChange=${set('campaign_id')}><${Options} items=${catalog.campaigns} empty="any" /></select>`}</${Field}>
    <${Field} label="Offer">${(props) => html`<select ...${props} value=${draft.offer_id} onChange=${set('offer_id')}><${Options} items=${catalog.offers} empty="any" /></select>`}</${Field}>
    <${Field} label="Network">${(props) => html`<select ...${props} value=${draft.network_id} onChange=${set('network_id')}><${Options} items=${catalog.networks} empty="any" /></select>`}</${Field}>
    <div class="actions"><button type="submit" class="primary">Filter</button><button type="button" onClick=${() => { setDraft(Object.fromEntries(FILTERS.map((name) => [name, '']))); setQuery({}); }}>Clear</button></div>
  </form>`;
}

export function ConversionsPage({ query }) {
  const filters = apiFilters(query);
  const key = JSON.stringify(filters);
  const catalog = useLoad(async () => {
    const [campaigns, offers, networks] = await Promise.all([api('/api/v1/campaigns'), api('/api/v1/offers'), api('/api/v1/networks')]);
    return { campaigns: campaigns.items, offers: offers.items, networks: networks.items };
  }, []);
  // Cursor paging: the cursors of the pages before this one, to go back.
  const [cursors, setCursors] = useState({ key, stack: [] });
  const stack = cursors.key === key ? cursors.stack : [];
  const cursor = stack[stack.length - 1];
  const page = useLoad(() => api('/api/v1/conversions', { query: { ...filters, limit: PAGE_SIZE, cursor } }), [key, cursor]);
  const names = (items, id) => (items ?? []).find((item) => item.id === id)?.name ?? '';
  const exportHref = `/api/v1/conversions/export${queryString(filters)}`;
  return html`<${PageHeading} title="Conversions" lead="Every registered conversion, newest first. Payouts are in the conversion's currency; the display amount is in the reporting currency at the rate of its day.">
      <a class="button" href=${exportHref} download>Export CSV</a>
    </${PageHeading}>
    <${Filters} query=${query} catalog=${catalog.data ?? {}} key=${key} />
    <${Loaded} state=${page}>${(answer) => html`
      <div class="table-wrap"><table>
        <caption class="visually-hidden">Conversions</caption>
        <thead><tr><th scope="col">Time</th><th scope="col">Click ID</th><th scope="col">Txid</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col" class="num">Payout</th><th scope="col" class="num">Display</th><th scope="col">Route</th><th scope="col">Campaign</th><th scope="col">Offer</th></tr></thead>
        <tbody>${answer.items.map((conversion) => html`<tr>
          <td class="nowrap" title=${`visit ${conversion.visit_at}`}>${formatTime(conversion.occurred_at)}</td>
          <td class="mono"><${Link} href=${`/console/log?click_id=${encodeURIComponent(conversion.click_id)}`} title="Postback log of this click">${conversion.click_id}</${Link}></td>
          <td class="mono">${conversion.txid ?? ''}</td>
          <td>${conversion.type}</td>
          <td><${Badge} tone=${STATUS_TONE[conversion.status] ?? 'info'}>${conversion.status}</${Badge}>${conversion.network_status ? html` <span class="muted">${conversion.network_status}</span>` : null}</td>
          <td class="num nowrap">${formatAmount(conversion.payout)} ${conversion.currency}</td>
          <td class="num nowrap">${conversion.display_payout === null ? '—' : `${formatAmount(conversion.display_payout)} ${conversion.display_currency}`}</td>
          <td>${ROUTE_NAMES[conversion.source] ?? conversion.source}</td>
          <td>${names(catalog.data?.campaigns, conversion.campaign_id)}</td>
          <td>${names(catalog.data?.offers, conversion.offer_id)}</td>
        </tr>`)}</tbody>
      </table></div>
      <p class="muted" role="status">${answer.items.length === 0 ? 'No conversion matches these filters.' : `Page ${stack.length + 1}: ${answer.items.length} conversions.`}</p>
      <div class="actions">
        <button type="button" disabled=${stack.length === 0} onClick=${() => setCursors({ key, stack: stack.slice(0, -1) })}>Newer</button>
        <button type="button" disabled=${!answer.next_cursor} onClick=${() => setCursors({ key, stack: [...stack, answer.next_cursor] })}>Older</button>
      </div>`}</${Loaded}>`;
}
