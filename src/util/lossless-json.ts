import { parse } from 'lossless-json';

/**
 * Parses JSON without turning money into binary floats: integers that fit a JS number exactly
 * become numbers, every other number (12.5, 1e3, 9007199254740993) stays the exact digit string
 * the API sent.
 */
export function parseJsonLossless(text: string): unknown {
  return parse(text, undefined, (digits: string) => {
    if (/^-?\d+$/.test(digits)) {
      const value = Number(digits);
      if (Number.isSafeInteger(value)) return value;
    }
    return digits;
  });
}
