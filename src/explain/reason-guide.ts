/**
 * What each outcome reason means in plain words, and what the operator can do about it: the
 * console and the explain endpoint show this next to the attempt's own message (which quotes the
 * offending value). `fixedBySettings` marks rejections that depend on Tally's settings or data
 * rather than on the request itself: once the operator fixed the cause, registering the attempt
 * again can succeed. Any other rejection would be rejected again; the sender must fix it.
 */
export interface ReasonGuide {
  readonly title: string;
  readonly fix: string;
  readonly fixedBySettings: boolean;
}

const GUIDE: Readonly<Record<string, ReasonGuide>> = {
  unknown_click_id: {
    title: 'The click ID matches no click Tally knows',
    fix: 'Check that the offer URL passes {cf_click_id} in the sub-id the network returns, and that the postback sends that value back unchanged. If the click came from another tracker, import it (POST /api/v1/clicks): the attempt is then re-matched automatically. Then register the attempt again.',
    fixedBySettings: true,
  },
  ip_not_allowed: {
    title: "The postback came from an address outside the network's allow-list",
    fix: "Add the network's server address (shown as client IP) to the network's postback IPs, or remove the list; then register the attempt again.",
    fixedBySettings: true,
  },
  invalid_token: {
    title: "The postback's token is missing or wrong",
    fix: "Put token=<the network's postback token> into the postback URL at the network (copy it from the network's postback URL). If the network sends the right token but Tally has another, set the network's token to it; then register the attempt again.",
    fixedBySettings: true,
  },
  route_not_allowed: {
    title: 'The network does not accept conversions by this route',
    fix: "Prefer an S2S postback with a token. To accept this route, add it to the network's accepted routes (browser routes make the network's conversions forgeable); then register the attempt again.",
    fixedBySettings: true,
  },
  unreplaced_macro: {
    title: 'The click ID is a placeholder the network never filled in',
    fix: "The postback URL uses a macro the network does not know. Use the network's own click/sub-id macro (see the network's postback URL template), and pass {cf_click_id} in that sub-id in the offer URL.",
    fixedBySettings: false,
  },
  missing_click_id: {
    title: 'The postback carries no click ID',
    fix: 'Add click_id=<the network macro that returns the sub-id carrying {cf_click_id}> to the postback URL.',
    fixedBySettings: false,
  },
  invalid_click_id: {
    title: 'The click ID has characters a click ID never has',
    fix: 'Check which macro fills click_id in the postback URL: it must return the value the offer URL received from {cf_click_id}.',
    fixedBySettings: false,
  },
  invalid_payout: {
    title: 'The payout is not a decimal number',
    fix: "Send the payout as digits with an optional '.' (12.50), or leave it out; check the network's payout macro.",
    fixedBySettings: false,
  },
  invalid_currency: {
    title: 'The currency is not an ISO 4217 code',
    fix: 'Send payout_currency as a three-letter code such as USD, or leave it out to use the offer or network currency.',
    fixedBySettings: false,
  },
  invalid_txid: { title: 'The transaction ID is too long', fix: 'Send the network\'s transaction or conversion ID (up to 255 characters) as txid.', fixedBySettings: false },
  invalid_conversion_type: { title: 'The conversion type is not a valid name', fix: 'Send ct as a short lower-case name such as sale, lead or upsell.', fixedBySettings: false },
  invalid_status: { title: 'The status is not one Tally knows', fix: 'Send status as approved, pending or declined (or leave it out for approved).', fixedBySettings: false },
  invalid_timestamp: { title: 'The conversion time cannot be read', fix: 'Send timestamp as ISO 8601 with an offset or as unix seconds, or leave it out to use the receipt time.', fixedBySettings: false },
  invalid_characters: { title: 'A field holds characters that cannot be stored', fix: 'Send the values exactly as the network issued them; look at the raw request for control characters.', fixedBySettings: false },
  storage_error: { title: 'The input could not be stored', fix: 'Look at the raw request for unusual values; the other inputs of its batch were registered. Report it if the input looks normal.', fixedBySettings: false },
  invalid_csv_line: { title: 'The CSV line cannot be read', fix: 'Fix the line (click_id,payout,transaction_id,conversion_type,timestamp) and upload it again.', fixedBySettings: false },
  line_too_long: { title: 'The CSV line is too long', fix: 'Split or shorten the line and upload it again.', fixedBySettings: false },
  unchanged: { title: 'Already registered with the same status and payout', fix: 'Nothing to fix: repeats of a conversion are answered as duplicates and count once.', fixedBySettings: false },
  duplicate_policy: {
    title: "A second conversion without txid for the same click, ignored by the network's duplicate policy",
    fix: "If each conversion should count, send a txid (the network's transaction ID) or set the network's duplicate policy to accept.",
    fixedBySettings: false,
  },
  changed: { title: 'The existing conversion was updated', fix: 'Nothing to fix: the network reported a new status or payout.', fixedBySettings: false },
  adopted: { title: 'An earlier conversion without txid now carries this txid', fix: 'Nothing to fix: the two reports are one conversion.', fixedBySettings: false },
};

/** The guide for a reason; a generic one for reasons added later. */
export function reasonGuide(reason: string | null): ReasonGuide | null {
  if (reason === null) return null;
  return GUIDE[reason] ?? { title: reason.replace(/_/g, ' '), fix: 'See the message for what was wrong.', fixedBySettings: false };
}

/** Every reason the guide knows (the console's reason filter offers these). */
export const KNOWN_REASONS: readonly string[] = Object.keys(GUIDE);
