import { z } from 'zod';
import { awinConnector } from '../../connectors/awin';
import { cakeConnector } from '../../connectors/cake';
import { hasOffersConnector } from '../../connectors/hasoffers';
import type { Connector } from '../../connectors/kit/types';

/** HasOffers, CAKE and Awin configs: each with a valid config, its secret, and its host without base_url. */
const cases: readonly (readonly [string, Connector<unknown>, Record<string, unknown>, string, string])[] = [
  ['hasoffers', hasOffersConnector as Connector<unknown>, { network_id: 'demo', api_key: 'ho-key' }, 'api_key', 'https://demo.api.hasoffers.com'],
  ['cake', cakeConnector as Connector<unknown>, { domain: 'partners.example.com', affiliate_id: 12, api_key: 'ck-key' }, 'api_key', 'https://partners.example.com'],
  ['awin', awinConnector as Connector<unknown>, { publisher_id: 189069, api_token: 'aw-token' }, 'api_token', 'https://api.awin.com'],
];

describe.each(cases)('%s config schema', (_id, connector, valid, secret, host) => {
  test('the network host without base_url; base_url overrides it', () => {
    expect(connector.http(connector.configSchema.parse(valid)).baseUrl).toBe(host);
    const parsed = connector.configSchema.parse({ ...valid, base_url: 'https://proxy.example/api' });
    expect(connector.http(parsed).baseUrl).toBe('https://proxy.example/api');
    expect(connector.secretFields).toEqual([secret]);
  });

  test('a missing or empty secret, and a base_url that is not https, are refused with messages that name them', () => {
    const { [secret]: _secret, ...withoutSecret } = valid;
    const missing = connector.configSchema.safeParse(withoutSecret);
    expect(missing.success).toBe(false);
    expect(missing.error?.issues.find((issue) => issue.path[0] === secret)?.message).toMatch(new RegExp(`^${secret} is required: `));
    expect(connector.configSchema.safeParse({ ...valid, [secret]: '' }).success).toBe(false);
    const http = connector.configSchema.safeParse({ ...valid, base_url: 'http://proxy.example' });
    expect(http.success).toBe(false);
    expect(z.prettifyError(http.error!)).toMatch(/https/);
  });

  test('exports as JSON Schema for the admin API, with the design default click_id_field', () => {
    const schema = z.toJSONSchema(connector.configSchema) as { properties: Record<string, { default?: unknown }>; required: string[] };
    expect(schema.required).toEqual(expect.arrayContaining(Object.keys(valid)));
    expect(schema.required).not.toContain('base_url');
    expect(schema.properties.click_id_field?.default).toBe({ hasoffers: 'affiliate_info1', cake: 'sub_id_1', awin: 'clickRef' }[connector.id]);
  });
});
