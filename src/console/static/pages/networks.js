// Networks: who reports conversions and what Tally trusts from them; each network's postback URL
// ready to copy.
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Badge, CopyField, Field, Loaded, Notice, PageHeading, useAction, useLoad, valueOf } from '../lib/components.js';
import { html } from '../lib/html.js';

const ROUTES = [
  ['postback', 'S2S postback'],
  ['pixel', 'Image pixel'],
  ['script', 'Conversion script'],
];

/** The plain postback URL: the network replaces the {…} placeholders with its own macros. */
function plainPostbackUrl(base, network) {
  return `${base}/cf/cv?click_id={click_id}&payout={payout}&txid={transaction_id}${network.has_postback_token ? '&token=<postback token>' : ''}`;
}

function PostbackUrls({ network, base }) {
  // The templates endpoint gives each platform's own macros (and the real token); until a server
  // has it, the plain URL shows the parameters Tally reads.
  const templates = useLoad(() => api('/api/v1/networks/templates', { query: { network_id: network.id } }).catch((error) => (error.status === 404 ? null : Promise.reject(error))), [network.id]);
  return html`<div class="stack">
    ${templates.data && Array.isArray(templates.data) && templates.data.length > 0
      ? html`<details><summary>Postback URL for each network platform</summary>
          ${templates.data.map((template) => html`${template.postback_url
              ? html`<${CopyField} label=${`Postback URL · ${template.network}${template.platform && template.platform !== template.network ? ` (${template.platform})` : ''}`} value=${template.postback_url} />`
              : html`<h3>${template.network}</h3><p class="hint">No postback for publishers.</p>`}
            <p class="hint">Offer URL: add <code>${template.offer_url_parameter}</code>. ${template.notes ?? ''}</p>`)}
        </details>`
      : null}
    <${CopyField} label=${`Postback URL for ${network.name}`} value=${plainPostbackUrl(base, network)} />
    <p class="hint">Replace the <code>{…}</code> placeholders with the network's own macros (its click/sub-id macro for click_id: the sub-id the offer URL filled with <code>{cf_click_id}</code>)${network.has_postback_token ? ', and <postback token> with the token you set' : ''}.${templates.data === null ? ' Per-platform templates: GET /api/v1/networks/templates (not on this server yet).' : ''}</p>
  </div>`;
}

function NetworkForm({ network, onSaved, onCancel }) {
  const editing = Boolean(network);
  const [values, setValues] = useState(() => ({
    name: network?.name ?? '',
    currency: network?.currency ?? '',
    duplicate_policy: network?.duplicate_policy ?? 'ignore',
    postback_ips: (network?.postback_ips ?? []).join('\n'),
    token: '',
    remove_token: false,
    routes_default: network ? network.accepted_routes_default : true,
    routes: new Set(network?.accepted_routes ?? ['postback']),
  }));
  const action = useAction();
  const set = (name) => (event) => setValues({ ...values, [name]: valueOf(event) });
  const toggleRoute = (route) => {
    const routes = new Set(values.routes);
    if (routes.has(route)) routes.delete(route);
    else routes.add(route);
    setValues({ ...values, routes });
  };
  const submit = (event) => {
    event.preventDefault();
    const ips = values.postback_ips.split(/[\s,]+/).map((ip) => ip.trim()).filter(Boolean);
    const body = {
      name: values.name,
      currency: values.currency.trim() === '' ? (editing ? null : undefined) : values.currency.trim(),
      duplicate_policy: values.duplicate_policy,
      postback_ips: ips.length > 0 ? ips : editing ? null : undefined,
      accepted_routes: values.routes_default ? (editing ? null : undefined) : [...values.routes],
      ...(values.token.trim() ? { postback_token: values.token.trim() } : values.remove_token ? { postback_token: null } : {}),
    };
    return action.run(async () => onSaved(editing ? await api(`/api/v1/networks/${network.id}`, { method: 'PATCH', body }) : await api('/api/v1/networks', { method: 'POST', body })));
  };
  const prefix = editing ? `n-${network.id}` : 'n-new';
  return html`<form class="panel stack" onSubmit=${submit} aria-labelledby=${`${prefix}-title`}>
    <h2 id=${`${prefix}-title`}>${editing ? `Edit ${network.name}` : 'New network'}</h2>
    <div class="filters">
      <${Field} id=${`${prefix}-name`} label="Name (required)" wide>${(props) => html`<input ...${props} required maxlength="200" value=${values.name} onInput=${set('name')} />`}</${Field}>
      <${Field} id=${`${prefix}-currency`} label="Currency" hint="ISO 4217, e.g. USD">${(props) => html`<input ...${props} maxlength="3" size="5" value=${values.currency} onInput=${set('currency')} />`}</${Field}>
      <${Field} id=${`${prefix}-policy`} label="Duplicates without txid">${(props) => html`<select ...${props} value=${values.duplicate_policy} onChange=${set('duplicate_policy')}>
        <option value="ignore">ignore: one per click and type</option><option value="accept">accept: each counts</option><option value="update">update: the latest wins</option></select>`}</${Field}>
    </div>
    <${Field} id=${`${prefix}-ips`} label="Postback IPs" hint="One address or CIDR per line; S2S postbacks must come from these. Empty: any address." wide>${(props) => html`<textarea ...${props} rows="3" value=${values.postback_ips} onInput=${set('postback_ips')}></textarea>`}</${Field}>
    <div class="filters">
      <${Field} id=${`${prefix}-token`} label=${editing && network.has_postback_token ? 'New postback token' : 'Postback token'} hint=${`At least 16 letters, digits or . _ ~ -; S2S postbacks must carry token=<it>. Stored encrypted, never shown again.${editing && network.has_postback_token ? ' The current one stays valid for 7 days.' : ''}`} wide>${(props) => html`<input ...${props} type="password" autocomplete="new-password" minlength="16" maxlength="200" pattern="[A-Za-z0-9._~\\-]+" value=${values.token} onInput=${set('token')} />`}</${Field}>
      ${editing && network.has_postback_token ? html`<div class="field"><label><input type="checkbox" checked=${values.remove_token} onChange=${(event) => setValues({ ...values, remove_token: event.currentTarget.checked })} /> Remove the token</label></div>` : null}
    </div>
    <fieldset>
      <legend class="label-text">Accepted routes</legend>
      <div class="checks">
        <label><input type="radio" name=${`${prefix}-routes`} checked=${values.routes_default} onChange=${() => setValues({ ...values, routes_default: true })} /> Default (all three without token or IP list, else S2S only)</label>
        <label><input type="radio" name=${`${prefix}-routes`} checked=${!values.routes_default} onChange=${() => setValues({ ...values, routes_default: false })} /> Only these:</label>
        ${ROUTES.map(([route, name]) => html`<label><input type="checkbox" disabled=${values.routes_default} checked=${values.routes.has(route)} onChange=${() => toggleRoute(route)} /> ${name}</label>`)}
      </div>
      <p class="hint">Browser routes (pixel, script) cannot carry a secret: anyone who knows a click ID could register a conversion.</p>
    </fieldset>
    ${action.view}
    <div class="actions"><button type="submit" class="primary" disabled=${action.busy}>${editing ? 'Save changes' : 'Create network'}</button><button type="button" onClick=${onCancel}>Cancel</button></div>
  </form>`;
}

export function NetworksPage({ settings }) {
  const state = useLoad(() => api('/api/v1/networks'), []);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const done = (network) => {
    setEditing(null);
    setSaved(`Saved ${network.name}.`);
    state.reload();
  };
  return html`<${PageHeading} title="Networks" lead="Affiliate networks that report conversions, with the currency, duplicate policy and trust settings Tally applies to their clicks.">
      <button type="button" class="primary" onClick=${() => { setSaved(null); setEditing('new'); }}>New network</button>
    </${PageHeading}>
    ${saved ? html`<${Notice} tone="ok">${saved}</${Notice}>` : null}
    ${editing === 'new' ? html`<${NetworkForm} onSaved=${done} onCancel=${() => setEditing(null)} />` : null}
    <${Loaded} state=${state}>${(answer) => html`
      ${answer.items.length === 0 ? html`<p class="empty">No network yet.</p>` : null}
      ${answer.items.map((network) =>
        editing === network.id
          ? html`<${NetworkForm} key=${`edit-${network.id}`} network=${network} onSaved=${done} onCancel=${() => setEditing(null)} />`
          : html`<article class="panel" key=${network.id} aria-labelledby=${`n-${network.id}-name`}>
              <div class="page-head"><h2 id=${`n-${network.id}-name`}>${network.name}</h2>
                <div class="actions"><button type="button" onClick=${() => { setSaved(null); setEditing(network.id); }}>Edit<span class="visually-hidden"> ${network.name}</span></button></div></div>
              <dl class="facts">
                <dt>Currency</dt><dd>${network.currency ?? 'offer or account default'}</dd>
                <dt>Duplicates without txid</dt><dd>${network.duplicate_policy}</dd>
                <dt>Postback token</dt><dd>${network.has_postback_token ? html`<${Badge} tone="ok">set</${Badge}>${network.previous_token_expires_at ? ` (the previous one is valid until ${network.previous_token_expires_at})` : ''}` : html`<${Badge} tone="warn">none</${Badge}>`}</dd>
                <dt>Postback IPs</dt><dd class="mono">${network.postback_ips?.join(', ') || 'any address'}</dd>
                <dt>Accepted routes</dt><dd>${network.accepted_routes.join(', ')}${network.accepted_routes_default ? ' (default)' : ''} ${network.forgeable ? html`<${Badge} tone="warn">forgeable</${Badge}>` : null}</dd>
                <dt>Id</dt><dd class="mono">${network.id}</dd>
              </dl>
              ${network.warnings.map((warning) => html`<${Notice} tone="warn">${warning}</${Notice}>`)}
              <${PostbackUrls} network=${network} base=${settings.publicBase} />
            </article>`,
      )}`}</${Loaded}>`;
}
