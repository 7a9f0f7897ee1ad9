// Connections: health, recent pull runs, next scheduled pull, test, pull now; create and edit from
// the connector's JSON Schema (secrets write-only); backfills with live progress and cancel.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Badge, Field, Loaded, Notice, Options, PageHeading, useAction, useLoad, valueOf } from '../lib/components.js';
import { addDays, formatTime, relativeTime, STATUS_TONE, todayIn, BROWSER_TIME_ZONE } from '../lib/format.js';
import { html } from '../lib/html.js';
import { configToSend, initialValues, SchemaFields } from '../lib/schema-form.js';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const POLL_MS = 1000;

function ConnectionForm({ connectors, networks, offers, connection, onSaved, onCancel }) {
  const editing = Boolean(connection);
  const [connectorId, setConnectorId] = useState(connection?.connector ?? connectors[0]?.id ?? '');
  const connector = connectors.find((candidate) => candidate.id === connectorId);
  const schema = connector?.config_schema ?? { properties: {} };
  const [config, setConfig] = useState(() => initialValues(schema, connection?.config));
  const [fields, setFields] = useState(() => ({
    name: connection?.name ?? '',
    every_minutes: String(connection?.every_minutes ?? 60),
    lookback_days: connection?.lookback_days === null || connection?.lookback_days === undefined ? '' : String(connection.lookback_days),
    network_id: connection?.network_id ?? '',
    offer_id: connection?.offer_id ?? '',
    conversion_type: connection?.conversion_type ?? '',
    enabled: connection?.enabled ?? true,
  }));
  const action = useAction();
  const set = (name) => (event) => setFields({ ...fields, [name]: valueOf(event) });
  const chooseConnector = (event) => {
    const id = valueOf(event);
    setConnectorId(id);
    setConfig(initialValues(connectors.find((candidate) => candidate.id === id)?.config_schema ?? { properties: {} }));
  };
  const submit = (event) => {
    event.preventDefault();
    const body = {
      name: fields.name,
      config: configToSend(schema, config, editing),
      every_minutes: Number(fields.every_minutes),
      lookback_days: fields.lookback_days === '' ? null : Number(fields.lookback_days),
      network_id: fields.network_id || null,
      offer_id: fields.offer_id || null,
      conversion_type: fields.conversion_type || null,
      enabled: fields.enabled,
    };
    return action.run(async () => {
      const saved = editing
        ? await api(`/api/v1/connections/${connection.id}`, { method: 'PATCH', body })
        : await api('/api/v1/connections', { method: 'POST', body: { connector: connectorId, ...body } });
      onSaved(saved);
    });
  };
  const prefix = editing ? `edit-${connection.id}` : 'new';
  return html`<form class="panel stack" onSubmit=${submit} aria-labelledby=${`${prefix}-title`}>
    <h2 id=${`${prefix}-title`}>${editing ? `Edit ${connection.name}` : 'New connection'}</h2>
    <div class="filters">
      <${Field} id=${`${prefix}-connector`} label="Connector" hint=${connector ? `${connector.maturity === 'verified' ? 'Verified against the API' : 'Experimental'} · ${connector.kind}` : undefined}>${(props) => html`<select ...${props} value=${connectorId} disabled=${editing} onChange=${chooseConnector}>
        ${connectors.map((candidate) => html`<option value=${candidate.id}>${candidate.name}${candidate.maturity === 'experimental' ? ' (experimental)' : ''}</option>`)}</select>`}</${Field}>
      <${Field} id=${`${prefix}-name`} label="Name (required)" wide>${(props) => html`<input ...${props} required maxlength="200" value=${fields.name} onInput=${set('name')} />`}</${Field}>
    </div>
    ${connector?.maturity === 'experimental' && connector.unconfirmed?.length ? html`<${Notice} tone="warn">Experimental: not yet confirmed against the live API — ${connector.unconfirmed.join('; ')}.</${Notice}>` : null}
    ${connector ? html`<p class="muted">API documentation: <a href=${connector.documentation_url} rel="noreferrer">${connector.documentation_url}</a></p>` : null}
    <fieldset><legend class="label-text">${connector?.name ?? 'Connector'} settings</legend>
      <div class="filters"><${SchemaFields} schema=${schema} values=${config} onChange=${setConfig} editing=${editing} prefix=${prefix} /></div>
    </fieldset>
    <div class="filters">
      <${Field} id=${`${prefix}-every`} label="Pull every (minutes)">${(props) => html`<input ...${props} type="number" min="1" max="10080" required value=${fields.every_minutes} onInput=${set('every_minutes')} />`}</${Field}>
      <${Field} id=${`${prefix}-lookback`} label="Lookback (days)" hint="re-read to catch late changes; empty: the connector's default">${(props) => html`<input ...${props} type="number" min="0" max="365" value=${fields.lookback_days} onInput=${set('lookback_days')} />`}</${Field}>
      <${Field} id=${`${prefix}-network`} label="Network" hint="its currency and duplicate policy apply">${(props) => html`<select ...${props} value=${fields.network_id} onChange=${set('network_id')}><${Options} items=${networks} empty="the click's offer's network" /></select>`}</${Field}>
      <${Field} id=${`${prefix}-offer`} label="Offer" hint="prices the conversions instead of the click's offer">${(props) => html`<select ...${props} value=${fields.offer_id} onChange=${set('offer_id')}><${Options} items=${offers} empty="the click's offer" /></select>`}</${Field}>
      <${Field} id=${`${prefix}-type`} label="Conversion type" hint="for records without one">${(props) => html`<input ...${props} value=${fields.conversion_type} onInput=${set('conversion_type')} size="10" placeholder="conversion" />`}</${Field}>
      <div class="field"><label><input type="checkbox" checked=${fields.enabled} onChange=${(event) => setFields({ ...fields, enabled: event.currentTarget.checked })} /> Enabled (pulled on schedule)</label></div>
    </div>
    ${action.view}
    <div class="actions"><button type="submit" class="primary" disabled=${action.busy}>${editing ? 'Save changes' : 'Create connection'}</button><button type="button" onClick=${onCancel}>Cancel</button></div>
  </form>`;
}

function BackfillProgress({ backfill }) {
  const { done, total } = backfill.progress;
  const percent = total === 0 ? 100 : Math.floor((done * 100) / total);
  const stats = backfill.stats;
  return html`<div class="stack backfill" data-backfill=${backfill.id}>
    <div><strong>${backfill.from} → ${backfill.to}</strong> <${Badge} tone=${STATUS_TONE[backfill.status] ?? 'info'}>${backfill.status}</${Badge}></div>
    <progress max=${total || 1} value=${total === 0 ? 1 : done} aria-label=${`Backfill ${backfill.from} to ${backfill.to}`} aria-valuetext=${`${percent}%`}></progress>
    <div class="muted" aria-live="polite"><span class="backfill-percent">${percent}%</span> · ${done} of ${total} windows · fetched ${stats.fetched}, new ${stats.inserted}, updated ${stats.updated}, unchanged ${stats.unchanged}, unmatched ${stats.unmatched}, rejected ${stats.rejected}${backfill.error ? ` · ${backfill.error}` : ''}</div>
  </div>`;
}

function Backfills({ connection }) {
  const today = todayIn('UTC');
  const [range, setRange] = useState({ from: addDays(today, -6), to: today });
  const [items, setItems] = useState(null);
  const action = useAction();
  const load = async () => setItems((await api('/api/v1/backfills', { query: { connection_id: connection.id, limit: 5 } })).items);
  useEffect(() => {
    load().catch(() => setItems([]));
  }, [connection.id]);
  // Live progress: poll while any backfill is still going.
  const running = (items ?? []).filter((backfill) => !FINISHED.has(backfill.status));
  useEffect(() => {
    if (running.length === 0) return undefined;
    const timer = setTimeout(async () => {
      const fresh = await Promise.all(running.map((backfill) => api(`/api/v1/backfills/${backfill.id}`).catch(() => backfill)));
      setItems((current) => current.map((backfill) => fresh.find((candidate) => candidate.id === backfill.id) ?? backfill));
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [items]);
  const start = (event) => {
    event.preventDefault();
    return action.run(async () => {
      await api('/api/v1/backfills', { method: 'POST', body: { connection_id: connection.id, from: range.from, to: range.to } });
      await load();
    }, 'Backfill started.');
  };
  const cancel = (id) => action.run(async () => {
    await api(`/api/v1/backfills/${id}/cancel`, { method: 'POST' });
    await load();
  }, 'Backfill cancelled.');
  return html`<section aria-label=${`Backfills of ${connection.name}`}>
    <h3>Backfill</h3>
    <form class="filters" onSubmit=${start}>
      <${Field} id=${`bf-from-${connection.id}`} label="From (UTC day)">${(props) => html`<input ...${props} type="date" required value=${range.from} max=${today} onInput=${(event) => setRange({ ...range, from: valueOf(event) })} />`}</${Field}>
      <${Field} id=${`bf-to-${connection.id}`} label="To (UTC day)">${(props) => html`<input ...${props} type="date" required value=${range.to} max=${today} onInput=${(event) => setRange({ ...range, to: valueOf(event) })} />`}</${Field}>
      <div class="actions"><button type="submit" disabled=${action.busy}>Start backfill</button></div>
    </form>
    ${action.view}
    ${(items ?? []).map((backfill) => html`<div class="panel">
      <${BackfillProgress} backfill=${backfill} />
      ${FINISHED.has(backfill.status) ? null : html`<button type="button" class="danger" onClick=${() => cancel(backfill.id)}>Cancel backfill<span class="visually-hidden"> ${backfill.from} to ${backfill.to}</span></button>`}
    </div>`)}
  </section>`;
}

function Runs({ connection }) {
  const state = useLoad(() => api('/api/v1/pull-runs', { query: { connection_id: connection.id, limit: 8 } }), [connection.id, connection.updated_at]);
  return html`<details>
    <summary>Recent pulls</summary>
    <${Loaded} state=${state}>${(answer) =>
      answer.items.length === 0
        ? html`<p class="muted">No pull yet.</p>`
        : html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col">Status</th><th scope="col">Window</th><th scope="col" class="num">Fetched</th><th scope="col" class="num">New</th><th scope="col" class="num">Updated</th><th scope="col" class="num">Unchanged</th><th scope="col" class="num">Unmatched</th><th scope="col" class="num">Rejected</th></tr></thead>
            <tbody>${answer.items.map((run) => html`<tr>
              <td class="nowrap">${formatTime(run.started_at)}</td><td>${run.trigger}</td>
              <td><${Badge} tone=${STATUS_TONE[run.status] ?? 'info'}>${run.status}</${Badge}>${run.error ? html` <span class="muted">${run.error}</span>` : null}</td>
              <td class="nowrap">${run.window_from.slice(0, 16).replace('T', ' ')} → ${run.window_to.slice(0, 16).replace('T', ' ')}</td>
              <td class="num">${run.fetched}</td><td class="num">${run.inserted}</td><td class="num">${run.updated}</td><td class="num">${run.unchanged}</td><td class="num">${run.unmatched}</td><td class="num">${run.rejected}</td>
            </tr>`)}</tbody>
          </table></div>`}</${Loaded}>
  </details>`;
}

function ConnectionCard({ connection, connector, nextRun, onEdit, reload }) {
  const action = useAction();
  const test = () => action.run(() => api(`/api/v1/connections/${connection.id}/test`, { method: 'POST' }), (result) => `${result.ok ? 'Test passed' : 'Test failed'}: ${result.message}`);
  const pull = () => action.run(async () => {
    const result = await api(`/api/v1/connections/${connection.id}/pull`, { method: 'POST' });
    setTimeout(reload, 3000);
    return result;
  }, 'Pull queued; its run appears under Recent pulls.');
  const health = !connection.enabled ? html`<${Badge} tone="info">disabled</${Badge}>` : connection.healthy ? html`<${Badge} tone="ok">healthy</${Badge}>` : html`<${Badge} tone="fail">failing</${Badge}>`;
  return html`<article class="panel" id=${`c-${connection.id}`} aria-labelledby=${`c-${connection.id}-name`}>
    <div class="page-head">
      <h2 id=${`c-${connection.id}-name`}>${connection.name}</h2>
      <div class="actions">
        <button type="button" onClick=${test} disabled=${action.busy}>Test<span class="visually-hidden"> ${connection.name}</span></button>
        <button type="button" onClick=${pull} disabled=${action.busy || !connection.enabled}>Pull now<span class="visually-hidden"> ${connection.name}</span></button>
        <button type="button" onClick=${onEdit}>Edit<span class="visually-hidden"> ${connection.name}</span></button>
      </div>
    </div>
    <dl class="facts">
      <dt>Connector</dt><dd>${connector?.name ?? connection.connector} ${connector ? html`<${Badge} tone=${connector.maturity === 'verified' ? 'ok' : 'warn'}>${connector.maturity}</${Badge}>` : null}</dd>
      <dt>Health</dt><dd>${health}${connection.last_error ? html` <span>${connection.last_error}</span> <span class="muted">(${relativeTime(connection.last_error_at)})</span>` : null}</dd>
      <dt>Last success</dt><dd title=${connection.last_success_at ?? ''}>${connection.last_success_at ? `${formatTime(connection.last_success_at, BROWSER_TIME_ZONE)} (${relativeTime(connection.last_success_at)})` : 'never'}</dd>
      <dt>Schedule</dt><dd>every ${connection.every_minutes} min${connection.enabled ? html`, next ${nextRun ? html`<span title=${nextRun}>${relativeTime(nextRun)}</span>` : 'not scheduled (no worker has picked it up yet)'}` : ' (disabled)'}</dd>
      <dt>Config</dt><dd class="mono">${Object.entries(connection.config).map(([name, value]) => `${name}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join('  ')}</dd>
    </dl>
    ${connection.warnings.length > 0 ? html`<${Notice} tone="warn">${connection.warnings.join(' ')}</${Notice}>` : null}
    ${action.view}
    <${Runs} connection=${connection} />
    <${Backfills} connection=${connection} />
  </article>`;
}

export function ConnectionsPage() {
  const state = useLoad(async () => {
    const [connectors, connections, schedules, networks, offers] = await Promise.all([
      api('/api/v1/connectors'),
      api('/api/v1/connections'),
      api('/api/v1/schedules').catch(() => ({ queues: false, items: [] })),
      api('/api/v1/networks'),
      api('/api/v1/offers'),
    ]);
    return { connectors, connections, schedules, networks: networks.items, offers: offers.items };
  }, []);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const done = (connection) => {
    setEditing(null);
    setSaved(`Saved ${connection.name}.`);
    state.reload();
  };
  return html`<${PageHeading} title="Connections" lead="Network and revenue-feed APIs Tally pulls on a schedule. Credentials are encrypted and never shown again.">
      <button type="button" class="primary" onClick=${() => { setSaved(null); setEditing('new'); }}>New connection</button>
    </${PageHeading}>
    ${saved ? html`<${Notice} tone="ok">${saved}</${Notice}>` : null}
    <${Loaded} state=${state}>${({ connectors, connections, schedules, networks, offers }) => {
      const next = new Map(schedules.items.map((item) => [item.connection_id, item.next_run_at]));
      return html`
        ${!schedules.queues ? html`<${Notice} tone="warn">This server runs without queues (Redis): pulls, tests and backfills need \`tally start\` or a \`tally worker\`.</${Notice}>` : null}
        ${editing === 'new' ? html`<${ConnectionForm} connectors=${connectors} networks=${networks} offers=${offers} onSaved=${done} onCancel=${() => setEditing(null)} />` : null}
        ${connections.length === 0 && editing !== 'new' ? html`<p class="empty">No connection yet.</p>` : null}
        ${connections.map((connection) =>
          editing === connection.id
            ? html`<${ConnectionForm} key=${`edit-${connection.id}`} connectors=${connectors} networks=${networks} offers=${offers} connection=${connection} onSaved=${done} onCancel=${() => setEditing(null)} />`
            : html`<${ConnectionCard} key=${connection.id} connection=${connection} connector=${connectors.find((candidate) => candidate.id === connection.connector)} nextRun=${next.get(connection.id)} onEdit=${() => setEditing(connection.id)} reload=${state.reload} />`,
        )}`;
    }}</${Loaded}>`;
}
