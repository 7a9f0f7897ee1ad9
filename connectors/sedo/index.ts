import { z } from 'zod';
import { baseUrlField, secretField } from '../kit/config-fields';
import { defineSpecConnector } from '../kit/engine';
import type { ConnectorSpec, DateParamsSpec, RevenueFields, StreamSpec } from '../kit/spec';
import { zonedDay } from '../kit/zoned-time';
import { sedoFault, sedoItems, sedoItemSchema } from './schema';

/** Sedo API (SOAP/REST, "currently in the beta test phase"); the function page is INFERRED from the apidocs layout. */
const DOCS = 'https://api.sedo.com/api/apidocs/API_Member/';
const FUNCTION_DOCS = 'https://api.sedo.com/apidocs/v1/Basic/functions/sedoapi_DomainParkingSubIdReport.html';
const DEFAULT_BASE_URL = 'https://api.sedo.com/api/v1';
/** CLIENT: public clients treat Sedo's days as German time ("Final Sedo Insights are in that timezone"). */
export const SEDO_TIME_ZONE = 'Europe/Berlin';
/** INFERRED: clients ask for 9000–1000000 items a call; no maximum is documented. Paging goes on until a short page. */
export const SEDO_PAGE_SIZE = 1000;

export const sedoConfigSchema = z.object({
  partner_id: secretField('partner_id', 'the partner id Sedo issued for API access').regex(/^\d+$/, 'partner_id must be digits'),
  sign_key: secretField('sign_key', 'the sign key Sedo issued together with the partner id'),
  username: secretField('username', 'your Sedo account user name'),
  password: secretField('password', 'your Sedo account password'),
  base_url: baseUrlField(DEFAULT_BASE_URL),
  click_id_field: z.enum(['c1', 'c2', 'c3']).default('c1').describe('The Sedo sub-id (c1..c3) your traffic links fill with {cf_click_id}'),
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as EUR').default('EUR').describe("Your Sedo account's currency (the report does not say; INFERRED default EUR)"),
});
export type SedoConfig = z.infer<typeof sedoConfigSchema>;

const ONE_DAY: DateParamsSpec = { in: 'query', from: 'date', to: 'date', format: 'date', timeZone: SEDO_TIME_ZONE, end: 'inclusive', wholeDays: true, maxDays: 1 };

/** `final=true` (final numbers) or `final=false` (estimates): Sedo's flag is the request's. */
function subIdReport(final: boolean): StreamSpec<'revenue', SedoConfig> {
  const fields: RevenueFields<SedoConfig> = {
    subId: { configField: 'click_id_field' },
    day: { get: ['date'], format: 'date' },
    // `earnings`, summed over every domain and page of the day by the revenue job.
    amount: ['earnings'],
    currency: (_record, config) => config.currency,
    final: () => final,
    networkStatus: () => `final=${final}`,
  };
  return {
    name: final ? 'subid_report_final' : 'subid_report_estimated',
    documentationUrl: FUNCTION_DOCS,
    role: 'window',
    phase: final ? 'final' : 'estimate',
    // GET /api/v1/DomainParkingSubIdReport?partnerid&signkey&username&password&output_method=xml&date&final&startfrom&results
    request: { method: 'GET', path: 'DomainParkingSubIdReport', query: { output_method: 'xml', final: final ? 'true' : 'false' }, dates: ONE_DAY },
    pagination: { type: 'offset', in: 'query', param: 'startfrom', start: 0, size: { param: 'results', value: SEDO_PAGE_SIZE } },
    records: { path: [], schema: sedoItemSchema, parse: sedoItems },
    fields,
  };
}

const CREDENTIAL_FAULT = /partner|sign ?key|user|password|login|credential|auth/i;

export const sedoSpec: ConnectorSpec<'revenue', SedoConfig> = {
  id: 'sedo',
  name: 'Sedo (domain parking sub-id report)',
  kind: 'revenue',
  documentationUrl: DOCS,
  maturity: {
    level: 'experimental',
    unconfirmed: [
      'the DomainParkingSubIdReport function page was not readable: parameters, paging limits and item fields are from public client code',
      'what final=true answers for a day that is not final yet',
      'the time zone of days (Europe/Berlin, from client code) and the currency of earnings (the connection\'s currency, default EUR)',
      'fault codes other than E7 "Partnerid doesn\'t exist", and rate limits (none documented)',
    ],
  },
  config: { schema: sedoConfigSchema, secretFields: ['partner_id', 'sign_key', 'username', 'password'], defaultBaseUrl: DEFAULT_BASE_URL },
  // Every call carries partnerid, signkey, username and password (public clients; the WSDL request types).
  auth: { type: 'query_params', params: { partnerid: 'partner_id', signkey: 'sign_key', username: 'username', password: 'password' } },
  rateLimit: { requests: 1, intervalMs: 1000 },
  window: { maxDays: 7, defaultLookbackDays: 3 },
  feed: {
    timeZone: SEDO_TIME_ZONE,
    finalBy: 'flag',
    schedule: {
      everyMinutes: 60,
      estimateDays: 2,
      finalAfterDays: 3,
      source: 'INFERRED from public client code: final=true "would only return confirmed data (48+ hours old)" → estimates for 2 days, the final pull on day 3',
    },
  },
  streams: [subIdReport(true), subIdReport(false)],
  check: {
    documentationUrl: FUNCTION_DOCS,
    request: { method: 'GET', path: 'DomainParkingSubIdReport', query: { output_method: 'xml', final: 'false', date: () => zonedDay(new Date(Date.now() - 86_400_000), SEDO_TIME_ZONE), startfrom: 0, results: 1 } },
  },
  classification: [
    {
      name: 'SEDOFAULT about the credentials (E7 "Partnerid doesn\'t exist")',
      status: 200,
      body: (body) => {
        const fault = sedoFault(body);
        return fault !== undefined && (fault.code === 'E7' || CREDENTIAL_FAULT.test(fault.message));
      },
      then: { kind: 'auth' },
      hint: "check partner_id, sign_key, username and password in the connection's config",
      source: 'CLIENT: faults are in-band XML inside HTTP 200; E7 "Partnerid doesn\'t exist" was answered to dummy credentials (public ops notes of a live probe; repository not identifiable, see README)',
      examples: [{ status: 200, body: '<SEDOFAULT><faultcode>E7</faultcode><faultstring>Partnerid doesn\'t exist</faultstring></SEDOFAULT>', expect: 'auth' }],
    },
    {
      name: 'any other SEDOFAULT: the request is wrong',
      status: 200,
      body: (body) => sedoFault(body) !== undefined,
      then: { kind: 'bad_request' },
      hint: 'the fault code and string say what Sedo refused',
      source: 'INFERRED: no fault list is documented; a public client (https://github.com/DevToc/Node_Cron_GoogleSheet/blob/ae775531bbf4ccbdbb36d91e5a0e07c66badf287/services/sedoService.js) rejects with SEDOFAULT.faultstring',
      examples: [{ status: 200, body: '<SEDOFAULT><faultcode>E1</faultcode><faultstring>Invalid date</faultstring></SEDOFAULT>', expect: 'bad_request' }],
    },
  ],
  warnings: (config) => [
    `Sedo's report does not state a currency: earnings are registered in ${config.currency} (the connection's currency setting). Days are read as Europe/Berlin days, as public clients do. See connectors/sedo/README.md.`,
  ],
};

export const sedoConnector = defineSpecConnector(sedoSpec);
