// Campaigns: the click URL to put in the traffic source, ready to copy.
import { useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { CopyField, Field, Loaded, Notice, Options, PageHeading, useAction, useLoad, valueOf } from '../lib/components.js';
import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';

function CampaignForm({ campaign, offers, onSaved, onCancel }) {
  const editing = Boolean(campaign);
  const [values, setValues] = useState({ name: campaign?.name ?? '', offer_id: campaign?.offer_id ?? offers[0]?.id ?? '' });
  const action = useAction();
  const submit = (event) => {
    event.preventDefault();
    return action.run(async () => onSaved(editing ? await api(`/api/v1/campaigns/${campaign.id}`, { method: 'PATCH', body: values }) : await api('/api/v1/campaigns', { method: 'POST', body: values })));
  };
  const prefix = editing ? `ca-${campaign.id}` : 'ca-new';
  return html`<form class="panel stack" onSubmit=${submit} aria-labelledby=${`${prefix}-title`}>
    <h2 id=${`${prefix}-title`}>${editing ? `Edit ${campaign.name}` : 'New campaign'}</h2>
    ${offers.length === 0 ? html`<${Notice} tone="warn">Create an offer first: <${Link} href="/console/offers">Offers</${Link}>.</${Notice}>` : null}
    <div class="filters">
      <${Field} id=${`${prefix}-name`} label="Name (required)" wide>${(props) => html`<input ...${props} required maxlength="200" value=${values.name} onInput=${(event) => setValues({ ...values, name: valueOf(event) })} />`}</${Field}>
      <${Field} id=${`${prefix}-offer`} label="Offer (required)" hint=${editing ? 'clicks already issued keep their offer' : undefined}>${(props) => html`<select ...${props} required value=${values.offer_id} onChange=${(event) => setValues({ ...values, offer_id: valueOf(event) })}><${Options} items=${offers} /></select>`}</${Field}>
    </div>
    ${action.view}
    <div class="actions"><button type="submit" class="primary" disabled=${action.busy || offers.length === 0}>${editing ? 'Save changes' : 'Create campaign'}</button><button type="button" onClick=${onCancel}>Cancel</button></div>
  </form>`;
}

export function CampaignsPage() {
  const state = useLoad(async () => {
    const [campaigns, offers] = await Promise.all([api('/api/v1/campaigns'), api('/api/v1/offers')]);
    return { campaigns: campaigns.items, offers: offers.items };
  }, []);
  const [editing, setEditing] = useState(null);
  const [saved, setSaved] = useState(null);
  const done = (campaign) => {
    setEditing(null);
    setSaved(`Saved ${campaign.name}.`);
    state.reload();
  };
  return html`<${PageHeading} title="Campaigns" lead="Each campaign's click URL goes into the traffic source; Tally issues a click ID and redirects to the offer.">
      <button type="button" class="primary" onClick=${() => { setSaved(null); setEditing('new'); }}>New campaign</button>
    </${PageHeading}>
    ${saved ? html`<${Notice} tone="ok">${saved}</${Notice}>` : null}
    <${Loaded} state=${state}>${({ campaigns, offers }) => html`
      ${editing === 'new' ? html`<${CampaignForm} offers=${offers} onSaved=${done} onCancel=${() => setEditing(null)} />` : null}
      ${campaigns.length === 0 ? html`<p class="empty">No campaign yet.</p>` : null}
      ${campaigns.map((campaign) =>
        editing === campaign.id
          ? html`<${CampaignForm} key=${`edit-${campaign.id}`} campaign=${campaign} offers=${offers} onSaved=${done} onCancel=${() => setEditing(null)} />`
          : html`<article class="panel" key=${campaign.id} aria-labelledby=${`ca-${campaign.id}-name`}>
              <div class="page-head"><h2 id=${`ca-${campaign.id}-name`}>${campaign.name}</h2>
                <div class="actions"><button type="button" onClick=${() => { setSaved(null); setEditing(campaign.id); }}>Edit<span class="visually-hidden"> ${campaign.name}</span></button></div></div>
              <p>Offer: ${offers.find((offer) => offer.id === campaign.offer_id)?.name ?? campaign.offer_id} · <${Link} href=${`/console/conversions?campaign_id=${campaign.id}`}>conversions</${Link}></p>
              <${CopyField} label=${`Click URL of ${campaign.name}`} value=${campaign.click_url} />
            </article>`,
      )}`}</${Loaded}>`;
}
