/// <reference lib="dom" />
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { createTestApp, type TestApp } from '../support/app';
import { createFunnel } from '../support/fixtures';

/**
 * Real headless Chromium. Tally's tracking domain is `localhost`; the offer and thank-you pages
 * are served either from `127.0.0.1` (another site: the tracking cookie is third-party there) or
 * from `localhost` on another port (the same site: the cookie is first-party).
 */
jest.setTimeout(90_000);

const OUTPUT = join(__dirname, '..', '..', 'test-output');
let testDb: TestDatabase;
let tally: TestApp;
let trackingBase: string;
let pages: Server;
let pagesPort: number;
let context: BrowserContext;
let profile: string;

/** Landing and thank-you pages of the advertiser, as a network's offer would have them. */
function pageHtml(path: string): string | undefined {
  const script = `<script src="${trackingBase}/cf/script.js"></script>`;
  const pixel = (txid: string) => `<img id="pixel" width="1" height="1" alt="" src="${trackingBase}/cf/cv?payout=5.00&txid=${txid}">`;
  const [route, query = ''] = path.split('?');
  const txid = new URLSearchParams(query).get('t') ?? 'X';
  switch (route) {
    case '/landing':
      return `<!doctype html><title>Offer</title><h1>Offer landing page</h1>${script}<a id="buy" href="/thanks?t=${txid}">Buy</a>`;
    case '/thanks':
      return `<!doctype html><title>Thank you</title><h1>Thank you for your order</h1>
        <p>Image pixel: ${pixel(`PIXEL-${txid}`)}</p>
        ${script}
        <script>tally('conversion', { payout: '7.50', txid: 'SCRIPT-${txid}', ct: 'sale', currency: 'OPTIONAL' });</script>`;
    case '/thanks-attributes':
      return `<!doctype html><title>Thank you</title><h1>Thank you</h1>
        <script src="${trackingBase}/cf/script.js" data-conversion data-payout="{payout}" data-txid="ATTR-${txid}" data-ct="lead"></script>`;
    default:
      return undefined;
  }
}

beforeAll(async () => {
  mkdirSync(OUTPUT, { recursive: true });
  testDb = await createTestDatabase();
  tally = await createTestApp(testDb);
  await tally.app.listen({ host: '127.0.0.1', port: 0 });
  trackingBase = `http://localhost:${(tally.app.server.address() as AddressInfo).port}`;
  pages = createServer((request, response) => {
    const html = pageHtml(request.url ?? '/');
    response.writeHead(html ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    response.end(html ?? 'not found');
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pagesPort = (pages.address() as AddressInfo).port;
  profile = mkdtempSync(join(tmpdir(), 'tally-chromium-'));
  context = await launchChromium(profile);
});

afterAll(async () => {
  await context?.close();
  rmSync(profile, { recursive: true, force: true });
  await new Promise<void>((resolve) => pages.close(() => resolve()));
  await tally.app.close();
  await testDb.drop();
});

/** Follows a campaign click to the offer and on to a thank-you page; waits for both conversions to be answered. */
async function journey(offerHost: string, txid: string, thanksPath = '/thanks'): Promise<{ page: Page; conversionRequests: string[] }> {
  const funnel = await createFunnel(testDb.db, { offer: { url: `http://${offerHost}:${pagesPort}/landing?cf_click_id={cf_click_id}&t=${txid}` } });
  const page = await context.newPage();
  const conversionRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/cf/cv')) conversionRequests.push(request.url());
  });
  await page.goto(`${trackingBase}/cf/click/${funnel.campaignId}`);
  expect(new URL(page.url()).hostname).toBe(offerHost);
  await page.waitForFunction(() => typeof (window as unknown as { tally?: unknown }).tally === 'function');
  const expected = thanksPath === '/thanks' ? 2 : 1;
  const answered = new Promise<void>((resolve) => {
    let count = 0;
    page.on('response', (response) => {
      if (response.url().includes('/cf/cv') && (count += 1) === expected) resolve();
    });
  });
  if (thanksPath === '/thanks') await page.click('#buy');
  else await page.goto(`http://${offerHost}:${pagesPort}${thanksPath}?t=${txid}`);
  await answered;
  return { page, conversionRequests };
}

async function conversionsWith(txid: string) {
  return testDb.db('conversions').where({ txid });
}

test('third-party tracking cookie: the image pixel cannot register, the conversion script does', async () => {
  // The thank-you page is on 127.0.0.1; the tracking cookie belongs to localhost, another site.
  const { page } = await journey('127.0.0.1', 'third');
  await page.screenshot({ path: join(OUTPUT, 'thank-you-third-party-cookie.png'), fullPage: true });
  process.stdout.write(`screenshot: ${join(OUTPUT, 'thank-you-third-party-cookie.png')}\n`);

  expect(await conversionsWith('PIXEL-third')).toHaveLength(0);
  const [pixelAttempt] = await testDb.db('registration_log').where({ source: 'pixel', reason: 'missing_click_id' }).whereRaw("request->'query'->>'txid' = 'PIXEL-third'");
  expect(pixelAttempt).toMatchObject({ outcome: 'rejected' });
  expect(pixelAttempt.request.cookie_click_id).toBeUndefined();

  const [scripted] = await conversionsWith('SCRIPT-third');
  expect(scripted).toMatchObject({ source: 'script', payout: '7.500000', type: 'sale', currency: 'USD' });
  // The script kept the click ID in the offer site's own (first-party) storage.
  const stored = await page.evaluate(() => [document.cookie, window.localStorage.getItem('cf_click_id')]);
  expect(stored[0]).toContain(`cf_click_id=${scripted.click_id}`);
  expect(stored[1]).toBe(scripted.click_id);
  await page.close();
});

test('first-party tracking cookie: both the image pixel and the conversion script register', async () => {
  // The thank-you page is on localhost (another port, same site): the tracking cookie is first-party.
  const { page } = await journey('localhost', 'first');
  await page.screenshot({ path: join(OUTPUT, 'thank-you-first-party-cookie.png'), fullPage: true });
  process.stdout.write(`screenshot: ${join(OUTPUT, 'thank-you-first-party-cookie.png')}\n`);

  const [pixel] = await conversionsWith('PIXEL-first');
  const [scripted] = await conversionsWith('SCRIPT-first');
  expect(pixel).toMatchObject({ source: 'pixel', payout: '5.000000' });
  expect(scripted).toMatchObject({ source: 'script', payout: '7.500000' });
  // Both carried the same visitor's click ID: one from the cookie, one from the script's storage.
  expect(pixel.click_id).toBe(scripted.click_id);
  await page.close();
});

test('the data-attribute form fires once and never sends a placeholder', async () => {
  const { page, conversionRequests } = await journey('127.0.0.1', 'attr', '/thanks-attributes');
  expect(conversionRequests).toHaveLength(1);
  const sent = new URL(conversionRequests[0] as string);
  expect(sent.searchParams.get('txid')).toBe('ATTR-attr');
  expect(sent.searchParams.get('ct')).toBe('lead');
  expect(sent.searchParams.has('payout')).toBe(false);
  expect(sent.search).not.toMatch(/OPTIONAL|%7B|\{/i);
  const [conversion] = await conversionsWith('ATTR-attr');
  expect(conversion).toMatchObject({ source: 'script', type: 'lead', payout: '0.000000' });
  await page.close();
});
