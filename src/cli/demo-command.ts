import type { TallyConfig } from '../config/config';
import { createConnection, listConnections, updateConnection } from '../connections/connection-store';
import { query } from '../db/sql';
import { startSandboxNetwork, listData, type SandboxConversion } from '../demo/sandbox-network';
import { startSandboxTonic, type SandboxEpcRow } from '../demo/sandbox-tonic';
import { zonedDay } from '../../connectors/kit/zoned-time';
import { TONIC_TIME_ZONE } from '../../connectors/tonic';
import { createLogger } from '../log/logger';
import { formatMoney } from '../money/decimal';
import { Metrics } from '../observability/metrics';
import { startHttp } from '../runtime/http-runtime';
import { openPullRuntime } from '../runtime/pull-runtime';
import { openServices } from '../runtime/services';
import { onShutdown } from './shutdown';

/** Fixed ids so that running the demo again reuses what the first run created. */
const DEMO = {
  networkId: '00000000-0000-4000-8000-00000000d001',
  offerId: '00000000-0000-4000-8000-00000000d002',
  campaignId: '00000000-0000-4000-8000-00000000d003',
  connectionName: 'Demo: Everflow sandbox',
  apiKey: 'demo-sandbox-key',
  tonicConnectionName: 'Demo: Tonic sandbox (revenue feed)',
};

/** The sandbox Tonic feed restates today's revenue, then calls it final, while the demo runs. */
const RESTATE_AFTER_MS = 40_000;
const FINAL_AFTER_MS = 100_000;
/**
 * Revenue per demo click (by index) as estimated, restated and final; one sub-id matches no click.
 * Restatements move money between clicks, so the matched total (1.60) stays the same at every stage.
 */
const REVENUE: readonly (readonly [number | 'unknown', string, string, string])[] = [
  [0, '0.42', '0.47', '0.45'],
  [1, '1.10', '1.05', '1.07'],
  [3, '0.08', '0.08', '0.08'],
  ['unknown', '2.00', '2.00', '1.90'],
];

const CLICKS = 12;
/** Statuses move on while the demo runs, so the scheduled pulls have late changes to pick up. */
const APPROVE_AFTER_MS = 50_000;
const REVERSE_AFTER_MS = 110_000;

type Plan = { payout: string; status: 'approved' | 'pending' | 'reversed_later'; event?: string };
const PLAN: readonly (Plan | null)[] = [
  { payout: '12.50', status: 'approved' },
  { payout: '12.50', status: 'approved' },
  { payout: '30.00', status: 'pending' },
  { payout: '12.50', status: 'pending' },
  { payout: '45.90', status: 'reversed_later' },
  null,
  { payout: '12.50', status: 'approved', event: 'Upsell' },
  { payout: '8.25', status: 'pending' },
  null,
  { payout: '12.50', status: 'approved' },
  null,
  { payout: '19.99', status: 'approved' },
];

function line(columns: readonly string[], widths: readonly number[]): string {
  return columns.map((column, index) => column.padEnd(widths[index] ?? 0)).join('  ').trimEnd();
}

/**
 * `tally demo`: everything on one machine with Postgres and Redis at their defaults. Creates a
 * demo network, offer and campaign, sends 12 visitors through the real click endpoint, starts a
 * sandbox that speaks Everflow's affiliate reporting API with conversions for those clicks (some
 * approved later, one reversed, one for a click Tally never saw), connects to it, pulls, prints
 * what was registered, and keeps running — scheduled pulls pick up the later changes — until
 * Ctrl-C.
 */
export async function runDemo(config: TallyConfig, write: (text: string) => void): Promise<void> {
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'stderr');
  const metrics = new Metrics();
  const services = await openServices(config, { poolMax: 20, applicationName: 'tally-demo', metrics });
  const pulls = await openPullRuntime(config, services, logger, metrics);
  await pulls.startWorkers();
  let http;
  try {
    http = await startHttp(config, logger, { services, pulls: pulls.service, metrics, redis: pulls.redis });
  } catch (error) {
    await pulls.close();
    await services.close();
    if ((error as { code?: string }).code === 'EADDRINUSE') throw new Error(`port ${config.port} is in use; run the demo with another PORT, e.g. PORT=8090 npx tally demo`);
    throw error;
  }
  const base = `http://127.0.0.1:${(http.app.server.address() as { port: number }).port}`;
  const { db } = services;

  await query(db, "INSERT INTO networks (id, name, currency) VALUES ($1, 'Demo network (Everflow sandbox)', 'USD') ON CONFLICT (id) DO NOTHING", [DEMO.networkId]);
  await query(db, "INSERT INTO offers (id, name, url, network_id, payout_mode) VALUES ($1, 'Demo offer', $2, $3, 'auto') ON CONFLICT (id) DO NOTHING", [
    DEMO.offerId,
    'https://offer.example/landing?sub1={cf_click_id}',
    DEMO.networkId,
  ]);
  await query(db, "INSERT INTO campaigns (id, name, offer_id) VALUES ($1, 'Demo campaign', $2) ON CONFLICT (id) DO NOTHING", [DEMO.campaignId, DEMO.offerId]);

  // Visitors go through the real click endpoint; the offer URL carries each click ID in sub1.
  const clickIds: string[] = [];
  for (let visitor = 0; visitor < CLICKS; visitor += 1) {
    const response = await fetch(`${base}/cf/click/${DEMO.campaignId}?source=demo&visitor=${visitor}`, { redirect: 'manual' });
    const clickId = new URL(response.headers.get('location') ?? '').searchParams.get('sub1');
    if (!clickId) throw new Error('the click endpoint did not redirect with a click ID');
    clickIds.push(clickId);
  }

  const started = Date.now();
  const conversionTime = Math.floor(started / 1000) - 600;
  const records = (): SandboxConversion[] => {
    const elapsed = Date.now() - started;
    const out: SandboxConversion[] = [];
    PLAN.forEach((plan, index) => {
      if (!plan) return;
      const status =
        plan.status === 'approved' ? 'approved'
        : plan.status === 'pending' ? (elapsed >= APPROVE_AFTER_MS ? 'approved' : 'pending')
        : elapsed >= REVERSE_AFTER_MS ? 'rejected' : 'approved';
      out.push({
        conversion_id: `demo${started.toString(16)}${index.toString().padStart(2, '0')}`,
        conversion_unix_timestamp: conversionTime + index * 30,
        sub1: clickIds[index] as string,
        revenue: plan.payout,
        currency_id: 'USD',
        status,
        ...(plan.event ? { is_event: true, event: plan.event } : {}),
      });
    });
    // A conversion for a click this tracker never issued: registered as unmatched, kept for re-matching.
    out.push({ conversion_id: `demo${started.toString(16)}xx`, conversion_unix_timestamp: conversionTime, sub1: 'not-a-tally-click', revenue: '5.00', currency_id: 'USD', status: 'approved' });
    return out;
  };
  const sandbox = await startSandboxNetwork(listData(records), { apiKey: DEMO.apiKey });

  const existing = (await listConnections(db)).find((connection) => connection.name === DEMO.connectionName);
  const connectionSettings = { name: DEMO.connectionName, config: { api_key: DEMO.apiKey, base_url: sandbox.url, click_id_field: 'sub1' }, every_minutes: 1, lookback_days: 1, network_id: DEMO.networkId, enabled: true };
  const connection = existing
    ? await updateConnection(db, config.secretKey, existing.id, connectionSettings)
    : await createConnection(db, config.secretKey, { connector: 'everflow', ...connectionSettings });
  await pulls.service.reconcileSchedulers();

  const printConversions = async (title: string): Promise<void> => {
    const rows = await query<{ click_id: string; txid: string; type: string; status: string; payout: string; revision: number }>(db, 'SELECT click_id, txid, type, status, payout, revision FROM conversions WHERE campaign_id = $1 AND connection_id = $2 ORDER BY txid',
      [DEMO.campaignId, connection.id],
    );
    const widths = [26, 22, 11, 10, 9, 8];
    write(`\n${title}\n${line(['click id', 'txid (network)', 'type', 'status', 'payout', 'changes'], widths)}\n`);
    for (const row of rows) write(`${line([row.click_id, row.txid, row.type, row.status, formatMoney(row.payout) ?? '', String(row.revision - 1)], widths)}\n`);
    const [unmatched] = await query<{ count: string }>(db, "SELECT count(*)::text AS count FROM registration_log WHERE connection_id = $1 AND reason = 'unknown_click_id'", [connection.id]);
    write(`(${rows.length} conversions from ${CLICKS} clicks; ${unmatched?.count ?? 0} pulled record(s) with an unknown click ID kept in the postback log for re-matching)\n`);
  };

  const waitForRun = async (after: Date, connectionId = connection.id): Promise<void> => {
    for (let waited = 0; waited < 60_000; waited += 250) {
      const [run] = await query<{ status: string; error: string | null }>(db, "SELECT status, error FROM pull_runs WHERE connection_id = $1 AND started_at >= $2 AND status <> 'running' ORDER BY id DESC LIMIT 1", [connectionId, after]);
      if (run) {
        if (run.status === 'failed') write(`pull failed: ${run.error}\n`);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    write('the first pull is taking longer than a minute; watch it in Bull Board\n');
  };

  const firstPull = new Date(Date.now() - 1000);
  await pulls.service.enqueuePull(connection.id, 'demo');
  await waitForRun(firstPull);
  await printConversions('Registered from the sandbox network (Everflow affiliate API shape):');

  // A revenue feed: a sandbox speaking Tonic's publisher API reports today's revenue per subid4,
  // estimated first, restated, then final; Tally keeps one `revenue` conversion per (click, day).
  const feedDay = zonedDay(new Date(started), TONIC_TIME_ZONE);
  const feedRows = (): SandboxEpcRow[] => {
    const elapsed = Date.now() - started;
    const stage = elapsed >= FINAL_AFTER_MS ? 3 : elapsed >= RESTATE_AFTER_MS ? 2 : 1;
    const revenueType = stage === 3 ? 'final' : stage === 2 ? 'estimated_revenue_5h' : 'estimated_revenue';
    return REVENUE.map(([click, ...amounts]) => ({ date: feedDay, subid4: click === 'unknown' ? 'not-a-tally-click' : (clickIds[click] as string), revenueUsd: amounts[stage - 1] as string, revenue_type: revenueType }));
  };
  const tonic = await startSandboxTonic(feedRows, { consumerKey: 'demo-consumer-key', consumerSecret: 'demo-consumer-secret' });
  const existingFeed = (await listConnections(db)).find((row) => row.name === DEMO.tonicConnectionName);
  const feedSettings = { name: DEMO.tonicConnectionName, config: { consumer_key: 'demo-consumer-key', consumer_secret: 'demo-consumer-secret', base_url: tonic.url, click_id_field: 'subid4' }, every_minutes: 1, network_id: DEMO.networkId, enabled: true };
  const feed = existingFeed ? await updateConnection(db, config.secretKey, existingFeed.id, feedSettings) : await createConnection(db, config.secretKey, { connector: 'tonic', ...feedSettings });
  await pulls.service.reconcileSchedulers();
  const printRevenue = async (title: string): Promise<void> => {
    const rows = await query<{ click_id: string; txid: string; status: string; payout: string; network_status: string | null; revision: number }>(db, "SELECT click_id, txid, status, payout, network_status, revision FROM conversions WHERE connection_id = $1 AND type = 'revenue' ORDER BY click_id",
      [feed.id],
    );
    const widths = [26, 18, 10, 9, 22, 8];
    write(`\n${title}\n${line(['click id', 'txid (feed:day)', 'status', 'revenue', 'feed status', 'changes'], widths)}\n`);
    for (const row of rows) write(`${line([row.click_id, row.txid, row.status, formatMoney(row.payout) ?? '', row.network_status ?? '', String(row.revision - 1)], widths)}\n`);
    const [day] = await query<{ unmatched_amount: string; state: string }>(db, 'SELECT unmatched_amount::text AS unmatched_amount, state FROM revenue_days WHERE connection_id = $1 AND day = $2', [feed.id, feedDay]);
    write(`(${rows.length} revenue conversions for ${feedDay}, day ${day?.state ?? 'not pulled'}; ${formatMoney(day?.unmatched_amount ?? '0')} of revenue matched no click)\n`);
  };
  const firstFeedPull = new Date(Date.now() - 1000);
  await pulls.service.enqueuePull(feed.id, 'demo');
  await waitForRun(firstFeedPull, feed.id);
  await printRevenue('Revenue from the sandbox feed (Tonic publisher API shape), estimated:');

  const token = config.adminTokenGenerated ? `${config.adminToken} (generated into ${config.stateDir}/admin-token)` : '$ADMIN_TOKEN';
  write(`
Tally is running at ${base}
  console      ${base}/console  (log in with the admin token)
  admin API    curl -H "Authorization: Bearer ${config.adminToken}" ${base}/api/v1/conversions
  postback log ${base}/api/v1/postback-log?source=api
  Bull Board   ${base}/admin/queues  (any user name, the admin token as password)
  API docs     ${base}/docs
  admin token  ${token}
  sandbox      ${sandbox.url} (connection ${connection.id}, pulled every minute)
  revenue feed ${tonic.url} (Tonic-shaped, connection ${feed.id}, pulled every minute)

Pending conversions are approved in the sandbox after ~${APPROVE_AFTER_MS / 1000} s and one is reversed after
~${REVERSE_AFTER_MS / 1000} s; the scheduled pulls re-read the lookback and update them in place. The feed
restates today's revenue after ~${RESTATE_AFTER_MS / 1000} s and calls it final after ~${FINAL_AFTER_MS / 1000} s. Ctrl-C stops.
`);

  // Track runs by id: timestamps come back from Postgres with microseconds a JS Date drops.
  const [latest] = await query<{ id: string }>(db, 'SELECT coalesce(max(id), 0)::text AS id FROM pull_runs WHERE connection_id = $1', [connection.id]);
  let lastRunId = latest?.id ?? '0';
  const [latestFeed] = await query<{ id: string }>(db, 'SELECT coalesce(max(id), 0)::text AS id FROM pull_runs WHERE connection_id = $1', [feed.id]);
  let lastFeedRunId = latestFeed?.id ?? '0';
  const watcher = setInterval(() => {
    void (async () => {
      const [run] = await query<{ id: string; finished_at: Date; updated: number; inserted: number }>(db, "SELECT id::text AS id, finished_at, updated, inserted FROM pull_runs WHERE connection_id = $1 AND status = 'completed' AND id > $2 ORDER BY id DESC LIMIT 1",
        [connection.id, lastRunId],
      );
      if (!run) return;
      lastRunId = run.id;
      if (run.updated > 0 || run.inserted > 0) await printConversions(`Scheduled pull at ${run.finished_at.toISOString()}: ${run.inserted} new, ${run.updated} updated`);
      else write(`scheduled pull at ${run.finished_at.toISOString()}: nothing changed\n`);
    })().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'demo watcher'));
    void (async () => {
      const [run] = await query<{ id: string; finished_at: Date; updated: number; inserted: number }>(db, "SELECT id::text AS id, finished_at, updated, inserted FROM pull_runs WHERE connection_id = $1 AND status = 'completed' AND id > $2 ORDER BY id DESC LIMIT 1",
        [feed.id, lastFeedRunId],
      );
      if (!run) return;
      lastFeedRunId = run.id;
      if (run.updated > 0 || run.inserted > 0) await printRevenue(`Feed pull at ${run.finished_at.toISOString()}: ${run.inserted} new, ${run.updated} restated`);
    })().catch((error: unknown) => logger.warn({ err: (error as Error).message }, 'demo watcher'));
  }, 5000);

  await onShutdown(logger, async () => {
    clearInterval(watcher);
    await http.stop();
    await pulls.close();
    await sandbox.close();
    await tonic.close();
    await services.close();
  });
  write('demo stopped\n');
}
