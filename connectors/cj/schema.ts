import { z } from 'zod';

/**
 * Record shapes of CJ's Commission Detail API (GraphQL `publisherCommissions`), as CJ's schema
 * describes them (https://docs.cj.com/docs/graphql-api; the type text as captured by introspection
 * in api-evangelist/cj-affiliate `graphql/cj-affiliate-commissions-schema.graphql`). Money is a
 * `DecimalNumber`: "A numerical value, rendered in JSON as a string", possibly negative. Times are
 * `Instant`s: UTC ISO 8601 with `Z`. Loose: unmapped fields stay in `raw`.
 */
const decimal = z.string().regex(/^-?[0-9]+(\.[0-9]+)?$/, 'a DecimalNumber is a string such as "7.781"');
const instant = z.iso.datetime({ offset: true, error: 'an Instant is an ISO 8601 UTC time such as 2018-05-03T22:31:48Z' });

export const cjCommissionSchema = z.looseObject({
  commissionId: z.string().min(1),
  originalActionId: z.string().min(1),
  original: z.boolean(),
  correctionReason: z.string().nullish(),
  actionStatus: z.string(),
  validationStatus: z.string().nullish(),
  actionType: z.string(),
  eventDate: instant,
  postingDate: instant,
  lockingDate: instant.nullish(),
  shopperId: z.string().nullish(),
  // `DecimalNumber!`, read leniently: a missing amount is a conversion without payout.
  pubCommissionAmountPubCurrency: decimal.nullish(),
  pubCommissionAmountUsd: decimal.nullish(),
});
export type CjCommission = z.infer<typeof cjCommissionSchema>;

/** The `PublisherCommissions` envelope under `data.publisherCommissions`. */
export const cjPageSchema = z.looseObject({
  data: z.looseObject({
    publisherCommissions: z.looseObject({
      payloadComplete: z.boolean(),
      maxCommissionId: z.string().nullish(),
      records: z.array(z.unknown()),
    }),
  }),
});

/** The GraphQL error messages of a body, or none. */
export function graphqlErrors(body: unknown): string[] {
  if (typeof body !== 'object' || body === null) return [];
  const errors = (body as { errors?: unknown }).errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((error) => String((error as { message?: unknown } | null)?.message ?? JSON.stringify(error)));
}

/** A GraphQL error mentioning the token or authorisation ("Missing Token", "Invalid Token", "Unauthorized"). */
export function isCjAuthError(body: unknown): boolean {
  return graphqlErrors(body).some((message) => /token|unauthori[sz]ed|not authenticated|authentication/i.test(message));
}

/** A GraphQL error about the query itself ("Invalid Syntax", "Validation error of type …"). */
export function isCjQueryError(body: unknown): boolean {
  return graphqlErrors(body).some((message) => /invalid syntax|validation error|wrongtype/i.test(message));
}

/** Any other GraphQL error, or a body without `data` (Keboola's client treats `"data": null` as a failure). */
export function isCjOtherError(body: unknown): boolean {
  if (graphqlErrors(body).length > 0) return true;
  return typeof body === 'object' && body !== null && (body as { data?: unknown }).data == null;
}
