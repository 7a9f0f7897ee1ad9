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
const EXPONENT_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?[eE]([+-]?\d{1,3})$/;

/**
 * A number in exponent form as the equivalent plain decimal, by moving the point in the text
 * (`1.5e-5` → `0.000015`, `-2E3` → `-2000`): exact, never through a float. Plain decimals are
 * returned as given; anything else too, for the caller's parse to refuse.
 */
export function withoutExponent(text: string): string {
  const match = EXPONENT_DECIMAL.exec(text.trim());
  if (!match || /^[+-]?\.?$/.test(`${match[1]}${match[2]}${match[3] === undefined ? '' : `.${match[3]}`}`)) return text;
  const [, sign = '', integer = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  const digits = `${integer}${fraction}`;
  // Position of the decimal point within `digits` after the shift.
  const point = integer.length + exponent;
  const padded = point <= 0 ? `${'0'.repeat(1 - point)}${digits}` : digits.padEnd(point, '0');
  const at = point <= 0 ? 1 : point;
  const whole = padded.slice(0, at).replace(/^0+(?=\d)/, '') || '0';
  const rest = padded.slice(at).replace(/0+$/, '');
  return `${sign === '-' ? '-' : ''}${whole}${rest ? `.${rest}` : ''}`;
}

/**
 * A plain decimal string rounded to `places` fraction digits, half away from zero (`0.1234565`
 * → `0.123457`, `-0.0000005` → `-0.000001`); exact, with BigInt. Fewer digits are left as they are.
 */
export function roundDecimal(value: string, places: number): string {
  const match = PLAIN_DECIMAL.exec(value.trim());
  if (!match || /^[+-]?\.?$/.test(value.trim())) throw new Error(`"${truncate(value)}" is not a decimal number`);
  const fraction = match[3] ?? '';
  if (fraction.length <= places) return value.trim();
  const negative = match[1] === '-';
  const kept = BigInt(`${match[2] || '0'}${fraction.slice(0, places)}`);
  const rounded = Number(fraction[places]) >= 5 ? kept + 1n : kept;
  return sumDecimals([`${negative ? '-' : ''}${scaled(rounded, places)}`]);
}

function scaled(units: bigint, places: number): string {
  const text = units.toString().padStart(places + 1, '0');
  return places === 0 ? text : `${text.slice(0, text.length - places)}.${text.slice(text.length - places)}`;
}

/**
 * The exact sum of decimal strings (`['10.5500', '0.45', '-1']` → `'10'`), at whatever scale the
 * inputs have; never through a float. Exponent forms (`1.5e-5`) are read exactly; throws on text
 * that is not a decimal number.
 */
export function sumDecimals(values: Iterable<string>): string {
  let scale = 0;
  const parts: { sign: bigint; digits: string; fraction: string }[] = [];
  for (const given of values) {
    const value = withoutExponent(given);
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
