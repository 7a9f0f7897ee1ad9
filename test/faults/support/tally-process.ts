import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports';

export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const OUTPUT = join(REPO_ROOT, 'test-output', 'faults');
export const ADMIN_TOKEN = 'fault-admin-token-0123456789abcdef';
export const SECRET_KEY = '7'.repeat(64);

/** The environment of every Tally process of one case: its throwaway Postgres and Redis, shortened times. */
export interface CaseEnvironment {
  readonly name: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  /** Shared by the case's `serve` processes, as on one machine. */
  readonly spoolDir: string;
  readonly extra?: Readonly<Record<string, string>>;
}

export function caseEnvironment(name: string, databaseUrl: string, redisUrl: string, extra: Record<string, string> = {}): CaseEnvironment {
  mkdirSync(OUTPUT, { recursive: true });
  return { name, databaseUrl, redisUrl, spoolDir: mkdtempSync(join(tmpdir(), `tally-fault-spool-${name}-`)), extra };
}

function environment(env: CaseEnvironment, own: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    QUEUE_PREFIX: `fault-${env.name}`,
    ADMIN_TOKEN,
    SECRET_KEY,
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    TALLY_STATE_DIR: join(env.spoolDir, '..', `${env.name}-state`),
    SPOOL_DIR: env.spoolDir,
    REJECT_LIMIT_PER_MINUTE: '0',
    // Compressed time: a killed worker's jobs and locks come back within seconds, retries start after one.
    TALLY_WORKER_LOCK_MS: '2000',
    TALLY_JOB_BACKOFF_MS: '1000',
    ...env.extra,
    ...own,
  };
}

/** A `tally serve` or `tally worker` process, its output kept in test-output/faults/. */
export class TallyProcess {
  private constructor(
    readonly child: ChildProcess,
    readonly baseUrl: string,
    readonly label: string,
  ) {}

  /** Runs `tally migrate` (creates the database too). */
  static async migrate(env: CaseEnvironment): Promise<void> {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'migrate'], { cwd: REPO_ROOT, env: environment(env, {}), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    if (code !== 0) throw new Error(`tally migrate failed: ${stderr}`);
  }

  /** Starts `tally serve` and waits until it answers /healthz. */
  static async serve(env: CaseEnvironment, label = 'serve', own: Record<string, string> = {}): Promise<TallyProcess> {
    const port = await freePort();
    const process_ = TallyProcess.spawn(env, ['serve'], label, { PORT: String(port), ...own }, `http://127.0.0.1:${port}`);
    await waitFor(async () => (await fetch(`${process_.baseUrl}/healthz`)).status, (status) => status === 200, `${label} to listen`, 60_000, 50);
    return process_;
  }

  /** Starts `tally worker` with /metrics on a port of its own and waits until it answers. */
  static async worker(env: CaseEnvironment, label = 'worker', own: Record<string, string> = {}): Promise<TallyProcess> {
    const port = await freePort();
    const process_ = TallyProcess.spawn(env, ['worker'], label, { METRICS_PORT: String(port), ...own }, `http://127.0.0.1:${port}`);
    await waitFor(async () => (await fetch(`${process_.baseUrl}/healthz`)).status, (status) => status === 200, `${label} to start`, 60_000, 50);
    return process_;
  }

  private static spawn(env: CaseEnvironment, args: string[], label: string, own: Record<string, string>, baseUrl: string): TallyProcess {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), ...args], { cwd: REPO_ROOT, env: environment(env, own), stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(OUTPUT, `${env.name}-${label}.log`), { flags: 'a' });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    return new TallyProcess(child, baseUrl, label);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill -9: no shutdown code runs. */
  async kill9(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGKILL');
    await once(this.child, 'exit');
  }

  /** SIGTERM and wait (graceful stop). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 40_000);
    await once(this.child, 'exit');
    clearTimeout(timer);
  }

  /** An admin API call. */
  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body !== undefined ? { 'content-type': typeof body === 'string' ? 'text/csv' : 'application/json' } : {}) },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (response.status >= 400) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** The process's Prometheus text. */
  async metrics(): Promise<string> {
    const response = await fetch(`${this.baseUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return response.text();
  }
}

/** A sample's value from Prometheus text (0 when absent). */
export function metricValue(text: string, name: string, labels = ''): number {
  const escaped = `${name}${labels ? `{${labels}}` : ''}`.replace(/[{}()[\].*+?^$|\\]/g, '\\$&');
  const match = new RegExp(`^${escaped} (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : 0;
}

/** A network, an auto-payout offer on it, a campaign and `count` clicks, made through the admin API. */
export async function seedFunnel(serve: TallyProcess, count: number): Promise<{ networkId: string; offerId: string; campaignId: string; clickIds: string[] }> {
  const network = await serve.api<{ id: string }>('POST', '/api/v1/networks', { name: 'Fault network' });
  const offer = await serve.api<{ id: string }>('POST', '/api/v1/offers', { name: 'Fault offer', url: 'https://offer.example/?s={cf_click_id}', network_id: network.id, payout_mode: 'auto' });
  const campaign = await serve.api<{ id: string }>('POST', '/api/v1/campaigns', { name: 'Fault campaign', offer_id: offer.id });
  const clickIds: string[] = [];
  // Batches that fit the admin API's 64 KB body limit.
  for (let made = 0; made < count; made += 400) {
    const batch = Array.from({ length: Math.min(400, count - made) }, (_, index) => ({ click_id: `fc-${made + index}`, campaign_id: campaign.id, visited_at: new Date(Date.now() - 40 * 86_400_000).toISOString() }));
    clickIds.push(...(await serve.api<{ click_ids: string[] }>('POST', '/api/v1/clicks', { clicks: batch })).click_ids);
  }
  return { networkId: network.id, offerId: offer.id, campaignId: campaign.id, clickIds };
}
