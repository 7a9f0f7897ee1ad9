/**
 * Postback templates: for every network and platform a media buyer brings, the S2S postback URL to
 * paste into it (Tally's `/cf/cv` with that network's own macros) and the sub-id parameter that
 * carries `{cf_click_id}` on offer URLs. Each row says how sure it is, from the research in
 * /work/research/postback-templates.md: CONFIRMED (the network's own documentation),
 * TRACKER-GUIDE (a tracker's or integrator's guide), INFERRED (not confirmed: check the network's
 * macro list before relying on it).
 */

export type TemplateConfidence = 'CONFIRMED' | 'TRACKER-GUIDE' | 'INFERRED';

/** A `/cf/cv` parameter and the network's macro for it, in URL order; the first is always `click_id`. */
export type PostbackParameter = readonly [name: string, macro: string];

export interface PostbackTemplate {
  /** Stable key of the row. */
  readonly id: string;
  readonly network: string;
  /** The tracking platform the network runs on (or the kind of feed). */
  readonly platform: string;
  /** The Tally connector that pulls this network's API, when one is registered. */
  readonly connector?: string;
  /** The postback's parameters, or null when the network has no postback a publisher can set. */
  readonly postback: readonly PostbackParameter[] | null;
  /** What to add to offer (tracking) links so that the network stores the click ID. */
  readonly offerUrlParameter: string;
  readonly confidence: TemplateConfidence;
  readonly notes: string;
}

const CAKE_POSTBACK: readonly PostbackParameter[] = [
  ['click_id', '#s2#'],
  ['payout', '#price#'],
  ['txid', '#leadid#'],
];

/** The catalog, affiliate networks first, then the revenue feeds. */
export const POSTBACK_TEMPLATES: readonly PostbackTemplate[] = [
  {
    id: 'everflow',
    network: 'Everflow',
    platform: 'Everflow',
    connector: 'everflow',
    postback: [
      ['click_id', '{sub1}'],
      ['payout', '{payout_amount}'],
      ['txid', '{conversion_id}'],
      ['payout_currency', '{offer_currency}'],
    ],
    offerUrlParameter: 'sub1={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      '{sub1} and {offer_currency} are Everflow macros (helpdesk.everflow.io); the payout macro is documented three ways ({payout_amount} in tracker guides, {payout} and {revenue} elsewhere) and {conversion_id} comes from a partner portal on Everflow: check both in your macro picker. {transaction_id} is Everflow\'s click ID, shared by every event of a click, so it is not the txid. For an Event postback add &ct=<the event name in lower case, spaces as _> so that it matches what the everflow connector reports.',
  },
  {
    id: 'cake',
    network: 'CAKE networks',
    platform: 'CAKE',
    connector: 'cake',
    postback: CAKE_POSTBACK,
    offerUrlParameter: 's2={cf_click_id}',
    confidence: 'CONFIRMED',
    notes:
      'CAKE token docs (support.getcake.com): "#s2# is the most common parameter and token to pass a click ID"; #price# "communicate[s] the affiliate payout"; #leadid# is "the conversion or lead ID auto-assigned by CAKE to each conversion" (#tid# is the advertiser\'s transaction ID; use it only where the network asks). s1 is reserved for sub-affiliate IDs. Pixels are set per campaign (affiliate and offer). With the cake connector set click_id_field to sub_id_2 to read the same s2.',
  },
  {
    id: 'hasoffers',
    network: 'TUNE / HasOffers networks',
    platform: 'TUNE (HasOffers)',
    connector: 'hasoffers',
    postback: [
      ['click_id', '{aff_sub}'],
      ['payout', '{payout}'],
      ['txid', '{transaction_id}'],
    ],
    offerUrlParameter: 'aff_sub={cf_click_id}',
    confidence: 'TRACKER-GUIDE',
    notes:
      'aff_sub and {transaction_id} are TUNE\'s (support.tune.com, developers.tune.com); {aff_sub}/{payout} in a postback come from tracker guides (Voluum, Trackly). TUNE advises putting unique values such as click IDs in aff_click_id instead (then use {aff_click_id}, a macro name INFERRED, and the hasoffers connector\'s click_id_field affiliate_click_id). {transaction_id} is the click session: if an offer has several goals, give each goal\'s postback &ct=<the goal name in lower case, spaces as _>, as the hasoffers connector reports goals.',
  },
  {
    id: 'affise',
    network: 'Affise networks',
    platform: 'Affise',
    postback: [
      ['click_id', '{sub1}'],
      ['payout', '{sum}'],
      ['txid', '{transactionid}'],
      ['ct', '{goal}'],
      ['payout_currency', '{currency}'],
      ['network_status', '{status}'],
    ],
    offerUrlParameter: 'sub1={cf_click_id}',
    confidence: 'CONFIRMED',
    notes:
      'Affise macro list (help-center.affise.com): "There is no clickid macro for Affiliate postback … Use {sub1} - {sub8}"; {sum} is the conversion payout, {transactionid} the advertiser\'s conversion ID (it can be empty; the network\'s duplicate policy then applies). {status} is a number (1 approved, 2 pending, 3 declined, 5 hold) that Tally keeps as network_status but cannot use as a status: set the postback to fire on approved conversions. Set it as a Global postback under Offers > Your Postbacks.',
  },
  {
    id: 'scaleo',
    network: 'Scaleo networks',
    platform: 'Scaleo',
    postback: [
      ['click_id', '{aff_click_id}'],
      ['payout', '{payout}'],
      ['txid', '{transaction_id}'],
    ],
    offerUrlParameter: 'aff_click_id={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      'aff_click_id and {aff_click_id} are Scaleo\'s (help.scaleo.io "Affiliate Parameters"); {payout} and {transaction_id} were not found in its documentation: check them in Affiliates > Postbacks. A macro Scaleo does not fill is ignored with a warning in the postback log.',
  },
  {
    id: 'impact',
    network: 'impact.com',
    platform: 'impact.com',
    connector: 'impact',
    postback: [
      ['click_id', '{SubId1}'],
      ['payout', '{Payout}'],
      ['txid', '{ActionId}'],
      ['status', '{Status}'],
      ['payout_currency', '{Currency}'],
    ],
    offerUrlParameter: 'subId1={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      '{Payout}, {ActionId}, {Status} and {Currency} are impact.com event-notification macros (help.impact.com); {SubId1} (capital S and I) comes from third-party catalogues. Set it under Settings > Technical > Event Notifications; it fires when an action is tracked, modified or reversed, and REVERSED registers as declined. {ActionTrackerName} ("Online Sale") is not a type Tally accepts, so it is left out.',
  },
  {
    id: 'clickbank',
    network: 'ClickBank',
    platform: 'ClickBank',
    connector: 'clickbank',
    postback: null,
    offerUrlParameter: 'tid={cf_click_id}',
    confidence: 'CONFIRMED',
    notes:
      'tid is ClickBank\'s Tracking ID (up to 100 lower-case letters, digits and _). ClickBank reports sales through INS, an encrypted POST that /cf/cv does not read, and through Postback/Pixels, whose macro names were not confirmed: use the clickbank connector (orders API), which reads tid as the click ID.',
  },
  {
    id: 'digistore24',
    network: 'Digistore24',
    platform: 'Digistore24',
    connector: 'digistore24',
    postback: [
      ['click_id', '{cid}'],
      ['payout', '{amount_affiliate}'],
      ['txid', '{transaction_id}'],
      ['payout_currency', '{currency}'],
    ],
    offerUrlParameter: 'cid={cf_click_id}',
    confidence: 'TRACKER-GUIDE',
    notes:
      'cid, {cid} and {amount_affiliate} are Digistore24\'s (help.digistore24.com, docs.digistore24.com); {transaction_id} and {currency} come from tracker guides (AnyTrack, Everflow). Set it under Account > S2S postback per product and select the payment event only: refunds and chargebacks come from the digistore24 connector (or a postback of their own with a fixed &ct=refund or &ct=chargeback).',
  },
  {
    id: 'maxbounty',
    network: 'MaxBounty',
    platform: 'MaxBounty',
    postback: [
      ['click_id', '#S1#'],
      ['payout', '#RATE#'],
      ['txid', '#LEADID#'],
    ],
    offerUrlParameter: 's1={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      'MaxBounty has no conversion-level API, so the postback is the only route. No MaxBounty documentation was found: s1 and #S1#, #RATE#, #LEADID# come from unverified public code (another public integration uses #CONVERSION_ID# for the conversion ID). Check them in the MaxBounty affiliate area (Tools > Postback) before relying on them; an unfilled txid macro is ignored with a warning and the conversion still counts.',
  },
  {
    id: 'clickdealer',
    network: 'ClickDealer',
    platform: 'CAKE',
    connector: 'cake',
    postback: CAKE_POSTBACK,
    offerUrlParameter: 's2={cf_click_id}',
    confidence: 'CONFIRMED',
    notes:
      'ClickDealer (blog.clickdealer.com, global postbacks): "#s2# for clickid (which you should pass to us in the s2 parameter of your tracking links); #price# for payouts; #leadid# for unique id of each conversion". Set it once under Tools > Global Postback. For e-commerce offers ClickDealer suggests #tid# (the advertiser\'s order ID) instead of #leadid#.',
  },
  {
    id: 'crakrevenue',
    network: 'CrakRevenue',
    platform: 'CrakRevenue',
    postback: [
      ['click_id', '{aff_sub}'],
      ['payout', '{payout}'],
      ['txid', '{transaction_id}'],
    ],
    offerUrlParameter: 'aff_sub={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      'No CrakRevenue postback documentation was found; its links carry aff_sub..aff_sub5 like TUNE\'s, so TUNE-style macros are assumed. Check them in the CrakRevenue dashboard before relying on them.',
  },
  {
    id: 'awin',
    network: 'Awin',
    platform: 'Awin',
    connector: 'awin',
    postback: [
      ['click_id', '!!!clickRef!!!'],
      ['payout', '!!!commission!!!'],
      ['txid', '!!!transactionId!!!'],
      ['payout_currency', '!!!transactionCurrency!!!'],
    ],
    offerUrlParameter: 'clickref={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      'clickref (lower case only) is Awin\'s (wiki.awin.com Publisher Click Ref). Awin\'s publisher postback is Transaction Notifications (Toolbox > Transaction Notifications, GET; access may need a support ticket); its !!!…!!! placeholders come from a third-party reconstruction. It fires when a transaction is recorded, never on approval or decline: statuses come from the awin connector, whose txid is the same transaction ID.',
  },
  {
    id: 'cj',
    network: 'CJ (Commission Junction)',
    platform: 'CJ',
    connector: 'cj',
    postback: null,
    offerUrlParameter: 'sid={cf_click_id}',
    confidence: 'TRACKER-GUIDE',
    notes: 'CJ has no postback for publishers (its S2S documentation is the advertiser-to-CJ postback). The sid comes back as shopperId through the commissions API: use the cj connector.',
  },
  {
    id: 'partnerize',
    network: 'Partnerize',
    platform: 'Partnerize',
    connector: 'partnerize',
    postback: null,
    offerUrlParameter: 'pubref:{cf_click_id} (a path segment after camref: …/camref:XXXX/pubref:{cf_click_id}/destination:…)',
    confidence: 'INFERRED',
    notes: 'No Partnerize publisher postback was found. pubref (up to 256 characters, after camref and before destination) comes from a third-party guide; it returns as publisher_reference through the partnerize connector.',
  },
  {
    id: 'rakuten',
    network: 'Rakuten Advertising',
    platform: 'Rakuten Advertising',
    connector: 'rakuten',
    postback: [
      ['click_id', '<u1>'],
      ['payout', '<commissions>'],
      ['txid', '<etransaction_id>'],
      ['payout_currency', '<currency>'],
      ['is_event', '<is_event>'],
    ],
    offerUrlParameter: 'u1={cf_click_id}',
    confidence: 'INFERRED',
    notes:
      'u1 (up to 72 alphanumerics, case-sensitive) and the Postback API (beta, GET, is_event=<is_event> required, <field> placeholders) are Rakuten\'s (pubhelp.rakutenadvertising.com); <u1>, <commissions> and <currency> as placeholders are INFERRED from the Events API fields. One postback per SKU line: etransaction_id is per line. Postbacks are set up on request through the API developer portal and Rakuten advises against using them for accounting: reconcile with the rakuten connector.',
  },
  {
    id: 'tonic',
    network: 'Tonic (RSOC)',
    platform: 'revenue feed',
    connector: 'tonic',
    postback: null,
    offerUrlParameter: 'subid4={cf_click_id}',
    confidence: 'TRACKER-GUIDE',
    notes: 'Search-arbitrage revenue arrives per sub-id and day through the tonic connector (estimated, then final); subid4 is the slot ClickFlare uses (Tonic offers subid1..subid4).',
  },
  {
    id: 'system1',
    network: 'System1 (RSOC)',
    platform: 'revenue feed',
    connector: 'system1',
    postback: null,
    offerUrlParameter: 'nonrevsubid={cf_click_id}',
    confidence: 'TRACKER-GUIDE',
    notes: 'Revenue arrives per sub-id and day through the system1 connector. nonrevsubid is the click-level slot in ClickFlare\'s guide; System1\'s own page lists sub_id/sub_id2, which are not session-level.',
  },
  {
    id: 'crossroads',
    network: 'Crossroads (Domain Active)',
    platform: 'revenue feed',
    connector: 'crossroads',
    postback: null,
    offerUrlParameter: 'tg1={cf_click_id}',
    confidence: 'INFERRED',
    notes: 'Revenue arrives per sub-id and day through the crossroads connector. tg1..tg10 are free tracking parameters; tg1 is the connector\'s default slot (choose another with click_id_field).',
  },
  {
    id: 'sedo',
    network: 'Sedo (domain parking)',
    platform: 'revenue feed',
    connector: 'sedo',
    postback: null,
    offerUrlParameter: 'c1={cf_click_id}',
    confidence: 'INFERRED',
    notes: 'Revenue arrives per sub-id and day through the sedo connector; the c1..c3 sub-ids were not confirmed in Sedo\'s documentation.',
  },
];

/** Which token a rendered postback URL carries. */
export type TemplateToken =
  /** The network's own postback_token (the only answer that shows it). */
  | { readonly kind: 'network'; readonly token: string }
  /** No token of its own, but the global POSTBACK_TOKEN applies: a placeholder the operator replaces. */
  | { readonly kind: 'global' }
  | { readonly kind: 'none' };

/** What the operator replaces with the server's POSTBACK_TOKEN (never the token itself). */
export const GLOBAL_TOKEN_PLACEHOLDER = 'REPLACE_WITH_POSTBACK_TOKEN';

export interface RenderedTemplate {
  readonly id: string;
  readonly network: string;
  readonly platform: string;
  readonly connector?: string;
  readonly postback_url: string | null;
  readonly offer_url_parameter: string;
  readonly confidence: TemplateConfidence;
  readonly notes: string;
}

const TOKEN_NOTES: Readonly<Record<TemplateToken['kind'], string>> = {
  network: "The URL carries this network's postback_token: keep it private, and fetch the URL again after rotating the token.",
  global: `Replace ${GLOBAL_TOKEN_PLACEHOLDER} with the server's POSTBACK_TOKEN, or give the network a postback_token of its own and ask again with network_id to get it filled in.`,
  none: 'No token applies: anyone who knows a click ID can register a conversion. Set a postback_token on the network (PATCH /api/v1/networks/:id) and ask again with network_id.',
};

/**
 * The templates as the API answers them: the postback URL on `base` (macros left exactly as the
 * network writes them, so that it can replace them), the token as `token` says, and the row's
 * confidence leading its notes. `registered` says which connectors exist, so a row names only those.
 */
export function renderTemplates(base: string, token: TemplateToken, registered: (connector: string) => boolean): RenderedTemplate[] {
  const tokenParameter = token.kind === 'network' ? `&token=${token.token}` : token.kind === 'global' ? `&token=${GLOBAL_TOKEN_PLACEHOLDER}` : '';
  return POSTBACK_TEMPLATES.map((template) => {
    const url = template.postback ? `${base}/cf/cv?${template.postback.map(([name, macro]) => `${name}=${macro}`).join('&')}${tokenParameter}` : null;
    const notes = [`${template.confidence}: ${template.notes}`, ...(url ? [TOKEN_NOTES[token.kind]] : [])].join(' ');
    return {
      id: template.id,
      network: template.network,
      platform: template.platform,
      ...(template.connector && registered(template.connector) ? { connector: template.connector } : {}),
      postback_url: url,
      offer_url_parameter: template.offerUrlParameter,
      confidence: template.confidence,
      notes,
    };
  });
}
