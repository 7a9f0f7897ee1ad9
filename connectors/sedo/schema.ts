import { z } from 'zod';
import { ConnectorResponseError } from '../kit/errors';

/**
 * Sedo answers XML: `<SEDOSTATS><item><domain …>…</domain><date>…</date><c1>…</c1>…<earnings>…</earnings></item>…</SEDOSTATS>`,
 * or `<SEDOFAULT><faultcode>…</faultcode><faultstring>…</faultstring></SEDOFAULT>` inside HTTP 200. The
 * elements carry attributes (a public client reads their text as xml2js `._`), so text is read
 * whatever the attributes. The documents are flat: a small extractor reads them.
 */

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(text: string): string {
  const unwrapped = text.replace(/^\s*<!\[CDATA\[([\s\S]*)\]\]>\s*$/, '$1');
  return unwrapped.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (match, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number(entity.slice(1)));
    return ENTITIES[entity.toLowerCase()] ?? match;
  });
}

/** The contents of each `<name …>…</name>` (or `<name/>`, empty) in `xml`. */
function elements(xml: string, name: string): string[] {
  const pattern = new RegExp(`<${name}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${name}\\s*>)`, 'g');
  return [...xml.matchAll(pattern)].map((match) => match[1] ?? '');
}

const ITEM_FIELDS = ['domain', 'date', 'c1', 'c2', 'c3', 'uniques', 'clicks', 'earnings'] as const;

export const sedoItemSchema = z.looseObject({ date: z.string(), earnings: z.string() });

/** The `item`s of a `SEDOSTATS` answer, each field's text (null when empty or absent). */
export function sedoItems(body: unknown): Record<string, string | null>[] {
  if (typeof body !== 'string') throw new ConnectorResponseError(`Sedo answered something other than XML: ${JSON.stringify(body).slice(0, 120)}`);
  const [stats] = elements(body, 'SEDOSTATS');
  if (stats === undefined) throw new ConnectorResponseError(`Sedo's answer has no SEDOSTATS element: ${body.slice(0, 120)}`);
  return elements(stats, 'item').map((item) =>
    Object.fromEntries(
      ITEM_FIELDS.map((field) => {
        const [value] = elements(item, field);
        const text = value === undefined ? '' : decode(value).trim();
        return [field, text === '' ? null : text];
      }),
    ),
  );
}

/** A `SEDOFAULT` answer's code and message, or undefined. */
export function sedoFault(body: unknown): { code: string; message: string } | undefined {
  if (typeof body !== 'string' || !/<SEDOFAULT[\s>]/.test(body)) return undefined;
  const [fault] = elements(body, 'SEDOFAULT');
  return { code: decode(elements(fault ?? '', 'faultcode')[0] ?? '').trim(), message: decode(elements(fault ?? '', 'faultstring')[0] ?? '').trim() };
}
