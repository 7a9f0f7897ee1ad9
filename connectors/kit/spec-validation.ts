import { z } from 'zod';
import type { ConnectorSpec } from './spec';
import { isTimeZone } from './zoned-time';

/**
 * Checks a connector spec when its module loads, so a broken spec fails at import with a message
 * naming the field, not at the first pull of some operator's connection.
 */

const fn = z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', 'must be a function');
const name = z.string().min(1);
const url = z.url({ protocol: /^https?$/ });
const path = z.array(z.union([z.string(), z.number()]));
const getter = z.union([path, fn]);
const zodSchema = z.custom<z.ZodType>((value) => value instanceof z.ZodType, 'must be a zod schema');
const status = z.enum(['approved', 'pending', 'declined']);
const timeZone = z.string().refine(isTimeZone, 'must be an IANA time zone such as UTC or America/Los_Angeles');
const paramValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()])), fn]);

const auth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), header: name, field: name, prefix: z.string().optional() }),
  z.object({ type: z.literal('basic'), usernameField: name, passwordField: name }),
  z.object({ type: z.literal('bearer'), field: name }),
  z.object({ type: z.literal('query'), param: name, field: name }),
  z.object({ type: z.literal('body'), param: name, field: name }),
  z.object({ type: z.literal('query_params'), params: z.record(name, name).refine((params) => Object.keys(params).length > 0, 'name at least one parameter') }),
  z.object({
    type: z.literal('token_exchange'),
    exchange: fn,
    placement: z.discriminatedUnion('type', [
      z.object({ type: z.literal('bearer') }),
      z.object({ type: z.literal('header'), header: name, prefix: z.string().optional() }),
      z.object({ type: z.literal('query'), param: name }),
    ]),
    refreshBeforeMs: z.number().int().nonnegative().optional(),
  }),
]);

const dates = z
  .object({
    in: z.enum(['query', 'body']),
    from: name,
    to: name,
    format: z.union([z.enum(['date', 'datetime', 'iso8601', 'unix_seconds']), fn]),
    timeZone,
    end: z.enum(['inclusive', 'exclusive']),
    wholeDays: z.boolean(),
    maxDays: z.number().int().positive(),
    padDays: z.number().int().nonnegative().optional(),
  })
  .refine((value) => value.format !== 'date' || value.wholeDays, { message: 'a date-only format needs wholeDays: true', path: ['wholeDays'] })
  .refine((value) => value.format !== 'iso8601' || value.timeZone === 'UTC', { message: 'iso8601 writes UTC; use timeZone UTC or a format hook', path: ['timeZone'] });

const request = z.object({
  method: z.enum(['GET', 'POST']),
  path: z.string(),
  query: z.record(z.string(), paramValue).optional(),
  body: z.union([z.record(z.string(), z.unknown()), z.string(), fn]).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  dates,
});

const where = z.enum(['query', 'body']);
const size = z.object({ param: name, value: z.number().int().positive() });
const pagination = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({
    type: z.literal('page_number'),
    in: where,
    param: name,
    start: z.number().int().nonnegative().optional(),
    size: size.optional(),
    stop: z.discriminatedUnion('type', [
      z.object({ type: z.literal('total_count'), path }),
      z.object({ type: z.literal('total_pages'), path }),
      z.object({ type: z.literal('short_page') }),
      z.object({ type: z.literal('empty_page') }),
    ]),
  }),
  z.object({ type: z.literal('offset'), in: where, param: name, start: z.number().int().nonnegative().optional(), size }),
  z.object({ type: z.literal('cursor'), in: where, param: name, cursorPath: path }),
  z.object({ type: z.literal('next_uri'), path }),
  z.object({ type: z.literal('page_header'), header: name, moreStatus: z.number().int().min(200).max(299) }),
  z.object({ type: z.literal('custom'), next: fn }),
]);

const statusSpec = z.object({ get: getter, map: z.record(z.string(), status), unknown: status, missing: z.union([status, fn]) });
const conversionFields = z.object({
  clickId: z.union([z.object({ configField: name }), getter]),
  txid: getter,
  payout: getter,
  currency: getter.nullable(),
  occurredAt: z.object({ get: getter, format: z.union([z.enum(['unix_seconds', 'unix_ms', 'iso8601']), fn]) }),
  type: getter.nullable(),
  status: statusSpec,
  items: fn.optional(),
  part: z.object({ id: getter, original: getter, postedAt: z.object({ get: getter, format: z.union([z.enum(['unix_seconds', 'unix_ms', 'iso8601']), fn]) }) }).optional(),
});
const revenueFields = z.object({
  subId: z.union([z.object({ configField: name }), getter]),
  day: z.object({ get: getter, format: z.union([z.literal('date'), fn]) }),
  amount: getter,
  currency: getter.nullable(),
  final: getter.nullable(),
  networkStatus: getter.nullable().optional(),
});
const feed = z
  .object({
    timeZone: timeZone.optional(),
    finalBy: z.enum(['flag', 'age']),
    schedule: z.object({
      everyMinutes: z.number().int().min(1).max(10_080),
      estimateDays: z.number().int().min(1).max(90),
      finalAfterDays: z.number().int().min(1).max(90),
      source: name,
    }),
  })
  .refine((value) => value.schedule.estimateDays <= value.schedule.finalAfterDays, { message: 'estimateDays must not exceed finalAfterDays', path: ['schedule'] });

const example = z.object({
  status: z.number().int().min(100).max(599),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string(),
  workedSinceQuotaReset: z.boolean().optional(),
  expect: z.enum(['rate_limited', 'transient', 'auth', 'bad_request', 'reauthenticate']),
});
const wait = z.discriminatedUnion('type', [
  z.object({ type: z.literal('retry_after'), fallbackMs: z.number().int().nonnegative().optional() }),
  z.object({ type: z.literal('fixed'), ms: z.number().int().nonnegative() }),
  z.object({ type: z.literal('quota_reset') }),
]);
const rule = z.object({
  name,
  status: z.union([z.number().int(), z.array(z.number().int()).min(1), z.object({ from: z.number().int(), to: z.number().int() })]).optional(),
  body: fn.optional(),
  then: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('rate_limited'), wait }),
    z.object({ kind: z.literal('transient') }),
    z.object({ kind: z.literal('auth') }),
    z.object({ kind: z.literal('bad_request') }),
    z.object({ kind: z.literal('reauthenticate') }),
    z.object({ kind: z.literal('quota_or_auth') }),
  ]),
  hint: z.string().optional(),
  source: name,
  examples: z.array(example).min(1, 'every rule needs at least one example answer for the contract suite'),
});

const maturity = z.discriminatedUnion('level', [
  z.object({ level: z.literal('verified') }),
  z.object({ level: z.literal('experimental'), unconfirmed: z.array(name).min(1, 'say what is unconfirmed') }),
]);

function specSchema(kind: 'conversion' | 'revenue') {
  return z.object({
    id: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be a lower-case identifier'),
    name,
    kind: z.enum(['conversion', 'revenue']),
    documentationUrl: url,
    maturity,
    config: z.object({ schema: zodSchema, secretFields: z.array(name).min(1), hostFields: z.array(name).optional(), defaultBaseUrl: url, baseUrl: fn.optional() }),
    auth,
    headers: z.record(z.string(), z.string()).optional(),
    rateLimit: z.object({ requests: z.number().int().positive(), intervalMs: z.number().int().positive() }),
    quota: z.object({ requestsPerDay: z.number().int().positive(), resetTimeZone: timeZone, source: name }).optional(),
    defaultRateLimitWaitMs: z.number().int().nonnegative().optional(),
    window: z.object({ maxDays: z.number().positive().optional(), defaultLookbackDays: z.number().int().nonnegative() }),
    streams: z
      .array(
        z.object({
          name,
          documentationUrl: url,
          role: z.enum(['window', 'sweep']),
          phase: z.enum(['estimate', 'final']).optional(),
          request,
          pagination,
          fetch: fn.optional(),
          records: z.object({ path, schema: zodSchema, singleObjectAsList: z.boolean().optional(), parse: fn.optional() }),
          fields: kind === 'revenue' ? revenueFields : conversionFields,
        }),
      )
      .min(1)
      .refine((streams) => streams.some((stream) => stream.role === 'window'), 'at least one stream must have role "window"'),
    check: z.object({ documentationUrl: url, request: request.omit({ dates: true }) }),
    classification: z.array(rule),
    warnings: fn.optional(),
    feed: kind === 'revenue' ? feed.optional() : z.undefined({ error: 'feed is for revenue feeds (kind: "revenue")' }).optional(),
  });
}

/** Throws an Error naming every problem of the spec; returns the spec unchanged. */
export function validateSpec<Spec extends ConnectorSpec>(spec: Spec): Spec {
  const problems: string[] = [];
  const id = typeof spec?.id === 'string' ? spec.id : '(no id)';
  const parsed = specSchema(spec?.kind === 'revenue' ? 'revenue' : 'conversion').safeParse(spec);
  if (!parsed.success) problems.push(z.prettifyError(parsed.error));
  else problems.push(...semanticProblems(spec));
  if (problems.length > 0) throw new Error(`connector spec "${id}" is invalid:\n${problems.join('\n')}`);
  return spec;
}

/** What the shape cannot say: fields the spec names must exist in its config schema. */
function semanticProblems(spec: ConnectorSpec): string[] {
  const problems: string[] = [];
  const shape = (spec.config.schema as unknown as { shape?: Record<string, unknown> }).shape;
  if (!shape) return ['config.schema must be a zod object'];
  const has = (field: string) => Object.prototype.hasOwnProperty.call(shape, field);
  if (!has('base_url')) problems.push('config.schema must accept base_url (use baseUrlField from config-fields.ts)');
  for (const field of spec.config.secretFields) if (!has(field)) problems.push(`config.secretFields names "${field}", which the config schema lacks`);
  for (const field of spec.config.hostFields ?? []) if (!has(field)) problems.push(`config.hostFields names "${field}", which the config schema lacks`);
  const authFields =
    spec.auth.type === 'header' || spec.auth.type === 'bearer' || spec.auth.type === 'query' || spec.auth.type === 'body' ? [spec.auth.field]
    : spec.auth.type === 'basic' ? [spec.auth.passwordField]
    : spec.auth.type === 'query_params' ? Object.values(spec.auth.params)
    : [];
  for (const field of authFields) if (!spec.config.secretFields.includes(field)) problems.push(`auth uses "${field}", which must be listed in config.secretFields`);
  const templates = [spec.check.request.path, ...spec.streams.map((stream) => stream.request.path)];
  for (const template of templates) {
    for (const [, field] of template.matchAll(/\{([^}]+)\}/g)) if (field && !has(field)) problems.push(`path "${template}" uses {${field}}, which the config schema lacks`);
  }
  for (const stream of spec.streams) {
    const clickId = 'clickId' in stream.fields ? stream.fields.clickId : (stream.fields as { subId: unknown }).subId;
    if (clickId && typeof clickId === 'object' && !Array.isArray(clickId) && 'configField' in clickId && !has(String(clickId.configField))) {
      problems.push(`stream ${stream.name}: click ID config field "${String(clickId.configField)}" is not in the config schema`);
    }
    // Revenue feeds are pulled by whole days of the feed's zone: no alignment slack is needed.
    if (spec.kind !== 'revenue' && stream.role === 'window' && stream.request.dates.maxDays <= (stream.request.dates.wholeDays ? 1 : 0) + 2 * (stream.request.dates.padDays ?? 0)) {
      problems.push(`stream ${stream.name}: maxDays leaves no room for the pulled window after day alignment and padding`);
    }
  }
  if (spec.classification.some((entry) => entry.then.kind === 'quota_or_auth') && !spec.quota) problems.push('a quota_or_auth classification needs a quota (its reset decides the case)');
  return problems;
}
