import { createHash } from 'node:crypto';
import { z } from 'zod';
import { staticAuth, tokenExchangeAuth, type AuthProvider, type Credentials } from './auth';
import { ConnectorResponseError } from './errors';
import type { HttpClient, HttpRequest } from './http-client';
import { firstPage, nextPage } from './pagination';
import { atPath, mapConversions, mapRevenueRow } from './record-mapping';
import { alignmentSlackDays, requestWindows, type RequestWindow } from './request-windows';
import type { AuthSpec, ConnectorSpec, ConversionFields, ParamScalar, ParamValue, RequestSpec, RevenueFields, StreamSpec, TokenPlacement } from './spec';
import { validateSpec } from './spec-validation';
import type { Connector, ConnectorContext, ConnectorHttpSettings, ConnectorRecordKind, NormalizedConversion, NormalizedRevenueRow, PullWindow, RecordOf, RejectedRecord, RevenueFeed } from './types';
import { zonedDay } from './zoned-time';

/**
 * The engine: turns a validated spec into the `Connector` the jobs consume. Every stream is
 * pulled for each of its request windows, page by page; records are validated, mapped through
 * the field map and status table, and (for `window` streams) kept only inside the pulled window.
 */
export function defineSpecConnector<Kind extends ConnectorRecordKind, Config extends Record<string, unknown>>(spec: ConnectorSpec<Kind, Config>): Connector<Config, Kind> {
  validateSpec(spec as unknown as ConnectorSpec);
  const windowStreams = spec.streams.filter((stream) => stream.role === 'window');
  // Revenue feeds are pulled by whole days of the feed's zone, so request windows need no slack.
  const slack = (stream: StreamSpec<Kind, Config>) => (spec.kind === 'revenue' ? 0 : alignmentSlackDays(stream.request.dates));
  const requestLimit = Math.min(...windowStreams.map((stream) => stream.request.dates.maxDays - slack(stream)));
  const maxWindowDays = Math.min(requestLimit, spec.window.maxDays ?? Number.POSITIVE_INFINITY);

  const http = (config: Config): ConnectorHttpSettings => ({
    baseUrl: baseUrlOf(spec, config),
    headers: spec.headers,
    auth: authProvider(spec.auth, config),
    classification: spec.classification,
    defaultRateLimitWaitMs: spec.defaultRateLimitWaitMs,
    quota: spec.quota,
  });

  return {
    id: spec.id,
    name: spec.name,
    kind: spec.kind,
    documentationUrl: spec.documentationUrl,
    maturity: spec.maturity,
    configSchema: spec.config.schema,
    secretFields: spec.config.secretFields,
    hostFields: [...new Set(['base_url', ...(spec.config.hostFields ?? [])])],
    rateLimit: spec.rateLimit,
    maxWindowDays,
    defaultLookbackDays: spec.window.defaultLookbackDays,
    classification: spec.classification,
    feed: spec.kind === 'revenue' ? feedOf(spec as unknown as ConnectorSpec<'revenue', Config>) : undefined,
    http,
    warnings: (config) => spec.warnings?.(config) ?? [],
    // Within one pull, a conversion an earlier stream (or page) already yielded is not yielded
    // again: the first stream that reports it decides its state in this pull. A conversion is
    // its txid and type, as in the pipeline (a network's events can share their conversion's id);
    // a conversion that nets over several records (parts) is yielded once per part. Revenue rows
    // are summed per sub-id and day by the job, so the unit is the day: a day an earlier stream
    // reported (Tonic's final report) is not taken from a later one (its estimates).
    async *pull(context, window) {
      const seen = new Set<string>();
      const daysOfEarlierStreams = new Set<string>();
      for (const stream of spec.streams) {
        if (window.phase !== undefined && stream.phase !== undefined && stream.phase !== window.phase) continue;
        const daysOfThisStream = new Set<string>();
        for await (const page of pullStream(spec.kind, stream, context, window)) {
          const kept = page.filter((record) => {
            if (!('txid' in record)) {
              if (daysOfEarlierStreams.has(record.day)) return false;
              daysOfThisStream.add(record.day);
              return true;
            }
            const identity = `${record.type ?? ''}\u0000${record.txid}${record.part ? `\u0000${record.part.id}` : ''}`;
            if (seen.has(identity)) return false;
            seen.add(identity);
            return true;
          });
          yield kept as RecordOf<Kind>[];
        }
        for (const day of daysOfThisStream) daysOfEarlierStreams.add(day);
      }
    },
    async check({ http: client, config }) {
      await client.request(buildRequest(spec.check.request, config));
    },
  };
}

/** A revenue feed's facts, with the defaults DESIGN.md names (Tonic's: hourly for 3 days, final on day 10). */
function feedOf<Config extends Record<string, unknown>>(spec: ConnectorSpec<'revenue', Config>): RevenueFeed {
  const firstWindowStream = spec.streams.find((stream) => stream.role === 'window');
  const schedule = spec.feed?.schedule ?? { everyMinutes: 60, estimateDays: 3, finalAfterDays: 10, source: 'kit default (DESIGN.md: hourly for 3 days, final on day 10)' };
  return {
    timeZone: spec.feed?.timeZone ?? firstWindowStream?.request.dates.timeZone ?? 'UTC',
    finalBy: spec.feed?.finalBy ?? 'flag',
    ...schedule,
  };
}

function baseUrlOf<Config extends Record<string, unknown>>(spec: ConnectorSpec<ConnectorRecordKind, Config>, config: Config): string {
  if (spec.config.baseUrl) return spec.config.baseUrl(config);
  return typeof config.base_url === 'string' ? config.base_url : spec.config.defaultBaseUrl;
}

function secret(config: Record<string, unknown>, field: string): string {
  return String(config[field] ?? '');
}

function placeToken(placement: TokenPlacement, token: string): Credentials {
  switch (placement.type) {
    case 'bearer':
      return { headers: { Authorization: `Bearer ${token}` } };
    case 'header':
      return { headers: { [placement.header]: `${placement.prefix ?? ''}${token}` } };
    case 'query':
      return { params: { [placement.param]: token } };
  }
}

function authProvider<Config extends Record<string, unknown>>(auth: AuthSpec<Config>, config: Config): AuthProvider {
  switch (auth.type) {
    case 'header':
      return staticAuth({ headers: { [auth.header]: `${auth.prefix ?? ''}${secret(config, auth.field)}` } });
    case 'basic':
      return staticAuth({ basic: { username: secret(config, auth.usernameField), password: secret(config, auth.passwordField) } });
    case 'bearer':
      return staticAuth({ headers: { Authorization: `Bearer ${secret(config, auth.field)}` } });
    case 'query':
      return staticAuth({ params: { [auth.param]: secret(config, auth.field) } });
    case 'body':
      return staticAuth({ body: { [auth.param]: secret(config, auth.field) } });
    case 'query_params':
      return staticAuth({ params: Object.fromEntries(Object.entries(auth.params).map(([param, field]) => [param, secret(config, field)])) });
    case 'token_exchange':
      return tokenExchangeAuth({ exchange: (send) => auth.exchange(send, config), apply: (token) => placeToken(auth.placement, token), refreshBeforeMs: auth.refreshBeforeMs });
  }
}

function paramValue<Config>(value: ParamValue<Config>, config: Config, window: RequestWindow | undefined): ParamScalar | undefined {
  return typeof value === 'function' ? value(config, window) : value;
}

/** A spec request with its config values (and the request window's, for window-aware parameters) filled in; dates and pages come later. */
function buildRequest<Config extends Record<string, unknown>>(spec: Omit<RequestSpec<Config>, 'dates'>, config: Config, window?: RequestWindow): HttpRequest {
  const url = spec.path.replace(/\{([^}]+)\}/g, (_match, field: string) => encodeURIComponent(String(config[field] ?? '')));
  const params = Object.fromEntries(Object.entries(spec.query ?? {}).map(([name, value]) => [name, paramValue(value, config, window)]));
  const body = typeof spec.body === 'function' ? spec.body(config) : spec.body;
  const data = typeof body === 'object' ? { ...body } : body;
  return { method: spec.method, url, params, data, headers: spec.headers };
}

function withDates<Config extends Record<string, unknown>>(request: HttpRequest, spec: RequestSpec<Config>, window: RequestWindow): HttpRequest {
  const { dates } = spec;
  const values = { [dates.from]: window.fromValue, [dates.to]: window.toValue };
  if (dates.in === 'query') return { ...request, params: { ...request.params, ...values } };
  if (typeof request.data === 'string') throw new Error(`dates cannot go into a text body (${request.url}): use a fetch hook`);
  return { ...request, data: { ...(request.data as Record<string, unknown> | undefined), ...values } };
}

/**
 * A record that cannot be read is rejected alone when the context has a sink for it (pulls): one
 * broken record must not cost its page, nor stop the connection's checkpoint for good.
 */
function rejectOrThrow<Kind extends ConnectorRecordKind, Config>(
  stream: StreamSpec<Kind, Config>,
  sink: ((record: RejectedRecord) => void) | undefined,
  record: unknown,
  error: ConnectorResponseError,
): void {
  if (!sink) throw error;
  let txid: string | null = null;
  try {
    const getter = (stream.fields as { txid?: unknown }).txid;
    const value = typeof getter === 'function' ? (getter as (record: unknown, config: unknown, item: unknown) => unknown)(record, undefined, undefined) : Array.isArray(getter) ? atPath(record, getter) : undefined;
    if ((typeof value === 'string' && value.trim() !== '') || typeof value === 'number') txid = String(value).slice(0, 200);
  } catch {
    txid = null;
  }
  const digest = createHash('sha256').update(JSON.stringify(record) ?? 'undefined').digest('hex').slice(0, 32);
  sink({ reason: 'invalid_record', message: error.message, raw: record ?? null, txid: txid ?? `record:${digest}` });
}

/**
 * The records of one response body, validated one by one; `count` includes rejected ones, since
 * paging by counts (total_count, short pages) counts what the API sent.
 */
function recordsOf<Kind extends ConnectorRecordKind, Config>(stream: StreamSpec<Kind, Config>, body: unknown, sink?: (record: RejectedRecord) => void): { records: Record<string, unknown>[]; count: number } {
  const { records } = stream;
  if (!records.parse && body !== null && typeof body !== 'object') {
    throw new ConnectorResponseError(`${stream.name}: expected a JSON body, got ${JSON.stringify(String(body).slice(0, 120))}`);
  }
  let list: unknown = records.parse ? records.parse(body) : atPath(body, records.path);
  if (list === null || list === undefined) return { records: [], count: 0 };
  if (!Array.isArray(list)) {
    if (records.singleObjectAsList && typeof list === 'object') list = [list];
    else throw new ConnectorResponseError(`${stream.name}: expected a list at ${JSON.stringify(records.path)}, got ${JSON.stringify(list).slice(0, 120)}`);
  }
  const valid = (list as unknown[]).flatMap((item, index) => {
    const parsed = records.schema.safeParse(item);
    if (parsed.success) return [parsed.data];
    rejectOrThrow(stream, sink, item, new ConnectorResponseError(`${stream.name}: record ${index} has an unexpected shape:\n${z.prettifyError(parsed.error)}`));
    return [];
  });
  return { records: valid, count: (list as unknown[]).length };
}

/** Maps each record on its own: a value that cannot be read rejects that record only (with a sink). */
function mapEach<Kind extends ConnectorRecordKind, Config, Out>(stream: StreamSpec<Kind, Config>, records: Record<string, unknown>[], sink: ((record: RejectedRecord) => void) | undefined, map: (record: Record<string, unknown>) => Out[]): Out[] {
  return records.flatMap((record) => {
    try {
      return map(record);
    } catch (error) {
      if (!(error instanceof ConnectorResponseError)) throw error;
      rejectOrThrow(stream, sink, record, new ConnectorResponseError(`${stream.name}: ${error.message}`));
      return [];
    }
  });
}

function mapRecords<Kind extends ConnectorRecordKind, Config>(kind: Kind, stream: StreamSpec<Kind, Config>, records: Record<string, unknown>[], config: Config, window: PullWindow, sink?: (record: RejectedRecord) => void): (NormalizedConversion | NormalizedRevenueRow)[] {
  if (kind === 'revenue') {
    const fields = stream.fields as RevenueFields<Config>;
    const rows = mapEach(stream, records, sink, (record) => [mapRevenueRow(fields, record, config)]);
    if (stream.role === 'sweep') return rows;
    const first = zonedDay(window.from, stream.request.dates.timeZone);
    const last = zonedDay(new Date(window.to.getTime() - 1), stream.request.dates.timeZone);
    return rows.filter((row) => row.day >= first && row.day <= last);
  }
  const fields = stream.fields as ConversionFields<Config>;
  const conversions = mapEach(stream, records, sink, (record) => mapConversions(fields, record, config));
  // APIs whose filters are coarser or inclusive return neighbouring windows' records: dropping
  // them keeps [from, to) exact, so adjacent windows never both yield a record.
  return stream.role === 'sweep' ? conversions : conversions.filter((c) => c.occurred_at >= window.from && c.occurred_at < window.to);
}

async function* pullStream<Kind extends ConnectorRecordKind, Config extends Record<string, unknown>>(
  kind: Kind,
  stream: StreamSpec<Kind, Config>,
  context: ConnectorContext<Config>,
  window: PullWindow,
): AsyncIterable<(NormalizedConversion | NormalizedRevenueRow)[]> {
  const { http, config, signal, rejected: sink } = context;
  for (const requestWindow of requestWindows(window, stream.request.dates)) {
    if (stream.fetch) {
      for await (const body of stream.fetch({ http, config, signal, window: requestWindow })) yield mapRecords(kind, stream, recordsOf(stream, body, sink).records, config, window, sink);
      continue;
    }
    yield* pages(kind, stream, http, config, window, firstPage(stream.pagination, withDates(buildRequest(stream.request, config, requestWindow), stream.request, requestWindow)), sink);
  }
}

async function* pages<Kind extends ConnectorRecordKind, Config extends Record<string, unknown>>(
  kind: Kind,
  stream: StreamSpec<Kind, Config>,
  http: HttpClient,
  config: Config,
  window: PullWindow,
  first: HttpRequest,
  sink?: (record: RejectedRecord) => void,
): AsyncIterable<(NormalizedConversion | NormalizedRevenueRow)[]> {
  let request: HttpRequest | undefined = first;
  let seen = 0;
  for (let page = 1; request; page++) {
    const response = await http.request(request);
    const { records, count } = recordsOf(stream, response.data, sink);
    seen += count;
    yield mapRecords(kind, stream, records, config, window, sink);
    request = nextPage(stream.pagination, { request, response, page, records: count, seen }, http.configuredOrigin);
  }
}
