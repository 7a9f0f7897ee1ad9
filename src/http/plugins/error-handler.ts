import type { FastifyError, FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { TallyError } from '../../util/errors';

/** Every error leaves as `{"error":{"code","message"}}` with a 4xx/5xx status and a message that says how to fix it. */
export const errorHandlerPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issue = error.validation[0];
      const where = `${error.validationContext ?? 'request'}${issue?.instancePath ? issue.instancePath.replace(/\//g, '.') : ''}`;
      return reply.status(400).send({ error: { code: 'invalid_request', message: `${where}: ${issue?.message ?? 'invalid value'}` } });
    }
    if (error instanceof TallyError) {
      return reply.status(error.statusCode).send({ error: { code: error.code, message: error.message } });
    }
    // Postgres refuses text it cannot store or compare (U+0000, broken UTF-8) in a filter or field:
    // that is bad input, not a server fault.
    const sqlState = (error as { code?: unknown }).code;
    if (sqlState === '22021' || sqlState === '22P05') {
      return reply.status(400).send({ error: { code: 'invalid_characters', message: 'the request contains characters that cannot be stored or searched for (U+0000 or broken UTF-8); remove them and retry' } });
    }
    const status = error.statusCode ?? 500;
    if (status === 413) {
      return reply.status(413).send({ error: { code: 'payload_too_large', message: 'the request body is larger than this endpoint accepts' } });
    }
    if (status >= 400 && status < 500) {
      const code = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'unsupported_media_type' : error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' ? 'invalid_json' : 'bad_request';
      return reply.status(status).send({ error: { code, message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    const unavailable = /ECONNREFUSED|Connection terminated|timeout exceeded when trying to connect|Knex: Timeout acquiring a connection/.test(error.message);
    return reply
      .status(unavailable ? 503 : 500)
      .send({ error: { code: unavailable ? 'unavailable' : 'internal_error', message: unavailable ? 'the database is not reachable right now; retry shortly' : 'internal error; see the server log' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
});
