import { isUuid, uuidV7 } from '../../src/util/uuid';

describe('uuidV7', () => {
  it('is a canonical RFC 9562 version 7 UUID carrying the given millisecond', () => {
    const at = Date.UTC(2026, 10, 29, 3, 50, 0, 123);
    const id = uuidV7(at);
    expect(isUuid(id)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });

  it('orders by time and stays unique within one millisecond', () => {
    const at = Date.now();
    const same = Array.from({ length: 5000 }, () => uuidV7(at));
    expect(new Set(same).size).toBe(5000);
    expect(same.every((id) => id.slice(0, 13) === same[0]?.slice(0, 13))).toBe(true);
    const later = uuidV7(at + 1);
    expect(same.every((id) => id < later)).toBe(true);
  });

  it('draws fresh randomness after the pooled bytes run out', () => {
    const ids = Array.from({ length: 2000 }, () => uuidV7(0));
    expect(new Set(ids.map((id) => id.slice(15))).size).toBe(2000);
  });
});
