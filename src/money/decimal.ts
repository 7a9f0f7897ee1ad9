/**
 * Money stays a decimal string from the edge to Postgres NUMERIC; it is never a JS float.
 * Arithmetic on money (FX conversion, sums) happens in Postgres.
 */

/** Largest absolute amount accepted: NUMERIC(20,6) holds 14 integer digits. */
const MAX_INTEGER_DIGITS = 14;
const MAX_FRACTION_DIGITS = 6;

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export type DecimalParseResult = { ok: true; value: string } | { ok: false; message: string };

/**
 * Parses a decimal amount such as `12.5`, `-3`, `.75` or `0012.500` into a canonical string
 * (`12.5`, `-3`, `0.75`, `12.5`). Accepts integers given as JS numbers (exact for safe integers).
 * Rejects floats-as-numbers that are not safe integers, exponent notation, thousands separators,
 * more than 6 fraction digits and more than 14 integer digits.
 */
export function parseDecimal(input: unknown): DecimalParseResult {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input)) {
      return { ok: false, message: `amount ${String(input)} arrived as a binary float; send it as a decimal string` };
    }
    text = String(input);
  } else if (typeof input === 'bigint') {
    text = input.toString();
  } else if (typeof input === 'string') {
    text = input.trim();
  } else {
    return { ok: false, message: 'amount must be a decimal number such as 12.50' };
  }
  const match = DECIMAL.exec(text);
  if (!match || text === '' || /^[+-]?\.?$/.test(text)) {
    return { ok: false, message: `"${truncate(text)}" is not a decimal number; use digits with an optional "." such as 12.50` };
  }
  const sign = match[1] === '-' ? '-' : '';
  const integerDigits = (match[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  const fractionDigits = (match[3] ?? '').replace(/0+$/, '');
  if (integerDigits.replace(/^0+/, '').length > MAX_INTEGER_DIGITS) {
    return { ok: false, message: `amount "${truncate(text)}" is too large (at most ${MAX_INTEGER_DIGITS} integer digits)` };
  }
  if (fractionDigits.length > MAX_FRACTION_DIGITS) {
    return { ok: false, message: `amount "${truncate(text)}" has more than ${MAX_FRACTION_DIGITS} decimal places` };
  }
  const magnitude = fractionDigits ? `${integerDigits}.${fractionDigits}` : integerDigits;
  const isZero = /^0(\.0*)?$/.test(magnitude);
  return { ok: true, value: isZero ? '0' : sign + magnitude };
}

/**
 * Formats a NUMERIC string from Postgres for the API: trailing zeros trimmed, at least two
 * decimals (`12.500000` → `12.50`, `0.123400` → `0.1234`, `5` → `5.00`).
 */
export function formatMoney(value: string | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  const [integerPart = '0', fractionPart = ''] = value.split('.');
  const trimmed = fractionPart.replace(/0+$/, '');
  return `${integerPart}.${trimmed.padEnd(2, '0')}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * The exact sum of decimal strings (`['10.5500', '0.45', '-1']` → `'10'`), at whatever scale the
 * inputs have; never through a float. Throws on text that is not a plain decimal (no exponent).
 */
export function sumDecimals(values: Iterable<string>): string {
  let scale = 0;
  const parts: { sign: bigint; digits: string; fraction: string }[] = [];
  for (const value of values) {
    const match = PLAIN_DECIMAL.exec(value.trim());
    if (!match || /^[+-]?\.?$/.test(value.trim())) throw new Error(`"${truncate(value)}" is not a decimal number`);
    const fraction = match[3] ?? '';
    scale = Math.max(scale, fraction.length);
    parts.push({ sign: match[1] === '-' ? -1n : 1n, digits: match[2] || '0', fraction });
  }
  let total = 0n;
  for (const part of parts) total += part.sign * BigInt(part.digits + part.fraction.padEnd(scale, '0'));
  const negative = total < 0n;
  const magnitude = (negative ? -total : total).toString().padStart(scale + 1, '0');
  const integer = magnitude.slice(0, magnitude.length - scale);
  const fraction = magnitude.slice(magnitude.length - scale).replace(/0+$/, '');
  const text = fraction ? `${integer}.${fraction}` : integer;
  return negative && text !== '0' ? `-${text}` : text;
}
