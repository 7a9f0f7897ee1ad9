/** A bare fastify route, the yardstick for /cf/cv: parses the query and answers JSON, no I/O. */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
app.get('/cf/cv', async (request) => {
  const query = request.query as Record<string, string>;
  return { status: 'accepted', reason: null, conversion_id: query.txid ?? null };
});
app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) }).then((address) => {
  process.stdout.write(`listening ${address}\n`);
});
