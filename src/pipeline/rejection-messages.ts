/** Operator-facing explanations for rejections decided after normalization. */
export const rejectionMessages = {
  unknownClickId: (clickId: string): string =>
    `click ID "${clickId}" does not match any click: check that the offer URL passes {cf_click_id} to the network and that the postback returns that value unchanged; the attempt is kept and re-matched if the click is imported later`,
} as const;
