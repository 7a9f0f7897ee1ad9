/**
 * Character rules shared by every route (DESIGN "One input never costs another"). Postgres cannot
 * store U+0000 in text or jsonb, nor an unpaired UTF-16 surrogate in jsonb; one such character in
 * a batch statement used to fail the whole batch. Fields that identify a conversion (click ID,
 * txid, type, currency) must be exact, so a hostile character there rejects the input; anywhere
 * else (params, the raw request) it is replaced by U+FFFD and the input gets a warning.
 */

/** U+0000 and lone surrogates: what Postgres cannot store. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Not allowed in an identifying field: everything unstorable, C0/C1 controls and DEL, the
 * non-characters U+FFFE/U+FFFF, and bidirectional overrides that make an ID display as another.
 */
const HOSTILE_IN_IDENTIFIER = /[\u0000-\u001F\u007F-\u009F\uFFFE\uFFFF\u202A-\u202E\u2066-\u2069]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Controls other than tab, newline and carriage return: replaced in free-text fields (params). */
const CONTROLS = /[\u0001-\u0008\u000B\u000C\u000E-\u001F\u007F]/g;

const REPLACEMENT = '\uFFFD';

/** True when an identifying field holds a character it may not hold. */
export function hasHostileCharacters(value: string): boolean {
  return HOSTILE_IN_IDENTIFIER.test(value);
}

/** A short, printable description of the first hostile character, for the rejection message. */
export function describeHostileCharacter(value: string): string {
  const match = HOSTILE_IN_IDENTIFIER.exec(value);
  if (!match) return 'no hostile character';
  const code = match[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
  return `U+${code} at position ${match.index + 1}`;
}

/** A free-text value with unstorable characters and stray controls replaced; `changed` says whether any was. */
export function cleanText(value: string): { text: string; changed: boolean } {
  if (!needsCleaning(value)) return { text: value, changed: false };
  const text = value.replace(UNSTORABLE, REPLACEMENT).replace(CONTROLS, REPLACEMENT);
  return { text, changed: text !== value };
}

function needsCleaning(value: string): boolean {
  // Fast path: the common value is plain printable text.
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code < 0x20 || code === 0x7f || (code >= 0xd800 && code <= 0xdfff)) return true;
  }
  return false;
}

/**
 * Objects this module already found or made storable. The intake makes a postback's raw request
 * storable and the registration statement would walk it again; inputs are not changed after
 * they are built, and an object that somehow was would only fail its statement and be isolated.
 */
const checked = new WeakSet<object>();

/**
 * A deep copy of a JSON-like value (the raw request, an API record) in which every string and
 * key Postgres could not store is made storable. Returns the same value when nothing changed, so
 * the common case allocates nothing. Only unstorable characters are replaced here: the raw
 * request is evidence and keeps tabs and other controls as they came.
 */
export function storableJson(value: unknown): { value: unknown; changed: boolean } {
  const object = value !== null && typeof value === 'object';
  if (object && checked.has(value)) return { value, changed: false };
  // The common case is clean: find out without allocating before copying anything.
  const result = containsUnstorable(value) ? copyStorable(value) : { value, changed: false };
  if (result.value !== null && typeof result.value === 'object') checked.add(result.value);
  return result;
}

/** Whether any string or key inside a JSON-like value holds something Postgres cannot store. */
function containsUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return hasUnstorable(value);
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) {
    for (const item of value) if (containsUnstorable(item)) return true;
    return false;
  }
  for (const key in value as Record<string, unknown>) {
    if (hasUnstorable(key) || containsUnstorable((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

function copyStorable(value: unknown): { value: unknown; changed: boolean } {
  if (typeof value === 'string') {
    if (!hasUnstorable(value)) return { value, changed: false };
    return { value: value.replace(UNSTORABLE, REPLACEMENT), changed: true };
  }
  if (Array.isArray(value)) {
    let changed = false;
    const items = value.map((item) => {
      const result = copyStorable(item);
      changed ||= result.changed;
      return result.value;
    });
    return changed ? { value: items, changed } : { value, changed: false };
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const entries = Object.entries(value as Record<string, unknown>).map(([key, item]) => {
      const cleanKey = hasUnstorable(key) ? key.replace(UNSTORABLE, REPLACEMENT) : key;
      const result = copyStorable(item);
      changed ||= result.changed || cleanKey !== key;
      return [cleanKey, result.value] as const;
    });
    return changed ? { value: Object.fromEntries(entries), changed } : { value, changed: false };
  }
  return { value, changed: false };
}

function hasUnstorable(value: string): boolean {
  for (let index = 0; index < value.length; index += 1) {
    const code = value.charCodeAt(index);
    if (code === 0 || (code >= 0xd800 && code <= 0xdfff)) {
      UNSTORABLE.lastIndex = 0;
      return UNSTORABLE.test(value);
    }
  }
  return false;
}
