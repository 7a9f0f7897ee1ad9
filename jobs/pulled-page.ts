import type { NormalizedConversion } from '../connectors/kit/types';
import type { Transaction } from '../src/db/sql';
import type { Registrar } from '../src/pipeline/registrar';
import type { RegisterOptions, RegistrationInput, RegistrationOutcome } from '../src/pipeline/types';
import { netConversionParts } from './conversion-netting';

/** A normalized conversion as pipeline input; the raw API record is what the log keeps. */
export function toRegistrationInput(conversion: NormalizedConversion): RegistrationInput {
  const fields: Record<string, string> = { txid: conversion.txid, status: conversion.status, timestamp: conversion.occurred_at.toISOString() };
  if (conversion.click_id !== null) fields.click_id = conversion.click_id;
  if (conversion.payout !== null) fields.payout = conversion.payout;
  if (conversion.currency !== null) fields.payout_currency = conversion.currency;
  if (conversion.type !== null) fields.ct = conversion.type;
  if (conversion.network_status !== null) fields.network_status = conversion.network_status;
  return { fields, request: conversion.raw };
}

/**
 * Registers one pulled page in the caller's transaction: plain conversions as they are, and
 * conversions that net over several records (parts) as one conversion each, priced with the sum
 * of every part seen so far (conversion-netting.ts). A conversion that gained a part it never had
 * is logged even when the sum did not change, so every correction shows in the registration log.
 */
export async function registerPulledPage(
  registrar: Registrar,
  transaction: Transaction,
  page: readonly NormalizedConversion[],
  options: RegisterOptions & { readonly connectionId: string },
  /** Inputs registered beside the page's plain conversions (records the connector could not read). */
  alongside: readonly RegistrationInput[] = [],
): Promise<RegistrationOutcome[]> {
  const parted = page.filter((conversion) => conversion.part !== undefined);
  const plain = page.filter((conversion) => conversion.part === undefined);
  // Parts first: their group locks are taken before the pipeline locks any click.
  const { netted, rejected } = parted.length > 0 ? await netConversionParts(transaction, options.connectionId, parted) : { netted: [], rejected: [] };
  const register = (inputs: RegistrationInput[], logUnchanged = options.logUnchanged): Promise<RegistrationOutcome[]> =>
    inputs.length > 0 ? registrar.register(inputs, { ...options, transaction, logUnchanged }) : Promise.resolve([]);
  const refused: RegistrationInput[] = rejected.map((part) => ({ fields: {}, request: part.raw, rejection: part.rejection }));
  return [
    ...(await register([...plain.map(toRegistrationInput), ...alongside])),
    ...(await register(netted.filter((group) => !group.newPart).map((group) => toRegistrationInput(group.conversion)))),
    ...(await register(netted.filter((group) => group.newPart).map((group) => toRegistrationInput(group.conversion)), true)),
    ...(await register(refused, true)),
  ];
}
