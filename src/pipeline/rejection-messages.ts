/** Operator-facing explanations for rejections decided after normalization. */
export const rejectionMessages = {
  unknownClickId: (clickId: string): string =>
    `click ID "${clickId}" does not match any click: check that the offer URL passes {cf_click_id} to the network and that the postback returns that value unchanged; the attempt is kept and re-matched if the click is imported later`,
  ipNotAllowed: (ip: string | undefined): string =>
    `postback from ${ip ?? 'an unknown address'} is not on this network's postback IP allow-list; add the network's server addresses to postback_ips or remove the list`,
  invalidToken: (): string => 'the postback token is missing or wrong: add token=<POSTBACK_TOKEN> to the postback URL',
} as const;
