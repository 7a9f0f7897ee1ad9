import { z } from 'zod';

/**
 * Record shapes of Partnerize's partner conversion report, as the official API description shows
 * them (https://api-docs.partnerize.com/partner, operation `partner-conversions`: `Conversion_Data`,
 * `Click`, `Conversion_Status`; the same structures in PerformanceHorizonGroup/apidocs
 * `data/reporting.apib`). Ids are strings ("111111l314"); money arrives as JSON numbers (95.5),
 * which the lossless parser keeps as their exact digits. Loose: unmapped fields stay in `raw`.
 */
const amount = z.union([z.string(), z.number()]);
const text = z.string().nullish();

export const partnerizeConversionSchema = z.looseObject({
  conversion_data: z.looseObject({
    conversion_id: z.string().min(1),
    conversion_time: z.string(),
    currency: text,
    publisher_reference: text,
    click: z.looseObject({ publisher_reference: text }).nullish(),
    conversion_value: z.looseObject({ conversion_status: text, publisher_commission: amount.nullish() }),
  }),
});
export type PartnerizeConversion = z.infer<typeof partnerizeConversionSchema>;

