import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One EPC row as the sandbox serves it: a sub-id's revenue on a day, at a stage of Tonic's. */
export interface SandboxEpcRow {
  date: string;
  subid4: string;
  revenueUsd: string;
  revenue_type: 'estimated_revenue' | 'estimated_revenue_5h' | 'final';
}

export interface SandboxTonic {
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

/**
 * A local stand-in for Tonic's publisher API v3 (the shapes of "TONIC for Publishers - API
 * Documentation"): POST /jwt/authenticate with consumer_key/consumer_secret, Bearer JWTs that
 * expire (`tokenLifetimeSeconds`), 401 ["Token expired! […]"], GET /privileged/v3/epc/daily,
 * /epc/final, /final/date and /last/final. `rows()` is read on every request, so a day's revenue
 * can move from estimated to final while it runs.
 */
export async function startSandboxTonic(rows: () => readonly SandboxEpcRow[], options: { consumerKey: string; consumerSecret: string; tokenLifetimeSeconds?: number }): Promise<SandboxTonic> {
  const requests = new Map<string, number>();
  const tokens = new Map<string, number>();
  let issued = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://sandbox');
      requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
      const send = (status: number, body: unknown) => {
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (url.pathname === '/jwt/authenticate' && request.method === 'POST') {
        const body = JSON.parse((await readBody(request)) || '{}') as { consumer_key?: string; consumer_secret?: string };
        if (body.consumer_key !== options.consumerKey || body.consumer_secret !== options.consumerSecret) return send(403, [`Forbidden! Wrong credentials! [sb${++issued}]`]);
        const token = `eyJzYW5kYm94In0.${++issued}`;
        const expires = Math.floor(Date.now() / 1000) + (options.tokenLifetimeSeconds ?? 5400);
        tokens.set(token, expires);
        return send(200, { token, expires });
      }
      const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
      const expires = tokens.get(token);
      if (expires === undefined) return send(401, [`Invalid token! [sb${++issued}]`]);
      if (expires * 1000 <= Date.now()) return send(401, [`Token expired! [sb${++issued}]`]);
      const day = url.searchParams.get('date') ?? url.searchParams.get('from') ?? '';
      const ofDay = rows().filter((row) => row.date === day);
      const epc = (row: SandboxEpcRow, withType: boolean) => ({
        date: row.date, campaign_id: '140', campaign_name: 'demo rsoc campaign', clicks: '1', revenueUsd: row.revenueUsd,
        subid1: 'demo', subid2: '', subid3: '', subid4: row.subid4, keyword: 'demo keyword', timestamp: `${row.date} 12:00:00`,
        adtype: 'rsoc', advertiser: 'Sandbox', template: null, ...(withType ? { revenue_type: row.revenue_type } : {}),
      });
      switch (url.pathname) {
        case '/privileged/v3/epc/daily':
          return send(200, ofDay.map((row) => epc(row, url.searchParams.get('show_revenue_type') === 'yes')));
        case '/privileged/v3/final/date':
          return send(200, [{ final: ofDay.length > 0 && ofDay.every((row) => row.revenue_type === 'final') ? 'yes' : 'no' }]);
        case '/privileged/v3/epc/final':
          return send(200, ofDay.filter((row) => row.revenue_type === 'final').map((row) => epc(row, false)));
        case '/privileged/v3/last/final':
          return send(200, { 'final-date': '2018-06-21 00:00:00' });
        default:
          return send(400, [`Bad Request [sb${++issued}]`]);
      }
    })().catch(() => {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end('["Internal server error! [sandbox]"]');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
