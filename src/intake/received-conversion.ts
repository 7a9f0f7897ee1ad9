import { storableJson } from '../pipeline/characters';
import { isPlaceholder } from '../pipeline/macros';
import type { RegistrationInput } from '../pipeline/types';
import { tokenDigest } from '../trust/token-digest';
import type { TrackingRoute } from '../trust/trust-policy';
import { UNREADABLE_BODY_KEPT, UnreadableBody } from '../http/unreadable-body';
import { isUuid, uuidV7 } from '../util/uuid';
import { storableAddress } from '../util/ip-address';

/** A conversion request as it reached `/cf/cv`, before any decision. */
export interface ConversionRequestParts {
  readonly method: string;
  readonly path: string;
  readonly query: unknown;
  readonly body: unknown;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Client address after TRUST_PROXY (as the proxy forwarded it: checked here). */
  readonly ip: string;
  /** The cf_click_id cookie, when the browser sent one. */
  readonly cookieClickId: string | undefined;
  /**
   * The request id the server gave the request (never one a client chose): it becomes the intake
   * id, so the ledger row, the spool entry and every log line about the postback share it.
   */
  readonly requestId?: string;
}

/** What the intake layer decided about a request; the pipeline judges the rest once the click is known. */
export interface ReceivedConversion {
  /** The route the request presents itself as. It can only lose rights: see trust-policy.ts. */
  readonly route: TrackingRoute;
  /** An image request gets a 1×1 GIF whatever happens. */
  readonly image: boolean;
  readonly input: RegistrationInput;
  /** Things that did not block the request (cookie used for a placeholder, characters replaced). */
  readonly warnings: readonly string[];
}

const CLICK_ID_NAMES = ['click_id', 'cf_click_id', 'cid', 'clickid'];
/** Parameters that are credentials or transport details, never stored as conversion data. */
const SECRET_PARAMS = new Set(['token']);
const TRANSPORT_PARAMS = new Set(['src']);

function header(headers: ConversionRequestParts['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Image requests: what a browser sends for `<img src>`. */
export function isImageRequest(headers: ConversionRequestParts['headers']): boolean {
  if (header(headers, 'sec-fetch-dest') === 'image') return true;
  return /(^|,)\s*image\//i.test(header(headers, 'accept') ?? '');
}

/**
 * The parameters of a query or body, one value each (the first of a repeated one), into `into`
 * (fields) and, without credentials, into `kept` (the raw request the log keeps). One pass, no
 * intermediate arrays: this runs for every postback.
 */
function collect(source: unknown, into: Record<string, unknown>, kept: Record<string, unknown>): void {
  if (source === null || typeof source !== 'object' || Array.isArray(source)) return;
  for (const name in source as Record<string, unknown>) {
    const raw = (source as Record<string, unknown>)[name];
    const value = Array.isArray(raw) ? raw[0] : raw;
    into[name] = value;
    if (!SECRET_PARAMS.has(name)) kept[name] = value;
  }
}

/**
 * The intake decisions for one request to `/cf/cv`: its route, its fields (the click ID from the
 * `cf_click_id` cookie when the URL has none or a placeholder), the raw request as the log keeps
 * it (token removed, unstorable characters replaced), and the evidence the trust policy needs —
 * client IP and the digest of the presented token, never the token. Pure.
 */
export function receiveConversion(parts: ConversionRequestParts, secretKey: Buffer, now = new Date()): ReceivedConversion {
  const image = isImageRequest(parts.headers);
  const unreadable = parts.body instanceof UnreadableBody ? parts.body : undefined;
  // Body parameters win over query parameters of the same name. Prototype-less objects: a
  // parameter named __proto__ is data like any other.
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const query: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const body: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  collect(parts.query, fields, query);
  if (!unreadable) collect(parts.body, fields, body);
  const route: TrackingRoute = fields.src === 'script' ? 'script' : image ? 'pixel' : 'postback';
  const token = typeof fields.token === 'string' && fields.token !== '' ? fields.token : undefined;
  for (const name of SECRET_PARAMS) delete fields[name];
  for (const name of TRANSPORT_PARAMS) delete fields[name];
  const warnings: string[] = [];
  let named: string | undefined;
  for (const name of CLICK_ID_NAMES) {
    const value = fields[name];
    if (typeof value === 'string' && value.trim() !== '') {
      named = value;
      break;
    }
  }
  if (parts.cookieClickId && (named === undefined || isPlaceholder(named))) {
    // Pixel and script: the click ID comes from the tracking cookie; a placeholder such as
    // click_id=OPTIONAL left in the pixel URL is replaced by it rather than rejected.
    if (named !== undefined) warnings.push(`click ID "${storableJson(named.slice(0, 40)).value as string}" in the URL was a placeholder; used the cf_click_id cookie`);
    for (const name of CLICK_ID_NAMES) delete fields[name];
    fields.click_id = parts.cookieClickId;
  }

  const userAgent = header(parts.headers, 'user-agent');
  const referer = header(parts.headers, 'referer');
  const raw = {
    method: parts.method,
    path: parts.path,
    query,
    ...(unreadable
      ? { body_unreadable: { content_type: unreadable.contentType, text: unreadable.text.slice(0, UNREADABLE_BODY_KEPT) } }
      : parts.body !== undefined && parts.body !== null ? { body } : {}),
    ...(parts.cookieClickId ? { cookie_click_id: parts.cookieClickId } : {}),
    ip: parts.ip,
    ...(userAgent ? { user_agent: userAgent.slice(0, 300) } : {}),
    ...(referer ? { referer: referer.slice(0, 500) } : {}),
  };
  const clientIp = storableAddress(parts.ip);
  if (clientIp === null && parts.ip) {
    warnings.push(`the client address "${String(storableJson(parts.ip.slice(0, 60)).value)}" (from X-Forwarded-For under TRUST_PROXY) is not an IP address; the attempt is kept without one, so a network's postback IP list cannot accept it`);
  }
  const request = storableJson(raw);
  if (request.changed) warnings.push('the request contained characters that cannot be stored (U+0000 or broken UTF-16); the log shows them as U+FFFD');

  return {
    route,
    image,
    warnings,
    input: {
      fields,
      request: request.value,
      clientIp,
      tokenDigest: token === undefined ? null : tokenDigest(secretKey, token),
      // The ledger keeps intake ids as uuid.
      intakeId: parts.requestId !== undefined && isUuid(parts.requestId) ? parts.requestId : uuidV7(now.getTime()),
      receivedAt: now,
      ...(unreadable
        ? {
            rejection: {
              // The reasons reuse the error codes these requests got before they were logged.
              reason: unreadable.contentType === 'application/json' ? 'invalid_json' : 'unsupported_media_type',
              message: `the ${unreadable.contentType} body could not be read (${unreadable.problem.slice(0, 200)}); send the conversion as query parameters, a form body or JSON`,
            },
          }
        : {}),
    },
  };
}
