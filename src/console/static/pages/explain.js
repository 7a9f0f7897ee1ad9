// "Why didn't it count?": paste a postback URL or a click ID and see what Tally did with it or
// would do now, step by step. The explain endpoint writes nothing.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Badge, Field, Notice, PageHeading, useAction, valueOf } from '../lib/components.js';
import { formatTime, OUTCOME_TONE, ROUTE_NAMES, STATUS_TONE } from '../lib/format.js';
import { html } from '../lib/html.js';
import { Link, setQuery } from '../lib/router.js';

const STEP_WORDS = { ok: 'passes', fail: 'fails', warn: 'warning', info: 'info', skip: 'not reached' };

function Steps({ steps }) {
  return html`<ol class="steps">${steps.map(
    (step) => html`<li class=${step.status}>
      <h3>${step.title} <${Badge} tone=${step.status}>${STEP_WORDS[step.status]}</${Badge}></h3>
      <p>${step.summary}</p>
      ${step.details.length > 0 ? html`<dl class="facts">${step.details.map((detail) => html`<dt>${detail.label}</dt><dd>${detail.value}</dd>`)}</dl>` : null}
    </li>`,
  )}</ol>`;
}

function History({ history, clickId }) {
  return html`<section aria-labelledby="history-title">
    <h2 id="history-title">What already happened${clickId ? html` for <code>${clickId}</code>` : ''}</h2>
    ${history.attempts.length === 0
      ? html`<p class="muted">No attempt in the postback log${clickId ? ' for this click ID' : ''}: if the network says it fired, the postback never reached this Tally (wrong host or path, firewall, or the network never sent it).</p>`
      : html`<div class="table-wrap"><table>
          <caption>Attempts in the postback log (latest ${history.attempts.length})</caption>
          <thead><tr><th scope="col">Attempt</th><th scope="col">Received</th><th scope="col">Route</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Txid</th></tr></thead>
          <tbody>${history.attempts.map((attempt) => html`<tr>
            <td><${Link} href=${`/console/log?click_id=${encodeURIComponent(clickId ?? '')}`}>#${attempt.id}</${Link}></td>
            <td>${formatTime(attempt.received_at)}</td><td>${ROUTE_NAMES[attempt.source] ?? attempt.source}</td>
            <td><${Badge} tone=${OUTCOME_TONE[attempt.outcome] ?? 'info'}>${attempt.outcome}</${Badge}>${attempt.registered_again_as ? html` <span class="muted">registered again as #${attempt.registered_again_as}</span>` : null}</td>
            <td>${attempt.reason ?? ''}</td><td class="mono">${attempt.txid ?? ''}</td></tr>`)}</tbody>
        </table></div>`}
    ${history.conversions.length > 0
      ? html`<div class="table-wrap"><table>
          <caption>Conversions of this click</caption>
          <thead><tr><th scope="col">Conversion</th><th scope="col">Time</th><th scope="col">Type</th><th scope="col">Txid</th><th scope="col">Status</th><th scope="col" class="num">Payout</th><th scope="col">Route</th></tr></thead>
          <tbody>${history.conversions.map((conversion) => html`<tr>
            <td>#${conversion.id}</td><td>${formatTime(conversion.occurred_at)}</td><td>${conversion.type}</td><td class="mono">${conversion.txid ?? ''}</td>
            <td><${Badge} tone=${STATUS_TONE[conversion.status] ?? 'info'}>${conversion.status}</${Badge}></td>
            <td class="num">${conversion.payout} ${conversion.currency}</td><td>${ROUTE_NAMES[conversion.source] ?? conversion.source}</td></tr>`)}</tbody>
        </table></div>`
      : clickId ? html`<p class="muted">No conversion is registered for this click.</p>` : null}
  </section>`;
}

function Verdict({ explanation }) {
  const verdict = explanation.verdict;
  if (!verdict) return null;
  const tone = verdict.status === 'rejected' ? 'fail' : verdict.status === 'duplicate' ? 'warn' : 'ok';
  const words = { accepted: 'It would count now.', updated: 'It would update the existing conversion.', duplicate: 'It is already registered: it counts once.', rejected: 'It would not count.' }[verdict.status];
  return html`<div class=${`notice ${tone}`} role="status" id="explain-verdict">
    <strong>${words}</strong> Tally answers <code>${verdict.status}${verdict.reason ? ` · ${verdict.reason}` : ''}</code>, HTTP ${verdict.http_status}.
    ${explanation.guide ? html`<p><strong>${explanation.guide.title}.</strong> ${explanation.guide.fix}</p>` : null}
  </div>`;
}

export function ExplainPage({ query }) {
  const [mode, setMode] = useState(query.get('click_id') ? 'click' : 'url');
  const [url, setUrl] = useState(query.get('url') ?? '');
  const [clickId, setClickId] = useState(query.get('click_id') ?? '');
  const [route, setRoute] = useState('');
  const [clientIp, setClientIp] = useState('');
  const [explanation, setExplanation] = useState(null);
  const action = useAction();
  const explain = (body) =>
    action.run(async () => {
      setExplanation(null);
      setExplanation(await api('/api/v1/explain', { method: 'POST', body }));
    });
  useEffect(() => {
    // Opened from the log ("Explain this click"): explain at once.
    if (query.get('click_id')) explain({ click_id: query.get('click_id') });
  }, []);
  const submit = (event) => {
    event.preventDefault();
    if (mode === 'click') {
      setQuery({ click_id: clickId }, { replace: true });
      return explain({ click_id: clickId });
    }
    return explain({ url, ...(route ? { route } : {}), ...(clientIp.trim() ? { client_ip: clientIp.trim() } : {}) });
  };
  return html`<${PageHeading} title="Why didn't it count?" lead="Paste the postback URL the network fires (with its values filled in, as in the network's log), or a click ID. Tally shows what it did with it or would do now, step by step. Nothing is written." />
    <form class="panel stack" onSubmit=${submit} aria-label="Explain a postback">
      <fieldset>
        <legend class="label-text">Explain</legend>
        <div class="checks">
          <label><input type="radio" name="explain-mode" value="url" checked=${mode === 'url'} onChange=${() => setMode('url')} /> a postback URL</label>
          <label><input type="radio" name="explain-mode" value="click" checked=${mode === 'click'} onChange=${() => setMode('click')} /> a click ID</label>
        </div>
      </fieldset>
      ${mode === 'url'
        ? html`<${Field} label="Postback URL" wide hint="e.g. https://track.example.com/cf/cv?click_id=…&payout=12.50&txid=… (the token is never shown back)">${(props) => html`<textarea ...${props} name="url" required rows="3" value=${url} onInput=${(event) => setUrl(valueOf(event))}></textarea>`}</${Field}>
            <div class="filters">
              <${Field} label="Arrives as">${(props) => html`<select ...${props} value=${route} onChange=${(event) => setRoute(valueOf(event))}>
                <option value="">S2S postback from the network's server</option><option value="pixel">image pixel on a thank-you page</option><option value="script">conversion script</option></select>`}</${Field}>
              <${Field} label="Sent from IP (optional)" hint="checks the network's postback IP list">${(props) => html`<input ...${props} name="client_ip" value=${clientIp} onInput=${(event) => setClientIp(valueOf(event))} size="20" />`}</${Field}>
            </div>`
        : html`<${Field} label="Click ID">${(props) => html`<input ...${props} name="click_id" required value=${clickId} onInput=${(event) => setClickId(valueOf(event))} size="30" />`}</${Field}>`}
      <div class="actions"><button type="submit" class="primary" disabled=${action.busy}>Explain</button></div>
    </form>
    ${action.tone === 'fail' ? action.view : null}
    ${action.busy ? html`<p role="status" class="muted">Working it out…</p>` : null}
    ${explanation
      ? html`<section aria-labelledby="explain-result">
          <h2 id="explain-result">${explanation.kind === 'url' ? 'What Tally does with this postback' : 'This click'}</h2>
          <${Verdict} explanation=${explanation} />
          <${Steps} steps=${explanation.steps} />
          <${History} history=${explanation.history} clickId=${explanation.click_id} />
        </section>`
      : null}
    ${!explanation && !action.busy && action.tone !== 'fail' ? html`<${Notice} tone="info">Tip: in the postback log, "Explain this click" opens this page for an attempt's click ID.</${Notice}>` : null}`;
}
