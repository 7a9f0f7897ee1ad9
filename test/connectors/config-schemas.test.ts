import { z } from 'zod';
import { clickbankConnector } from '../../connectors/clickbank';
import { everflowConnector } from '../../connectors/everflow';
import { impactConnector } from '../../connectors/impact';
import type { Connector } from '../../connectors/kit/types';

/** Each connector with a valid config and the secret it cannot do without. */
const cases: readonly (readonly [string, Connector<unknown>, Record<string, unknown>, string])[] = [
  ['everflow', everflowConnector as Connector<unknown>, { api_key: 'ef-key' }, 'api_key'],
  ['impact', impactConnector as Connector<unknown>, { account_sid: 'IRabc', auth_token: 'tok' }, 'auth_token'],
  ['clickbank', clickbankConnector as Connector<unknown>, { api_key: 'API-123' }, 'api_key'],
];

describe.each(cases)('%s config schema', (_id, connector, valid, secret) => {
  test('accepts base_url and the design default fields', () => {
    const parsed = connector.configSchema.parse({ ...valid, base_url: 'https://proxy.example/api' }) as Record<string, unknown>;
    expect(parsed.base_url).toBe('https://proxy.example/api');
    expect(connector.http(parsed).baseUrl).toBe('https://proxy.example/api');
    expect(connector.secretFields).toContain(secret);
  });

  test('uses the network host without base_url', () => {
    const parsed = connector.configSchema.parse(valid);
    expect(connector.http(parsed).baseUrl).toMatch(/^https:\/\/api(-eu)?\.(eflow\.team|impact\.com|clickbank\.com)$/);
  });

  test('a missing secret is rejected with a message that names it', () => {
    const { [secret]: _secret, ...withoutSecret } = valid;
    const result = connector.configSchema.safeParse(withoutSecret);
    expect(result.success).toBe(false);
    const issue = result.error?.issues.find((i) => i.path[0] === secret);
    expect(issue?.message).toMatch(new RegExp(`^${secret} is required: `));
    expect(z.prettifyError(result.error!)).toContain(secret);
  });

  test('an empty secret and a base_url that is not http(s) are rejected', () => {
    expect(connector.configSchema.safeParse({ ...valid, [secret]: '' }).success).toBe(false);
    expect(connector.configSchema.safeParse({ ...valid, base_url: 'ftp://example.com' }).success).toBe(false);
  });

  test('exports as JSON Schema for the admin API', () => {
    const schema = z.toJSONSchema(connector.configSchema) as { type: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.type).toBe('object');
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining([secret, 'base_url']));
    expect(schema.required).toContain(secret);
    expect(schema.required).not.toContain('base_url');
  });
});

test('click_id_field defaults as the design fixes them', () => {
  expect(everflowConnector.configSchema.parse({ api_key: 'k' }).click_id_field).toBe('sub1');
  expect(impactConnector.configSchema.parse({ account_sid: 's', auth_token: 't' }).click_id_field).toBe('SubId1');
  expect(everflowConnector.configSchema.safeParse({ api_key: 'k', click_id_field: 'sub6' }).success).toBe(false);
  expect(impactConnector.configSchema.safeParse({ account_sid: 's', auth_token: 't', click_id_field: 'SubId4' }).success).toBe(false);
});
