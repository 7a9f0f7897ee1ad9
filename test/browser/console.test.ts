/// <reference lib="dom" />
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/cli';
import { CHROMIUM_ARGS, resolveChromium } from '../support/chromium';
import { adminUrl } from '../support/names';

/**
 * The operator console end to end in real headless Chromium, against `tally demo` itself (its
 * seeding, its sandbox network, its workers): log in, see the demo's revenue on the chart, find a
 * rejected postback with its reason and raw request, explain its URL, fix the network and register
 * it again, create a connection through the schema form and watch a backfill reach 100%.
 */
jest.setTimeout(120_000);

const OUTPUT = join(REPO_ROOT, 'test-output');
const ADMIN_TOKEN = `console-e2e-${randomBytes(12).toString('hex')}`;
const DEMO_NETWORK = '00000000-0000-4000-8000-00000000d001';
/** The demo's conversions (approved and pending) add up to this, in USD: 166.64 from the Everflow sandbox, 1.60 from the Tonic-shaped feed. */
const DEMO_REVENUE = '168.24';

let databaseName: string;
let demo: ChildProcess;
let stdout = '';
let consoleUrl: string;
let base: string;
let sandboxUrl: string;
let context: BrowserContext;
let page: Page;
let profile: string;
const pageErrors: string[] = [];

async function adminQuery<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
  const url = new URL(adminUrl());
  url.pathname = `/${databaseName}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

const shot = (name: string) => page.screenshot({ path: join(OUTPUT, `console-${name}.png`), fullPage: true });

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  databaseName = `tally_test_${process.env.TALLY_TEST_RUN_ID}_${randomBytes(3).toString('hex')}`;
  const url = new URL(adminUrl());
  url.pathname = `/${databaseName}`;
  profile = mkdtempSync(join(tmpdir(), 'tally-console-'));
  demo = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'tally.js'), 'demo'], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '', DATABASE_URL: url.toString(), PORT: '0', HOST: '127.0.0.1', ADMIN_TOKEN, LOG_LEVEL: 'warn',
      QUEUE_PREFIX: `console-e2e-${randomBytes(3).toString('hex')}`, TALLY_STATE_DIR: join(profile, 'state'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  demo.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  for (let waited = 0; waited < 60_000 && !stdout.includes('Ctrl-C stops'); waited += 200) {
    if (demo.exitCode !== null) throw new Error(`tally demo exited: ${stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  consoleUrl = /console\s+(http:\/\/127\.0\.0\.1:\d+\/console)\s/.exec(stdout)?.[1] ?? '';
  sandboxUrl = /sandbox\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1] ?? '';
  base = consoleUrl.replace(/\/console$/, '');
  // The same Chromium every browser test uses: CHROMIUM_PATH, one on PATH, or the packaged build.
  const binary = await resolveChromium();
  context = await chromium.launchPersistentContext(join(profile, 'chromium'), {
    executablePath: binary.executablePath,
    env: { ...process.env, ...binary.env } as Record<string, string>,
    headless: true,
    args: [...CHROMIUM_ARGS],
    viewport: { width: 1280, height: 900 },
    // CSP is bypassed only so the test can inject axe-core; the console itself runs no inline script.
    bypassCSP: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
});

afterAll(async () => {
  await context?.close();
  if (demo && demo.exitCode === null) {
    demo.kill('SIGINT');
    const timer = setTimeout(() => demo.kill('SIGKILL'), 10_000);
    await once(demo, 'exit');
    clearTimeout(timer);
  }
  rmSync(profile, { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(databaseName)} WITH (FORCE)`);
  await admin.end();
});

/** Accessibility rules (WCAG 2 A/AA: labels, contrast, names) checked by axe-core on the page as it is. */
async function expectAccessible(): Promise<void> {
  await page.addScriptTag({ path: require.resolve('axe-core') });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 3).join(', ')}`);
  });
  expect(violations).toEqual([]);
}

test('tally demo prints the console URL', () => {
  expect(consoleUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console$/);
  expect(sandboxUrl).not.toBe('');
});

test('log in with the admin token, keyboard only', async () => {
  await page.goto(consoleUrl);
  expect(page.url()).toContain('/console/login');
  await expectAccessible();
  await shot('login');
  // The token field has the focus; typing and Enter submit the form.
  await page.keyboard.type(ADMIN_TOKEN);
  await Promise.all([page.waitForURL(`${consoleUrl}`), page.keyboard.press('Enter')]);
  const cookies = await page.context().cookies();
  expect(cookies.find((cookie) => cookie.name === 'tally_session')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
});

test('the overview chart shows the demo revenue, with health of the connection and the server', async () => {
  await page.waitForSelector('#total-revenue');
  expect(await page.textContent('#total-revenue')).toBe(`${DEMO_REVENUE} USD`);
  // What the chart draws: the sum of its revenue bars is the demo's revenue.
  const plotted = await page.evaluate(() => {
    const chartApi = (window as unknown as { Chart: { getChart: (canvas: HTMLCanvasElement) => { data: { datasets: { label: string; data: number[] }[] } } } }).Chart;
    const chart = chartApi.getChart(document.querySelector('canvas') as HTMLCanvasElement);
    return chart.data.datasets.filter((dataset) => dataset.label.startsWith('Revenue')).flatMap((dataset) => dataset.data).reduce((total, value) => total + value, 0);
  });
  expect(plotted.toFixed(2)).toBe(DEMO_REVENUE);
  expect(await page.getAttribute('canvas', 'aria-label')).toContain(`${DEMO_REVENUE} USD in total`);
  await page.waitForSelector('text=Demo: Everflow sandbox');
  expect(await page.textContent('#connection-health + *')).toContain('healthy');
  await expectAccessible();
  await shot('overview');
  // Skip link: the first Tab lands on it, Enter moves on to the content.
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
});

test('find a rejected postback with its reason and raw request', async () => {
  const [clickless] = await adminQuery<{ click_id: string }>('SELECT click_id FROM clicks c WHERE NOT EXISTS (SELECT 1 FROM conversions v WHERE v.click_id = c.click_id) ORDER BY click_id LIMIT 1');
  const clickId = (clickless as { click_id: string }).click_id;
  const listed = await fetch(`${base}/api/v1/networks/${DEMO_NETWORK}`, {
    method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify({ postback_ips: ['203.0.113.0/24'] }),
  });
  expect(listed.status).toBe(200);
  const sent = await fetch(`${base}/cf/cv?click_id=${clickId}&payout=9.99&txid=CONSOLE-1`);
  expect(((await sent.json()) as { reason: string }).reason).toBe('ip_not_allowed');

  await page.click('nav >> text=Postback log');
  await page.selectOption('label:has-text("Outcome") + select', 'rejected');
  await page.fill('label:has-text("Reason") + input', 'ip_not_allowed');
  await page.click('button:has-text("Filter")');
  await page.waitForURL(/outcome=rejected/);
  const row = page.locator('tbody tr', { hasText: clickId });
  await row.getByRole('button', { name: /Open/ }).click();
  await page.waitForSelector("text=The postback came from an address outside the network's allow-list");
  const raw = await page.textContent('pre[aria-label="Raw request"]');
  expect(raw).toContain('"txid": "CONSOLE-1"');
  expect(raw).toContain(`"click_id": "${clickId}"`);
  expect(await page.textContent('tr.details-row')).toContain('127.0.0.1');
  expect(await page.textContent('tr.details-row')).toContain('How to fix:');
  await expectAccessible();
  await shot('postback-log');

  // Explain the same URL from the network's side: what Tally does with it, writing nothing.
  await page.click('nav >> text=Why didn\'t it count?');
  await page.fill('label:has-text("Postback URL") + textarea', `${base}/cf/cv?click_id=${clickId}&payout=9.99&txid=CONSOLE-1`);
  await page.fill('label:has-text("Sent from IP") + input', '127.0.0.1');
  await page.click('button:has-text("Explain")');
  await page.waitForSelector('#explain-verdict');
  expect(await page.textContent('#explain-verdict')).toContain('rejected · ip_not_allowed');
  expect(await page.textContent('#explain-verdict')).toContain('HTTP 403');
  expect(await page.textContent('section[aria-labelledby="history-title"]')).toContain('CONSOLE-1');
  await expectAccessible();
  await shot('explain');

  // Fix the cause in the network's form, then register the attempt again from the log.
  await page.click('nav >> text=Networks');
  await page.click('button:has-text("Edit")');
  await page.fill('label:has-text("Postback IPs") + textarea', '203.0.113.0/24\n127.0.0.1');
  await page.click('button:has-text("Save changes")');
  await page.waitForSelector('text=Saved Demo network');
  expect(await page.inputValue('input[id^="copy-"]')).toContain('/cf/cv?click_id=');
  await shot('networks');
  await page.goto(`${consoleUrl}/log?outcome=rejected&reason=ip_not_allowed`);
  await page.locator('tbody tr', { hasText: clickId }).getByRole('button', { name: /Open/ }).click();
  await page.click('button:has-text("Register again")');
  await page.waitForSelector('text=Registered again: accepted');
  const [conversion] = await adminQuery<{ payout: string }>("SELECT payout::text AS payout FROM conversions WHERE txid = 'CONSOLE-1'");
  expect(conversion).toEqual({ payout: '9.990000' });
  await shot('register-again');
});

test('create a connection through the schema form, test it, and watch a backfill reach 100%', async () => {
  await page.click('nav >> text=Connections');
  await page.click('button:has-text("New connection")');
  await page.selectOption('#new-connector', 'everflow');
  await page.fill('#new-name', 'Console backfill');
  // Fields generated from the connector's JSON Schema: the secret is a password field.
  expect(await page.getAttribute('#new-api_key', 'type')).toBe('password');
  await page.fill('#new-api_key', 'demo-sandbox-key');
  await page.fill('#new-base_url', sandboxUrl);
  await page.selectOption('#new-click_id_field', 'sub1');
  await page.selectOption('#new-network', DEMO_NETWORK);
  await expectAccessible();
  await shot('connection-form');
  await page.click('button:has-text("Create connection")');
  await page.waitForSelector('text=Saved Console backfill.');
  const card = page.locator('article', { hasText: 'Console backfill' });
  expect(await card.textContent()).toContain('api_key=[redacted]');
  await card.getByRole('button', { name: 'Test Console backfill' }).click();
  await card.locator('text=Test passed').waitFor();

  const [today] = await adminQuery<{ day: string }>("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day");
  const from = await adminQuery<{ day: string }>("SELECT to_char((now() AT TIME ZONE 'UTC')::date - 69, 'YYYY-MM-DD') AS day");
  await card.locator('input[type=date]').first().fill((from[0] as { day: string }).day);
  await card.locator('input[type=date]').nth(1).fill((today as { day: string }).day);
  await card.getByRole('button', { name: 'Start backfill' }).click();
  const progress = card.locator('.backfill-percent').first();
  await progress.waitFor();
  await card.locator('.backfill .badge', { hasText: 'completed' }).waitFor({ timeout: 60_000 });
  expect(await progress.textContent()).toBe('100%');
  expect(await card.locator('progress').first().getAttribute('max')).toBe('3');
  await shot('backfill');
});

test('Bull Board opens with the console session; logging out ends it', async () => {
  const board = await page.goto(`${base}/admin/queues`);
  expect(board?.status()).toBe(200);
  await page.goto(consoleUrl);
  await page.click('button:has-text("Log out")');
  await page.waitForURL(/\/console\/login/);
  const after = await page.evaluate(async () => (await fetch('/api/v1/networks')).status);
  expect(after).toBe(401);
  expect(pageErrors).toEqual([]);
});
