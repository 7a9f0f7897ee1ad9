/**
 * Click-id placeholders left in postback URLs when a network did not substitute its token:
 * ClickFlare/Voluum `{clickid}`, HasOffers `{aff_sub}`, CAKE `#s2#`, `[CLICKID]`, `%s2%`,
 * `$clickid$`, `<clickid>`, Awin `!!!clickRef!!!`, and the literal words of copy-pasted templates (`REPLACE`,
 * `OPTIONAL`) or of broken page scripts (`undefined`, `null`). Real click ids are
 * `[A-Za-z0-9_-]`, so any of the bracket characters is proof enough.
 */
const MACRO_CHARACTERS = /[{}[\]#%$<>]/;
/** Awin's Transaction Notification placeholders. */
const BANG_MACRO = /^!!!.*!!!$/;
const PLACEHOLDER_WORDS = new Set([
  'replace', 'optional', 'clickid', 'click_id', 'cf_click_id', 'subid', 'sub_id', 'aff_sub', 'your_click_id',
  'undefined', 'null', 'none', 'nan',
]);

/** True when a click id looks like a placeholder rather than data. */
export function isUnreplacedMacro(value: string): boolean {
  const trimmed = value.trim();
  if (trimmed === '') return false;
  return MACRO_CHARACTERS.test(trimmed) || BANG_MACRO.test(trimmed) || (trimmed.length <= 13 && PLACEHOLDER_WORDS.has(trimmed.toLowerCase()));
}

/**
 * True when an optional field (payout, txid, ct, ...) holds a placeholder. Such a field is
 * treated as absent, with a warning in the log, so the conversion still counts.
 */
export function isPlaceholder(value: string): boolean {
  // Fast path for ordinary values (this runs for every optional field of every conversion).
  if (!/[{}[\]#<>%$!]/.test(value)) return value.length <= 9 && OPTIONAL_PLACEHOLDER_WORDS.has(value.trim().toLowerCase());
  const trimmed = value.trim();
  return /[{}[\]#<>]/.test(trimmed) || /^%.*%$/.test(trimmed) || /^\$.*\$$/.test(trimmed) || BANG_MACRO.test(trimmed);
}

const OPTIONAL_PLACEHOLDER_WORDS = new Set(['replace', 'optional', 'undefined', 'null']);
