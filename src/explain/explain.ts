import { clickIdTime } from '../catalog/click-id';
import type { Db } from '../db/database';
import { queryOne } from '../db/sql';
import { receiveConversion } from '../intake/received-conversion';
import { formatMoney } from '../money/decimal';
import { normalizeConversion, type NormalizedConversion } from '../pipeline/normalize';
import { planBatch, type Priced, type Resolved } from '../pipeline/planner';
import type { Registrar } from '../pipeline/registrar';
import type { RegistrationOutcome } from '../pipeline/types';
import { ipInList } from '../trust/ip-allow-list';
import { tokenDigest } from '../trust/token-digest';
import { acceptedRoutes, judgeTrust, type NetworkTrust, type TrackingRoute } from '../trust/trust-policy';
import { InputError } from '../util/errors';
import { statusFor } from '../http/routes/tracking-conversion';
import { findClickContext, findHistory, type ClickContext, type PastAttempt, type PastConversion } from './click-context';
import { findMatchedClick } from '../pipeline/click-lookup';
import { networkTrust } from '../catalog/network-store';
import { reasonGuide } from './reason-guide';

export type StepStatus = 'ok' | 'fail' | 'warn' | 'info' | 'skip';

/** One step of what Tally does with a postback, in plain words. */
export interface ExplainStep {
  readonly key: 'request' | 'fields' | 'click' | 'trust' | 'price' | 'identity' | 'outcome';
  readonly title: string;
  readonly status: StepStatus;
  readonly summary: string;
  readonly details: { label: string; value: string }[];
}

export interface Explanation {
  readonly kind: 'url' | 'click_id';
  readonly route: TrackingRoute | null;
  readonly click_id: string | null;
  readonly txid: string | null;
  readonly steps: ExplainStep[];
  /** What Tally would answer now (URL only): worked out by the real pipeline, then rolled back. */
  readonly verdict: { status: string; reason: string | null; message: string | null; http_status: number; conversion_id: string | null } | null;
  readonly guide: { title: string; fix: string } | null;
  readonly history: { attempts: PastAttempt[]; conversions: PastConversion[] };
}

export interface ExplainDeps {
  readonly db: Db;
  readonly registrar: Registrar;
  readonly secretKey: Buffer;
  readonly defaultCurrency: string;
  readonly displayCurrency: string;
  readonly postbackToken: string | undefined;
  /** This Tally's public base URL (for the host check and example URLs). */
  readonly base: string;
}

const POSTBACK_PATHS = ['/cf/cv', '/cf/postback'];
const ROUTE_NAMES: Record<TrackingRoute, string> = { postback: 'S2S postback', pixel: 'image pixel', script: 'conversion script' };

type Detail = { label: string; value: string };
const detail = (label: string, value: string | null | undefined): Detail[] => (value === null || value === undefined || value === '' ? [] : [{ label, value }]);

/** The URL as the operator pasted it: absolute, host-relative, or only its query. */
function parseUrl(text: string, base: string): { url: URL; hostGiven: boolean } {
  const trimmed = text.trim();
  if (trimmed === '') throw new InputError('paste the postback URL the network calls (or a click ID)', 'invalid_url');
  try {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) return { url: new URL(trimmed), hostGiven: true };
    if (trimmed.startsWith('/')) return { url: new URL(trimmed, base), hostGiven: false };
    if (trimmed.startsWith('?') || !trimmed.includes('/')) return { url: new URL(`/cf/cv${trimmed.startsWith('?') ? '' : '?'}${trimmed}`, base), hostGiven: false };
    return { url: new URL(`http://${trimmed}`), hostGiven: true };
  } catch {
    throw new InputError('that is not a URL: paste the postback URL the network calls, e.g. https://track.example.com/cf/cv?click_id=…&payout=…', 'invalid_url');
  }
}

/** The query as fastify would parse it: a repeated parameter becomes an array. */
function queryOf(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of url.searchParams) {
    const earlier = out[name];
    out[name] = earlier === undefined ? value : Array.isArray(earlier) ? [...earlier, value] : [earlier, value];
  }
  return out;
}

function tokenRule(trust: NetworkTrust | null, globalDigest: string | null): string {
  if (trust?.tokenDigest) return "the network's own postback token";
  if (globalDigest !== null) return 'POSTBACK_TOKEN (the network has no token of its own)';
  return 'none';
}

/** Whom the currency came from, in the order of the precedence (param > offer > network > account). */
function currencySource(conversion: NormalizedConversion, context: ClickContext, priced: Priced): string {
  if (priced.manual) return `the offer's fixed payout in ${priced.currency}`;
  if (conversion.payoutCurrency !== null) return 'payout_currency in the postback';
  if (context.offer.currency) return "the offer's currency";
  if (context.network?.currency) return "the network's currency";
  return 'the account default (DEFAULT_CURRENCY)';
}

function clickStep(clickId: string, context: ClickContext | undefined): ExplainStep {
  if (!context) {
    const issued = clickIdTime(clickId);
    const looks = issued !== undefined && issued > Date.UTC(2020, 0, 1) && issued < Date.now() + 86_400_000
      ? `It looks like a click ID Tally issues (from ${new Date(issued).toISOString().slice(0, 10)}), but this Tally has no such click: was it issued by another install, or removed?`
      : 'It does not look like a click ID Tally issued (24 lower-case letters and digits): the offer URL may pass another value than {cf_click_id} (the network\'s own ID, another tracker\'s), or the clicks come from another tracker and must be imported.';
    return { key: 'click', title: 'Click', status: 'fail', summary: `No click ${clickId}. ${looks}`, details: [] };
  }
  const network = context.network;
  return {
    key: 'click',
    title: 'Click',
    status: 'ok',
    summary: `Click found: campaign "${context.campaign.name}", offer "${context.offer.name}", ${network ? `network "${network.name}"` : 'no network (the offer has none)'}.`,
    details: [
      { label: 'visited at', value: context.visitedAtIso },
      ...detail('campaign', `${context.campaign.name} (${context.campaign.id})`),
      ...detail('offer', `${context.offer.name} (${context.offer.id}), payout ${context.offer.payoutMode === 'manual' ? `fixed ${formatMoney(context.offer.payout)} ${context.offer.currency ?? ''}`.trim() : 'as reported (auto)'}`),
      ...detail('network', network ? `${network.name} (${network.id})` : 'none'),
    ],
  };
}

function trustSettingsDetails(context: ClickContext, globalDigest: string | null): Detail[] {
  const trust = context.network ? networkTrust(context.network) : null;
  const ips = trust?.postbackIps ?? [];
  return [
    { label: 'accepted routes', value: acceptedRoutes(trust, globalDigest).map((route) => ROUTE_NAMES[route]).join(', ') },
    { label: 'token required', value: tokenRule(trust, globalDigest) },
    { label: 'postback IPs', value: ips.length > 0 ? ips.join(', ') : 'any address' },
  ];
}

/**
 * What Tally did or would do with a postback URL, step by step, without writing anything: the
 * intake's reading of the request, the pipeline's validation, the click lookup, the trust policy
 * with the evidence the URL carries, the planner's price, and the outcome of a dry run of the
 * real registration (rolled back), next to what already happened for the click.
 */
export async function explainUrl(deps: ExplainDeps, input: { url: string; route?: TrackingRoute; clientIp?: string }, now = new Date()): Promise<Explanation> {
  const { url, hostGiven } = parseUrl(input.url, deps.base);
  const globalDigest = deps.postbackToken === undefined ? null : tokenDigest(deps.secretKey, deps.postbackToken);
  const steps: ExplainStep[] = [];
  const pathOk = POSTBACK_PATHS.includes(url.pathname.replace(/\/+$/, ''));
  const ownHost = new URL(deps.base).host;
  const query = queryOf(url);
  if (input.route === 'script' && query.src === undefined) query.src = 'script';
  const headers = input.route === 'pixel' ? { 'sec-fetch-dest': 'image', accept: 'image/*' } : {};
  const received = receiveConversion({ method: 'GET', path: url.pathname, query, body: undefined, headers, ip: input.clientIp ?? '', cookieClickId: undefined }, deps.secretKey, now);
  const route = received.route;
  const tokenPresented = received.input.tokenDigest !== null;

  steps.push({
    key: 'request',
    title: 'Request',
    status: pathOk ? (hostGiven && url.host !== ownHost ? 'warn' : 'ok') : 'fail',
    summary: [
      pathOk ? `Arrives as ${ROUTE_NAMES[route]} at ${url.pathname}.` : `Tally receives postbacks at /cf/cv, not at ${url.pathname}: the network gets 404 and nothing reaches the postback log. Fix the path in the network's postback URL.`,
      hostGiven && url.host !== ownHost ? `The URL goes to ${url.host}; this Tally is at ${ownHost}. If that is not a proxy in front of this Tally, the postbacks never arrive here.` : '',
    ].filter(Boolean).join(' '),
    details: [
      { label: 'route', value: `${ROUTE_NAMES[route]}${route === 'script' ? ' (src=script)' : route === 'pixel' ? ' (image request)' : ''}` },
      { label: 'token', value: tokenPresented ? 'present (never shown)' : 'none' },
      ...detail('sent from', input.clientIp ? input.clientIp : undefined),
      ...(received.warnings.length > 0 ? [{ label: 'warnings', value: received.warnings.join('; ') }] : []),
    ],
  });

  const normalized = normalizeConversion(received.input.fields, { receivedAt: now });
  const clickId = normalized.ok ? normalized.value.clickId : normalized.rejection.clickId;
  const txid = normalized.ok ? normalized.value.txid : (normalized.rejection.txid ?? null);
  if (!normalized.ok) {
    steps.push({ key: 'fields', title: 'Fields', status: 'fail', summary: normalized.rejection.message, details: [{ label: 'reason', value: normalized.rejection.reason }] });
  } else {
    const value = normalized.value;
    const clickParam = ['click_id', 'cf_click_id', 'cid', 'clickid'].find((name) => typeof received.input.fields[name] === 'string' && String(received.input.fields[name]).trim() !== '');
    steps.push({
      key: 'fields',
      title: 'Fields',
      status: value.warnings.length > 0 ? 'warn' : 'ok',
      summary: value.warnings.length > 0 ? `Readable, with warnings: ${value.warnings.join('; ')}.` : 'Every field is readable.',
      details: [
        { label: 'click ID', value: `${value.clickId}${clickParam ? ` (from ${clickParam})` : ''}` },
        { label: 'payout', value: value.payout === null ? 'none reported' : value.payout },
        ...detail('currency', value.payoutCurrency),
        { label: 'txid', value: value.txid ?? 'none' },
        { label: 'type', value: value.type },
        { label: 'status', value: value.status ?? 'approved (not sent)' },
        { label: 'conversion time', value: value.occurredAt.toISOString() },
        ...detail('params', Object.keys(value.params).length > 0 ? Object.entries(value.params).map(([name, param]) => `${name}=${param}`).join(', ') : undefined),
      ],
    });
  }

  const context = normalized.ok ? await findClickContext(deps.db, normalized.value.clickId) : undefined;
  if (normalized.ok) steps.push(clickStep(normalized.value.clickId, context));

  // Evidence: the URL carries the token; the sender's address is what the operator says it is.
  let clientIp = input.clientIp ?? null;
  let assumedIp = false;
  const listedIps = context?.network?.postback_ips ?? [];
  if (clientIp === null && route === 'postback' && listedIps.length > 0) {
    clientIp = (listedIps[0] as string).split('/')[0] as string;
    assumedIp = true;
  }
  const evidenceInput = { ...received.input, clientIp };

  let priced: Priced | undefined;
  if (normalized.ok && context) {
    const trust = context.network ? networkTrust(context.network) : null;
    const verdict = judgeTrust(route, trust, { clientIp, tokenDigest: received.input.tokenDigest }, { globalTokenDigest: globalDigest, now });
    const details = trustSettingsDetails(context, globalDigest);
    if (listedIps.length > 0 && route === 'postback') {
      details.push({ label: 'sender', value: assumedIp ? 'not given: checked as if from an allowed address; enter the sending IP to check it' : `${clientIp} is ${ipInList(listedIps, clientIp) ? '' : 'not '}on the list` });
    }
    steps.push({
      key: 'trust',
      title: 'Trust',
      status: verdict.ok ? 'ok' : 'fail',
      summary: verdict.ok
        ? route !== 'postback' ? `The network accepts the ${ROUTE_NAMES[route]} route.`
          : assumedIp ? 'Route and token pass. The sending address decides the rest: give it to check the IP list.'
          : 'The network accepts this S2S postback: route, token and address pass.'
        : verdict.message,
      details,
    });
    const outcomes: Resolved[] = [];
    // The click exactly as the pipeline would match it (same lookup, without its lock).
    const matched = await findMatchedClick(deps.db, context.clickId);
    const plan = planBatch(
      { inputs: [evidenceInput], normalized: [normalized], clicks: new Map(matched ? [[context.clickId, matched]] : []), options: { source: route }, receivedAt: () => now },
      { defaultCurrency: deps.defaultCurrency, globalTokenDigest: globalDigest, now },
      outcomes,
    );
    priced = plan.rounds[0]?.[0];
  } else if (normalized.ok) {
    steps.push({
      key: 'trust',
      title: 'Trust',
      status: 'skip',
      summary: "Not judged yet: the network is known only once the click is. Tally keeps the sender's address and a digest of the token, and judges them when the click arrives.",
      details: [],
    });
  }

  if (priced && context && normalized.ok) {
    const fx = await queryOne<{ rate: string | null; amount: string | null }>(
      deps.db,
      `SELECT tally_fx_rate($1, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date)::text AS rate,
              round(coalesce($4::numeric, 0) * tally_fx_rate($1, $2, ($3::timestamptz AT TIME ZONE 'UTC')::date), 6)::text AS amount`,
      [priced.currency, deps.displayCurrency, normalized.value.occurredAt.toISOString(), priced.payout],
    );
    const payout = formatMoney(priced.payout ?? '0') as string;
    steps.push({
      key: 'price',
      title: 'Payout',
      status: fx?.amount === null ? 'warn' : 'ok',
      summary: priced.manual
        ? `The offer pays a fixed ${payout} ${priced.currency}${priced.reportedPayout !== null ? `; the reported ${priced.reportedPayout} is kept as reported payout` : ''}.`
        : `${payout} ${priced.currency}${priced.payout === null ? ' (no payout reported)' : ''}, currency from ${currencySource(normalized.value, context, priced)}.`,
      details: [
        { label: 'payout mode', value: priced.manual ? 'manual (the offer decides)' : 'auto (the network reports)' },
        { label: 'currency', value: `${priced.currency} (${currencySource(normalized.value, context, priced)})` },
        {
          label: `in ${deps.displayCurrency}`,
          value: fx?.amount === null || fx === undefined ? `no FX rate for ${priced.currency} on ${normalized.value.occurredAt.toISOString().slice(0, 10)}: add one with POST /api/v1/fx-rates` : `${formatMoney(fx.amount)} (rate ${fx.rate})`,
        },
      ],
    });
  }

  // The real pipeline decides the outcome (duplicates, updates, adoption); the dry run rolls back.
  const [outcome] = (await deps.registrar.register([evidenceInput], { source: route, dryRun: true })) as [RegistrationOutcome];
  const history = await findHistory(deps.db, { clickId, txid });
  if (priced && normalized.ok) steps.push(identityStep(normalized.value, priced, outcome));
  steps.push(outcomeStep(outcome, received.image));
  const guide = reasonGuide(outcome.reason);
  return {
    kind: 'url',
    route,
    click_id: clickId,
    txid,
    steps,
    verdict: {
      status: outcome.status,
      reason: outcome.reason,
      message: outcome.message,
      http_status: received.image ? 200 : statusFor(outcome),
      // An accepted dry run's id belongs to a row that was rolled back.
      conversion_id: outcome.status === 'accepted' ? null : outcome.conversionId,
    },
    guide: outcome.status === 'accepted' || guide === null ? null : { title: guide.title, fix: guide.fix },
    history,
  };
}

function identityStep(conversion: NormalizedConversion, priced: Priced, outcome: RegistrationOutcome): ExplainStep {
  const identity = conversion.txid !== null
    ? `Identity: click, txid "${conversion.txid}" and type "${conversion.type}": the same again is a duplicate, a new status or payout updates it.`
    : priced.policy === 'ignore'
      ? `No txid: the network's duplicate policy "ignore" counts one "${conversion.type}" per click; later ones are duplicates.`
      : priced.policy === 'accept'
        ? 'No txid: the network\'s duplicate policy "accept" counts every postback.'
        : 'No txid: the network\'s duplicate policy "update" keeps one conversion per click and type, the latest report wins.';
  const existing = outcome.conversionId && outcome.status !== 'accepted' ? ` (conversion ${outcome.conversionId})` : '';
  const result =
    outcome.status === 'accepted' ? 'No conversion like it exists yet: it would count as a new one.'
    : outcome.status === 'duplicate' ? `It is already registered${existing}: ${outcome.message ?? ''}`
    : outcome.status === 'updated' ? `It matches an existing conversion${existing}: ${outcome.message ?? ''}`
    : 'Not reached: the attempt is rejected before.';
  return { key: 'identity', title: 'Duplicates', status: outcome.status === 'duplicate' ? 'warn' : outcome.status === 'rejected' ? 'skip' : 'ok', summary: `${identity} ${result}`, details: [] };
}

function outcomeStep(outcome: RegistrationOutcome, image: boolean): ExplainStep {
  const http = image ? '200 with a 1×1 GIF (image requests always get one; the outcome is in the postback log)' : String(statusFor(outcome));
  const words =
    outcome.status === 'accepted' ? 'Tally would register it now.'
    : outcome.status === 'duplicate' ? 'Tally would answer that it already has it; nothing would change.'
    : outcome.status === 'updated' ? 'Tally would update the existing conversion.'
    : `Tally would reject it: ${outcome.message ?? outcome.reason ?? ''}`;
  return {
    key: 'outcome',
    title: 'Outcome',
    status: outcome.status === 'rejected' ? 'fail' : outcome.status === 'duplicate' ? 'warn' : 'ok',
    summary: words,
    details: [
      { label: 'answer', value: `${outcome.status}${outcome.reason ? ` (${outcome.reason})` : ''}` },
      { label: 'HTTP status', value: http },
      { label: 'written', value: 'nothing: this was a dry run' },
    ],
  };
}

/**
 * What Tally knows about a click ID: where it leads, what a postback for its network must carry,
 * and what already happened (attempts in the log, conversions). Reads only.
 */
export async function explainClickId(deps: ExplainDeps, rawClickId: string): Promise<Explanation> {
  const clickId = rawClickId.trim().toLowerCase();
  if (!/^[a-z0-9_-]{1,64}$/.test(clickId)) throw new InputError('a click ID is 1-64 letters, digits, "_" or "-"; to check a whole postback, paste its URL', 'invalid_click_id');
  const globalDigest = deps.postbackToken === undefined ? null : tokenDigest(deps.secretKey, deps.postbackToken);
  const context = await findClickContext(deps.db, clickId);
  const steps: ExplainStep[] = [clickStep(clickId, context)];
  if (context) {
    const trust = context.network ? networkTrust(context.network) : null;
    const routes = acceptedRoutes(trust, globalDigest);
    const rule = tokenRule(trust, globalDigest);
    steps.push({
      key: 'trust',
      title: 'What a postback must carry',
      status: 'info',
      summary: `${routes.includes('postback') ? `An S2S postback to ${deps.base}/cf/cv with click_id=${clickId}` : 'This network accepts no S2S postback'}${rule !== 'none' && routes.includes('postback') ? `, token=<${rule}>` : ''}${(trust?.postbackIps?.length ?? 0) > 0 ? ', sent from a listed address' : ''}.`,
      details: trustSettingsDetails(context, globalDigest),
    });
  }
  const history = await findHistory(deps.db, { clickId, txid: null });
  return { kind: 'click_id', route: null, click_id: clickId, txid: null, steps, verdict: null, guide: null, history };
}
