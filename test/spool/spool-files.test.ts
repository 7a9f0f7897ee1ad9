import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../src/log/logger';
import type { RegistrationInput } from '../../src/pipeline/types';
import { SegmentLog } from '../../src/spool/segment-log';
import { SpoolDrainer } from '../../src/spool/spool-drainer';
import { encodeSpooledPostback } from '../../src/spool/spool-entry';
import { adoptOrphans, currentOwner, ownerAlive, ownerName, parseOwner } from '../../src/spool/spool-owner';

const dirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'tally-spool-log-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const payload = (index: number): Buffer => Buffer.from(JSON.stringify({ index, text: `entry ${index} ${'x'.repeat(index % 50)}` }));
const segments = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.seg')).sort();

describe('segment log', () => {
  test('concurrent appends are durable in order and a reopened log reads them back', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir);
    await Promise.all(Array.from({ length: 1000 }, (_, index) => log.append(payload(index))));
    expect(log.pendingEntries).toBe(1000);
    await log.close();

    const reopened = await SegmentLog.recover(dir);
    expect(reopened.pendingEntries).toBe(1000);
    const read: Buffer[] = [];
    for (;;) {
      const batch = await reopened.readBatch(300);
      if (batch.payloads.length === 0) break;
      read.push(...batch.payloads);
      await reopened.commit(batch);
    }
    expect(read.map((entry) => JSON.parse(entry.toString()).index)).toEqual(Array.from({ length: 1000 }, (_, index) => index));
    expect(reopened.pendingEntries).toBe(0);
    expect(reopened.pendingBytes).toBe(0);
    await reopened.close();
  });

  test('segments rotate at their size, and settled segments are deleted', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir, { segmentBytes: 1024 });
    for (let index = 0; index < 100; index += 1) await log.append(payload(index));
    expect(segments(dir).length).toBeGreaterThan(3);
    const batch = await log.readBatch(60);
    await log.commit(batch);
    const left = segments(dir);
    expect(Number(left[0]?.slice(0, 16))).toBe(batch.next.segment);
    expect(log.pendingEntries).toBe(40);
    expect(JSON.parse((await log.readBatch(1)).payloads[0]?.toString() ?? '{}').index).toBe(60);
    await log.close();
  });

  test('the cursor survives a restart: settled entries are not read again', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir);
    for (let index = 0; index < 5; index += 1) await log.append(payload(index));
    await log.commit(await log.readBatch(2));
    await log.close();
    const reopened = await SegmentLog.recover(dir);
    expect(reopened.pendingEntries).toBe(3);
    expect((await reopened.readBatch(10)).payloads.map((entry) => JSON.parse(entry.toString()).index)).toEqual([2, 3, 4]);
    await reopened.close();
  });

  test.each([
    ['a torn frame (a write cut short by a crash, never acknowledged)', 3, Buffer.from([0, 0, 0, 200, 1, 2, 3, 4, 5, 6])],
    ['a zero-filled tail (the file grew, its data never reached the disk)', 2, Buffer.alloc(4096)],
  ])('%s at the end is cut off, not read as entries', async (_name, entries, tail) => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir);
    for (let index = 0; index < entries; index += 1) await log.append(payload(index));
    await log.close();
    const file = join(dir, segments(dir)[0] as string);
    const intact = statSync(file).size;
    appendFileSync(file, tail);
    const corrupt = jest.fn();
    const reopened = await SegmentLog.recover(dir, { onCorrupt: corrupt });
    expect(reopened.pendingEntries).toBe(entries);
    expect(statSync(file).size).toBe(intact);
    expect(corrupt).not.toHaveBeenCalled();
    expect((await reopened.readBatch(10)).payloads).toHaveLength(entries);
    await reopened.close();
  });

  test('damage inside an earlier segment is reported and copied aside; what precedes it is still read', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir, { segmentBytes: 200 });
    for (let index = 0; index < 20; index += 1) await log.append(payload(index));
    await log.close();
    const first = join(dir, segments(dir)[0] as string);
    const bytes = readFileSync(first);
    const frames = bytes.length;
    bytes[frames - 3] = (bytes[frames - 3] as number) ^ 0xff;
    writeFileSync(first, bytes);
    const corrupt = jest.fn();
    const reopened = await SegmentLog.recover(dir, { onCorrupt: corrupt });
    expect(corrupt).toHaveBeenCalledWith(first, 'checksum mismatch');
    expect(existsSync(`${first}.corrupt`)).toBe(true);
    const read: number[] = [];
    for (let batch = await reopened.readBatch(100); batch.payloads.length > 0; batch = await reopened.readBatch(100)) {
      read.push(...batch.payloads.map((entry) => JSON.parse(entry.toString()).index as number));
      await reopened.commit(batch);
    }
    // Exactly one entry (the damaged last frame of the first segment) is missing; the order holds.
    expect(read).toHaveLength(19);
    expect(read).toEqual([...read].sort((a, b) => a - b));
    await reopened.close();
  });

  test('a recovered log takes no appends, and a closed one refuses them', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir);
    await log.append(payload(1));
    await log.close();
    await expect(log.append(payload(2))).rejects.toThrow(/closed or read-only/);
    const recovered = await SegmentLog.recover(dir);
    await expect(recovered.append(payload(3))).rejects.toThrow(/closed or read-only/);
    await recovered.close();
  });
});

describe('spool ownership', () => {
  const deadPid = (): number => {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(child.stdout);
  };

  test('a directory name says who owns it; this process is alive, an exited one is not, another host is never judged', () => {
    const self = currentOwner();
    expect(parseOwner(ownerName(self))).toEqual(self);
    expect(parseOwner(`${ownerName(self)}.123`)).toEqual(self);
    expect(parseOwner('unreadable')).toBeUndefined();
    expect(ownerAlive(self)).toBe(true);
    expect(ownerAlive({ ...self, pid: deadPid() })).toBe(false);
    expect(ownerAlive({ ...self, host: 'some-other-machine', pid: deadPid() })).toBe(true);
    // Same pid, another start time: the pid was recycled; the owner is gone.
    expect(ownerAlive({ ...self, start: 'zzzz' })).toBe(false);
  });

  test('of two processes adopting the same orphan, exactly one gets it; live owners are left alone', async () => {
    const root = tempDir();
    const self = currentOwner();
    const orphan = ownerName({ ...self, pid: deadPid(), nonce: 'aaaa0001' });
    const alive = ownerName({ ...self, nonce: 'bbbb0002' });
    await SegmentLog.create(join(root, orphan)).then((log) => log.close());
    await SegmentLog.create(join(root, alive)).then((log) => log.close());
    const [first, second] = await Promise.all([
      adoptOrphans(root, ownerName({ ...self, nonce: 'cccc0003' })),
      adoptOrphans(root, ownerName({ ...self, nonce: 'dddd0004' })),
    ]);
    expect([...(first ?? []), ...(second ?? [])]).toHaveLength(1);
    const names = readdirSync(root).sort();
    expect(names).toContain(alive);
    expect(names).not.toContain(orphan);
  });
});

describe('the drainer and its files', () => {
  const entry = (index: number): Buffer =>
    encodeSpooledPostback({ input: { fields: { click_id: `click-${index}`, txid: `T${index}` }, intakeId: `00000000-0000-7000-8000-${String(index).padStart(12, '0')}`, receivedAt: new Date() }, options: { source: 'postback' } });
  const until = async (check: () => boolean): Promise<void> => {
    for (let waited = 0; !check(); waited += 10) {
      if (waited > 5000) throw new Error('timed out');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };

  test('a cursor that cannot be written (a full disk) does not stop the drain: it goes on, and the cursor is kept once it can be', async () => {
    const dir = join(tempDir(), 'log');
    const log = await SegmentLog.create(dir);
    for (let index = 0; index < 3; index += 1) await log.append(entry(index));
    // A directory where the cursor's temporary file goes: every write of the cursor fails.
    const blocker = join(dir, 'cursor.json.tmp');
    mkdirSync(blocker);
    const registered: string[] = [];
    const registrar = {
      register: async (inputs: readonly RegistrationInput[]) => {
        registered.push(...inputs.map((input) => String(input.fields.txid)));
        return inputs.map(() => ({ status: 'accepted', reason: null, message: null, conversionId: '1', clickId: null, warnings: [] }));
      },
    };
    const drainer = new SpoolDrainer(log, registrar as never, { logger: silentLogger(), mode: 'follow', retryMinMs: 10, retryMaxMs: 20 });
    void drainer.start();
    await until(() => registered.length === 3);
    expect(existsSync(join(dir, 'cursor.json'))).toBe(false);
    // The disk has room again; new postbacks arrive.
    rmSync(blocker, { recursive: true });
    for (let index = 3; index < 5; index += 1) await log.append(entry(index));
    await until(() => registered.length === 5 && existsSync(join(dir, 'cursor.json')));
    expect(registered).toEqual(['T0', 'T1', 'T2', 'T3', 'T4']);
    expect(log.pendingEntries).toBe(0);
    await drainer.stop();
    await log.close();
  });
});
