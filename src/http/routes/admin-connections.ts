import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { connectors } from '../../../connectors';
import { backfillView, findBackfill } from '../../../jobs/backfill-job';
import type { PullService } from '../../../jobs/pull-service';
import {
  connectionView,
  connectorJsonSchema,
  createConnection,
  deleteConnection,
  findConnectionRow,
  listConnections,
  updateConnection,
} from '../../connections/connection-store';
import { TallyError } from '../../util/errors';
import type { AppContext } from '../context';
import { day, errorBody, uuid } from '../schemas';

const connectionOut = z.object({
  id: z.string(), connector: z.string(), name: z.string(), config: z.record(z.string(), z.unknown()), every_minutes: z.number(),
  lookback_days: z.number().nullable(), estimate_days: z.number().nullable(), final_after_days: z.number().nullable(), network_id: z.string().nullable(), offer_id: z.string().nullable(), conversion_type: z.string().nullable(),
  enabled: z.boolean(), healthy: z.boolean(), last_error: z.string().nullable(), last_error_at: z.string().nullable(),
  last_success_at: z.string().nullable(), warnings: z.array(z.string()), created_at: z.string(), updated_at: z.string(),
});

const connectorOut = z.object({
  id: z.string(), name: z.string(), kind: z.enum(['conversion', 'revenue']), documentation_url: z.string(),
  maturity: z.enum(['verified', 'experimental']), unconfirmed: z.array(z.string()), config_schema: z.record(z.string(), z.unknown()),
  revenue_feed: z.object({ time_zone: z.string(), final_by: z.enum(['flag', 'age']), every_minutes: z.number(), estimate_days: z.number(), final_after_days: z.number(), source: z.string() }).nullable(),
});

const connectionFields = {
  name: z.string().trim().min(1).max(200),
  config: z.record(z.string(), z.unknown()),
  every_minutes: z.number().int().min(1).max(10_080),
  lookback_days: z.number().int().min(0).max(365).nullable(),
  // Revenue feeds: "every every_minutes for estimate_days, then a final pull on day final_after_days"; null = the feed's default.
  estimate_days: z.number().int().min(1).max(90).nullable(),
  final_after_days: z.number().int().min(1).max(90).nullable(),
  network_id: uuid.nullable(),
  offer_id: uuid.nullable(),
  conversion_type: z.string().regex(/^[a-z0-9_][a-z0-9_.-]{0,39}$/, { message: 'must be a conversion type name such as sale' }).nullable(),
  enabled: z.boolean(),
};

export const backfillOut = z.object({
  id: z.string(), connection_id: z.string(), from: z.string(), to: z.string(),
  status: z.enum(['queued', 'running', 'waiting', 'completed', 'failed', 'cancelled']),
  progress: z.object({ done: z.number(), total: z.number() }),
  stats: z.object({ fetched: z.number(), inserted: z.number(), updated: z.number(), unchanged: z.number(), unmatched: z.number(), rejected: z.number() }),
  error: z.string().nullable(), created_at: z.string(), finished_at: z.string().nullable(),
});

class QueuesUnavailable extends TallyError {
  constructor() {
    super('pulls need Redis: this process was started without queues (check REDIS_URL)', 'queues_unavailable', 503);
  }
}

/** Connectors, connections (secrets redacted), manual pulls, connection tests and backfills. */
export async function connectionRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const tags = ['pulls'];
  const pulls = (): PullService => {
    if (!ctx.pulls) throw new QueuesUnavailable();
    return ctx.pulls;
  };
  const notFound = (id: string) => ({ error: { code: 'connection_not_found', message: `connection ${id} does not exist` } });

  app.get('/api/v1/connectors', { schema: { tags, summary: 'Connectors, their maturity (verified | experimental, with what is unconfirmed) and the JSON Schema of their config', response: { 200: z.array(connectorOut) } } }, async () =>
    Object.values(connectors).map((connector) => ({
      id: connector.id,
      name: connector.name,
      kind: connector.kind,
      documentation_url: connector.documentationUrl,
      maturity: connector.maturity.level,
      unconfirmed: connector.maturity.level === 'experimental' ? [...connector.maturity.unconfirmed] : [],
      config_schema: connectorJsonSchema(connector),
      revenue_feed: connector.feed
        ? { time_zone: connector.feed.timeZone, final_by: connector.feed.finalBy, every_minutes: connector.feed.everyMinutes, estimate_days: connector.feed.estimateDays, final_after_days: connector.feed.finalAfterDays, source: connector.feed.source }
        : null,
    })),
  );

  app.post(
    '/api/v1/connections',
    {
      schema: {
        tags,
        summary: 'Connect an account of a network API; credentials are encrypted and never shown again',
        body: z.object({ connector: z.string(), ...connectionFields, every_minutes: connectionFields.every_minutes.optional(), lookback_days: connectionFields.lookback_days.optional(), estimate_days: connectionFields.estimate_days.optional(), final_after_days: connectionFields.final_after_days.optional(), network_id: connectionFields.network_id.optional(), offer_id: connectionFields.offer_id.optional(), conversion_type: connectionFields.conversion_type.optional(), enabled: connectionFields.enabled.optional() }),
        response: { 201: connectionOut, 400: errorBody },
      },
    },
    async (request, reply) => {
      const row = await createConnection(ctx.db, ctx.config.secretKey, request.body);
      await ctx.pulls?.reconcileSchedulers();
      return reply.status(201).send(connectionView(row));
    },
  );

  app.get('/api/v1/connections', { schema: { tags, summary: 'List connections', response: { 200: z.array(connectionOut) } } }, async () => (await listConnections(ctx.db)).map(connectionView));

  app.get('/api/v1/connections/:id', { schema: { tags, params: z.object({ id: z.string() }), response: { 200: connectionOut, 404: errorBody } } }, async (request, reply) => {
    const row = await findConnectionRow(ctx.db, request.params.id);
    return row ? connectionView(row) : reply.status(404).send(notFound(request.params.id));
  });

  app.patch(
    '/api/v1/connections/:id',
    {
      schema: {
        tags,
        summary: 'Change a connection; config is merged, so secrets need not be sent again, except with a change of base_url (or another host-deciding field). Disabling removes its schedule.',
        params: z.object({ id: z.string() }),
        body: z.object(connectionFields).partial(),
        response: { 200: connectionOut, 400: errorBody, 404: errorBody },
      },
    },
    async (request, reply) => {
      if (!(await findConnectionRow(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
      const row = await updateConnection(ctx.db, ctx.config.secretKey, request.params.id, request.body);
      await ctx.pulls?.reconcileSchedulers();
      return connectionView(row);
    },
  );

  app.delete('/api/v1/connections/:id', { schema: { tags, params: z.object({ id: z.string() }), response: { 204: z.null(), 404: errorBody } } }, async (request, reply) => {
    if (!(await deleteConnection(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
    await ctx.pulls?.reconcileSchedulers();
    return reply.status(204).send(null);
  });

  app.post('/api/v1/connections/:id/test', { schema: { tags, summary: 'Check the credentials against the network', params: z.object({ id: z.string() }), response: { 200: z.object({ ok: z.boolean(), message: z.string() }), 404: errorBody } } }, async (request, reply) => {
    if (!(await findConnectionRow(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
    return pulls().testConnection(request.params.id);
  });

  app.post('/api/v1/connections/:id/pull', { schema: { tags, summary: 'Pull now (checkpoint − lookback … now)', params: z.object({ id: z.string() }), response: { 202: z.object({ job_id: z.string() }), 404: errorBody, 503: errorBody } } }, async (request, reply) => {
    if (!(await findConnectionRow(ctx.db, request.params.id))) return reply.status(404).send(notFound(request.params.id));
    return reply.status(202).send({ job_id: await pulls().enqueuePull(request.params.id, 'manual', request.id) });
  });

  app.post(
    '/api/v1/backfills',
    { schema: { tags, summary: 'Pull a date range (UTC days, inclusive), chunked and resumable', body: z.object({ connection_id: uuid, from: day, to: day }), response: { 202: z.object({ id: z.string(), job_id: z.string().nullable() }), 400: errorBody, 404: errorBody, 503: errorBody } } },
    async (request, reply) => {
      if (!(await findConnectionRow(ctx.db, request.body.connection_id))) return reply.status(404).send(notFound(request.body.connection_id));
      const backfill = await pulls().startBackfill(request.body.connection_id, request.body.from, request.body.to, request.id);
      return reply.status(202).send({ id: backfill.id, job_id: backfill.job_id });
    },
  );

  app.get('/api/v1/backfills/:id', { schema: { tags, params: z.object({ id: z.string() }), response: { 200: backfillOut, 404: errorBody } } }, async (request, reply) => {
    const backfill = await findBackfill(ctx.db, request.params.id);
    return backfill ? backfillView(backfill) : reply.status(404).send({ error: { code: 'backfill_not_found', message: `backfill ${request.params.id} does not exist` } });
  });

  app.post('/api/v1/backfills/:id/cancel', { schema: { tags, summary: 'Cancel a queued or running backfill', params: z.object({ id: z.string() }), response: { 200: backfillOut, 404: errorBody, 503: errorBody } } }, async (request) =>
    backfillView(await pulls().cancelBackfill(request.params.id)),
  );
}
