/** ISO 4217 codes known to the runtime's ICU data (about 300 codes, including historic ones). */
const isoCurrencies: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

/** True for a three-letter ISO 4217 code in upper case, e.g. `USD`. */
export function isCurrencyCode(value: string): boolean {
  return /^[A-Z]{3}$/.test(value) && isoCurrencies.has(value);
}

/** Upper-cases and validates a currency code; returns undefined when it is not ISO 4217. */
export function parseCurrencyCode(value: string): string | undefined {
  const code = value.trim().toUpperCase();
  return isCurrencyCode(code) ? code : undefined;
}
