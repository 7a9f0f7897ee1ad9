import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, findChromium } from '../support/chromium';

/**
 * What a fresh machine without a browser package sees: nothing on PATH, no CHROMIUM_PATH. The
 * browser tests then run the Chromium that the @sparticuz/chromium dev dependency ships.
 */
jest.setTimeout(120_000);

test('without a browser on the machine, the packaged Chromium is unpacked and drives a page', async () => {
  const binary = await findChromium({ PATH: '/nonexistent' });
  expect(binary.source).toBe('@sparticuz/chromium');
  expect(execFileSync(binary.executablePath, ['--version'], { env: { ...binary.env }, encoding: 'utf8' })).toMatch(/^Chromium \d+\./);
  const profile = mkdtempSync(join(tmpdir(), 'tally-chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: binary.executablePath, headless: true, args: CHROMIUM_ARGS, env: { ...binary.env } });
  try {
    const page = await context.newPage();
    await page.setContent('<title>packaged</title><p id="p">it runs</p>');
    expect(await page.title()).toBe('packaged');
    expect(await page.textContent('#p')).toBe('it runs');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('CHROMIUM_PATH wins, and a wrong one is an error, never a skip', async () => {
  await expect(findChromium({ PATH: '/nonexistent', CHROMIUM_PATH: '/nonexistent/chromium' })).rejects.toThrow('CHROMIUM_PATH is /nonexistent/chromium, which is not an executable file');
});
