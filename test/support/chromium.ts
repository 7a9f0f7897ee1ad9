import { accessSync, chmodSync, constants, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib';
import { chromium, type BrowserContext } from 'playwright-core';

/** A Chromium the browser tests can drive, and where it came from. */
export interface ChromiumBinary {
  readonly executablePath: string;
  /** Extra environment for the browser process (libraries the packaged build brings along). */
  readonly env: Readonly<Record<string, string>>;
  readonly source: 'CHROMIUM_PATH' | 'PATH' | '@sparticuz/chromium';
}

/** Launch flags every browser test uses (see STACK.md). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const ON_PATH = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

let resolved: Promise<ChromiumBinary> | undefined;

/**
 * Finds a Chromium for the browser tests, in this order: `CHROMIUM_PATH`; a `chromium` (or
 * Chrome) on PATH, as Debian's package installs it; else the build that the `@sparticuz/chromium`
 * dev dependency ships inside the npm package, unpacked once into the temp directory together
 * with the NSS libraries it needs (so a machine without a browser package still runs the tests).
 * Nothing is downloaded. When none is usable it throws, saying how to get one: browser tests are
 * never skipped silently.
 */
export function resolveChromium(): Promise<ChromiumBinary> {
  resolved ??= findChromium(process.env);
  return resolved;
}

/** A persistent headless context on a fresh profile directory, with the standard flags. */
export async function launchChromium(profileDir: string, options: { args?: readonly string[] } = {}): Promise<BrowserContext> {
  const binary = await resolveChromium();
  return chromium.launchPersistentContext(profileDir, {
    executablePath: binary.executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
    env: { ...process.env, ...binary.env } as Record<string, string>,
  });
}

/** The resolution of {@link resolveChromium} for a given environment, uncached. */
export async function findChromium(env: NodeJS.ProcessEnv): Promise<ChromiumBinary> {
  const given = env.CHROMIUM_PATH;
  if (given) {
    if (!isExecutable(given)) throw new Error(`CHROMIUM_PATH is ${given}, which is not an executable file`);
    return { executablePath: given, env: {}, source: 'CHROMIUM_PATH' };
  }
  for (const name of ON_PATH) {
    const path = onPath(name, env.PATH ?? '');
    if (path) return { executablePath: path, env: {}, source: 'PATH' };
  }
  const packaged = await unpackSparticuz(env);
  if (packaged) return packaged;
  throw new Error(
    'No Chromium for the browser tests: none on PATH (chromium, chromium-browser, google-chrome), CHROMIUM_PATH unset, and the @sparticuz/chromium dev dependency is not installed. ' +
      'Run `npm ci` (it installs @sparticuz/chromium), or `apt-get install -y chromium`, or set CHROMIUM_PATH.',
  );
}

function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir !== '' && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unpacks the Chromium of @sparticuz/chromium (a brotli-compressed headless-shell build) and its
 * bundled NSS/expat libraries into `<tmp>/tally-chromium-<version>`. Each file is written under a
 * temporary name and renamed into place, so parallel test workers never run a half-written binary.
 */
async function unpackSparticuz(env: NodeJS.ProcessEnv): Promise<ChromiumBinary | undefined> {
  let bin: string;
  let version: string;
  try {
    // The package is ESM-only; resolving its entry point is enough to find its files.
    bin = join(dirname(require.resolve('@sparticuz/chromium')), '..', 'bin');
    version = (JSON.parse(readFileSync(join(bin, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
  const cache = join(tmpdir(), `tally-chromium-bin-${version}`);
  const executable = join(cache, 'chromium');
  const libs = join(cache, 'lib');
  mkdirSync(cache, { recursive: true });
  if (!existsSync(libs)) {
    const staging = `${libs}.${process.pid}`;
    mkdirSync(staging, { recursive: true });
    // lib/libnss3.so, libnspr4.so, … (built for Amazon Linux 2023; glibc-compatible with Debian 12).
    for (const file of tarFiles(brotliDecompressSync(readFileSync(join(bin, 'al2023.tar.br'))))) {
      writeFileSync(join(staging, basename(file.name)), file.data, { mode: 0o755 });
    }
    try {
      renameSync(staging, libs);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  if (!existsSync(executable)) {
    const staging = `${executable}.${process.pid}`;
    await pipeline(createReadStream(join(bin, 'chromium.br')), createBrotliDecompress(), createWriteStream(staging, { mode: 0o700 }));
    chmodSync(staging, 0o755);
    renameSync(staging, executable);
  }
  return { executablePath: executable, env: { LD_LIBRARY_PATH: [libs, env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter) }, source: '@sparticuz/chromium' };
}

/** The regular files of a (ustar) tar archive; enough for the package's flat library archive. */
function tarFiles(archive: Buffer): { name: string; data: Buffer }[] {
  const files: { name: string; data: Buffer }[] = [];
  const text = (from: number, length: number): string => archive.toString('utf8', from, from + length).replace(/\0.*$/s, '');
  for (let offset = 0; offset + 512 <= archive.length; ) {
    const name = text(offset, 100);
    if (name === '') break;
    const size = parseInt(text(offset + 124, 12).trim() || '0', 8);
    const type = text(offset + 156, 1);
    const prefix = text(offset + 345, 155);
    if (type === '0' || type === '') files.push({ name: prefix ? `${prefix}/${name}` : name, data: archive.subarray(offset + 512, offset + 512 + size) });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
