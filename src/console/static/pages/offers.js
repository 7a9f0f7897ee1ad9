// Offers: where campaigns send traffic, and how their conversions are priced.
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Field, Loaded, Notice, Options, PageHeading, useAction, useLoad, valueOf } from '../lib/components.js';
import { formatAmount } from '../lib/decimal.js';
import { html } from '../lib/html.js';

function OfferForm({ offer, networks, onSaved, onCancel }) {
  const editing = Boolean(offer);
  const [values, setValues] = useState(() => ({
    name: offer?.name ?? '',
    url: offer?.url ?? '',
    network_id: offer?.network_id ?? '',
    payout_mode: offer?.payout_mode ?? 'auto',
    payout: offer?.payout ?? '',
    currency: offer?.currency ?? '',
  }));
  const action = useAction();
  const set = (name) => (event) => setValues({ ...values, [name]: valueOf(event) });
  const submit = (event) => {
    event.preventDefault();
    const optional = (value) => (value.trim() === '' ? (editing ? null : undefined) : value.trim());
    const body = {
      name: values.name,
      url: values.url,
      network_id: optional(values.network_id),
      payout_mode: values.payout_mode,
      payout: optional(values.payout),
      currency: optional(values.currency),
    };
    return action.run(async () => onSaved(editing ? await api(`/api/v1/offers/${offer.id}`, { method: 'PATCH', body }) : await api('/api/v1/offers', { method: 'POST', body })));
  };
  const prefix = editing ? `o-${offer.id}` : 'o-new';
  return html`<form class="panel stack" onSubmit=${submit} aria-labelledby=${`${prefix}-title`}>
    <h2 id=${`${prefix}-title`}>${editing ? `Edit ${offer.name}` : 'New offer'}</h2>
    <div class="filters">
      <${Field} id=${`${prefix}-name`} label="Name (required)" wide>${(props) => html`<input ...${props} required maxlength="200" value=${values.name} onInput=${set('name')} />`}</${Field}>
      <${Field} id=${`${prefix}-network`} label="Network">${(props) => html`<select ...${props} value=${values.network_id} onChange=${set('network_id')}><${Options} items=${networks} empty="none" /></select>`}</${Field}>
    </div>
    <${Field} id=${`${prefix}-url`} label="Offer URL (required)" hint="Where clicks go; {cf_click_id} is replaced by the click ID (pass it in the network's sub-id, e.g. ?sub1={cf_click_id})" wide>${(props) => html`<input ...${props} type="url" required value=${values.url} onInput=${set('url')} />`}</${Field}>
    <div class="filters">
      <${Field} id=${`${prefix}-mode`} label="Payout">${(props) => html`<select ...${props} value=${values.payout_mode} onChange=${set('payout_mode')}><option value="auto">as the network reports it (auto)</option><option value="manual">fixed by the offer (manual)</option></select>`}</${Field}>
      <${Field} id=${`${prefix}-payout`} label=${values.payout_mode === 'manual' ? 'Fixed payout (required)' : 'Fixed payout'} hint="a decimal such as 12.50; a change applies to new conversions only">${(props) => html`<input ...${props} inputmode="decimal" pattern="-?[0-9]+([.][0-9]{1,6})?" required=${values.payout_mode === 'manual'} size="10" value=${values.payout} onInput=${set('payout')} />`}</${Field}>
      <${Field} id=${`${prefix}-currency`} label="Currency" hint="ISO 4217">${(props) => html`<input ...${props} maxlength="3" size="5" value=${values.currency} onInput=${set('currency')} />`}</${Field}>
    </div>
    ${action.view}
    <div class="actions"><button type="submit" class="primary" disabled=${action.busy}>${editing ? 'Save changes' : 'Create offer'}</button><button type="button" onClick=${onCancel}>Cancel</button></div>
  </form>`;
}

export function OffersPage() {
  const state = useLoad(async () => {
    const [offers, networks] = await Promise.all([api('/api/v1/offers'), api('/api/v1/networks')]);
    return { offers: offers.items, networks: networks.items };
  }, []);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const done = (offer) => {
    setEditing(null);
    setSaved(`Saved ${offer.name}.`);
    state.reload();
  };
  return html`<${PageHeading} title="Offers" lead="Offers campaigns send traffic to. Manual payout fixes what a conversion is worth; auto takes what the network reports.">
      <button type="button" class="primary" onClick=${() => { setSaved(null); setEditing('new'); }}>New offer</button>
    </${PageHeading}>
    ${saved ? html`<${Notice} tone="ok">${saved}</${Notice}>` : null}
    <${Loaded} state=${state}>${({ offers, networks }) => html`
      ${editing === 'new' ? html`<${OfferForm} networks=${networks} onSaved=${done} onCancel=${() => setEditing(null)} />` : null}
      ${editing && editing !== 'new' ? html`<${OfferForm} key=${editing} offer=${offers.find((offer) => offer.id === editing)} networks=${networks} onSaved=${done} onCancel=${() => setEditing(null)} />` : null}
      ${offers.length === 0 ? html`<p class="empty">No offer yet.</p>` : html`<div class="table-wrap"><table>
        <caption class="visually-hidden">Offers</caption>
        <thead><tr><th scope="col">Name</th><th scope="col">Network</th><th scope="col">Payout</th><th scope="col">URL</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>${offers.map((offer) => html`<tr>
          <td>${offer.name}</td>
          <td>${networks.find((network) => network.id === offer.network_id)?.name ?? '—'}</td>
          <td>${offer.payout_mode === 'manual' ? `${formatAmount(offer.payout)} ${offer.currency ?? ''} (fixed)` : `reported${offer.currency ? `, ${offer.currency}` : ''}`}</td>
          <td class="mono">${offer.url}</td>
          <td><button type="button" onClick=${() => { setSaved(null); setEditing(offer.id); }}>Edit<span class="visually-hidden"> ${offer.name}</span></button></td>
        </tr>`)}</tbody>
      </table></div>`}`}</${Loaded}>`;
}
