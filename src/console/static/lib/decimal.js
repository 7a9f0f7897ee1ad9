// Money stays decimal in the console too: amounts arrive as strings ("12.50") and are added as
// scaled integers (BigInt), never as binary floats.

const SCALE = 6;

function toScaled(text) {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(String(text ?? '0').trim());
  if (!match) throw new Error(`not a decimal: ${text}`);
  const [, sign, whole, fraction = ''] = match;
  const value = BigInt(whole) * 10n ** BigInt(SCALE) + BigInt((fraction + '0'.repeat(SCALE)).slice(0, SCALE));
  return sign === '-' ? -value : value;
}

function fromScaled(value) {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(SCALE + 1, '0');
  const whole = digits.slice(0, -SCALE);
  const fraction = digits.slice(-SCALE).replace(/0+$/, '').padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** The exact sum of decimal strings. */
export function sumDecimals(values) {
  return fromScaled(values.reduce((total, value) => total + toScaled(value), 0n));
}

/** Grouped for reading ("1,234.50"), still a string: no rounding happens. */
export function formatAmount(text) {
  if (text === null || text === undefined || text === '') return '—';
  const [whole, fraction] = String(text).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const digits = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${digits}${fraction !== undefined ? `.${fraction}` : ''}`;
}

/**
 * A bar's height for the chart. Drawing needs a number of pixels; this is the one place an amount
 * becomes a float, for display only: totals shown as text always come from sumDecimals or the API.
 */
export function plotValue(text) {
  return Number(text);
}
