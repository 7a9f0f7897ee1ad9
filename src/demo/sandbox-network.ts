import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A conversion as Everflow's affiliate reporting API returns it; `revenue` holds exact digits. */
export interface SandboxConversion {
  conversion_id: string;
  conversion_unix_timestamp: number;
  click_unix_timestamp?: number;
  sub1: string;
  revenue: string;
  currency_id: string;
  status: 'approved' | 'pending' | 'rejected';
  is_event?: boolean;
  event?: string;
  transaction_id?: string;
}

/** Where the sandbox's conversions come from: a list, or a generator for large volumes. */
export interface SandboxData {
  /** Conversions with conversion_unix_timestamp in [fromSeconds, toSeconds]. */
  count(fromSeconds: number, toSeconds: number): number;
  page(fromSeconds: number, toSeconds: number, offset: number, limit: number): SandboxConversion[];
}

/** Serves a list, re-read on every request so statuses can change between pulls. */
export function listData(records: () => readonly SandboxConversion[]): SandboxData {
  const inRange = (from: number, to: number) => records().filter((record) => record.conversion_unix_timestamp >= from && record.conversion_unix_timestamp <= to);
  return {
    count: (from, to) => inRange(from, to).length,
    page: (from, to, offset, limit) => inRange(from, to).slice(offset, offset + limit),
  };
}

/** `total` conversions spread one every `stepSeconds` from `startSeconds`, generated on demand. */
export function generatedData(total: number, startSeconds: number, stepSeconds: number, make: (index: number) => SandboxConversion): SandboxData {
  const range = (from: number, to: number): [number, number] => {
    const first = Math.max(0, Math.ceil((from - startSeconds) / stepSeconds));
    const last = Math.min(total - 1, Math.floor((to - startSeconds) / stepSeconds));
    return [first, last];
  };
  return {
    count(from, to) {
      const [first, last] = range(from, to);
      return Math.max(0, last - first + 1);
    },
    page(from, to, offset, limit) {
      const [first, last] = range(from, to);
      const out: SandboxConversion[] = [];
      for (let index = first + offset; index <= last && out.length < limit; index += 1) out.push(make(index));
      return out;
    },
  };
}

export interface SandboxNetwork {
  readonly url: string;
  /** Requests served, by path. */
  readonly requests: Map<string, number>;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
}

/** 'YYYY-MM-DD HH:MM:SS' (UTC, timezone_id 67) or 'YYYY-MM-DD' to unix seconds. */
function parseEverflowTime(value: unknown, endOfDay: boolean): number {
  const text = String(value ?? '');
  const withTime = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text} ${endOfDay ? '23:59:59' : '00:00:00'}` : text;
  return Math.floor(Date.parse(`${withTime.replace(' ', 'T')}Z`) / 1000);
}

/**
 * A local stand-in for Everflow's affiliate API (the shapes of
 * https://developers.everflow.io/docs/affiliate/reporting/affiliate_raw_conversions): POST
 * /v1/affiliates/reporting/conversions (and an empty /onhold) with page/page_size paging, GET /v1/affiliates, the
 * X-Eflow-API-Key header, `{"error": …}` bodies. Money is written as exact JSON number literals.
 */
/** A canned answer the sandbox gives instead of the real one (fault injection in tests). */
export interface SandboxFault {
  readonly status: number;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

export async function startSandboxNetwork(
  data: SandboxData,
  options: { apiKey: string; host?: string; port?: number; fault?: (request: { path: string; page: number }) => SandboxFault | undefined; delayMs?: number },
): Promise<SandboxNetwork> {
  const requests = new Map<string, number>();
  const server: Server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://sandbox');
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    const send = (status: number, body: string): void => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(body);
    };
    const fault = options.fault?.({ path: url.pathname, page: Number(url.searchParams.get('page') ?? 1) });
    if (fault) {
      response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      return response.end(fault.body);
    }
    if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
    if (request.headers['x-eflow-api-key'] !== options.apiKey) return send(401, JSON.stringify({ error: 'Invalid API key' }));
    if (request.method === 'GET' && url.pathname === '/v1/affiliates') {
      return send(200, JSON.stringify({ network_affiliate_id: 7, name: 'Tally demo affiliate', account_status: 'active' }));
    }
    if (request.method === 'POST' && url.pathname === '/v1/affiliates/reporting/onhold') {
      // The sandbox holds no conversion (https://developers.everflow.io/api-reference/post-affiliatesreportingonhold).
      return send(200, JSON.stringify({ conversions: [], paging: { page: 1, page_size: Number(url.searchParams.get('page_size') ?? 50), total_count: 0 } }));
    }
    if (request.method === 'POST' && url.pathname === '/v1/affiliates/reporting/conversions') {
      let query: Record<string, unknown>;
      try {
        query = JSON.parse((await readBody(request)) || '{}') as Record<string, unknown>;
      } catch {
        return send(400, JSON.stringify({ error: 'Invalid JSON body' }));
      }
      if (query.timezone_id !== 67) return send(400, JSON.stringify({ error: 'This sandbox only answers timezone_id 67 (UTC)' }));
      const from = parseEverflowTime(query.from, false);
      const to = parseEverflowTime(query.to, true);
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const pageSize = Math.min(2000, Math.max(1, Number(url.searchParams.get('page_size') ?? 50)));
      const records = data.page(from, to, (page - 1) * pageSize, pageSize);
      const body = JSON.stringify({ conversions: records, paging: { page, page_size: pageSize, total_count: data.count(from, to) } })
        // Exact decimal literals, as Everflow writes them (12.50, not "12.50").
        .replace(/"revenue":"(-?\d+(?:\.\d+)?)"/g, '"revenue":$1');
      return send(200, body);
    }
    return send(404, JSON.stringify({ error: `No route ${request.method} ${url.pathname}` }));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
