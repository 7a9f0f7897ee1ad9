import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { uploadCsv, UploadTooLargeError, type UploadLineResult } from '../../upload/csv-upload';
import { InputError } from '../../util/errors';
import type { AppContext } from '../context';
import { errorBody } from '../schemas';

/** Line results kept in full for the first lines of a file (small uploads see every line, as before). */
export const MAX_LINE_RESULTS = 1000;
/** Rejected lines kept beyond that, so the answer to a large file stays bounded but shows what went wrong. */
export const MAX_REJECTED_LINE_RESULTS = 1000;

/**
 * Per-line results held for the answer, bounded: every line's result for the first
 * {@link MAX_LINE_RESULTS} lines, then only rejected lines up to {@link MAX_REJECTED_LINE_RESULTS};
 * the rest are counted (`lines_omitted`). Every line's outcome is in the postback log either way.
 */
class LineResults {
  readonly lines: UploadLineResult[] = [];
  omitted = 0;
  private rejectedKept = 0;

  add(line: UploadLineResult): void {
    if (this.lines.length < MAX_LINE_RESULTS) {
      this.lines.push(line);
    } else if (line.status === 'rejected' && this.rejectedKept < MAX_REJECTED_LINE_RESULTS) {
      this.lines.push(line);
      this.rejectedKept += 1;
    } else {
      this.omitted += 1;
    }
  }
}

/**
 * The body's chunks, failing with UploadTooLargeError once more than `limit` bytes have passed.
 * The request stream is then drained, not destroyed: destroying it would take the socket and the
 * 413 with it.
 */
async function* byteLimit(source: Readable, limit: number): AsyncGenerator<Buffer> {
  let seen = 0;
  const chunks = source[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = (await chunks.next()) as IteratorResult<Buffer>;
    if (done) return;
    seen += value.length;
    if (seen > limit) {
      source.resume();
      throw new UploadTooLargeError(limit);
    }
    yield value;
  }
}

/** POST /api/v1/uploads — a CSV body registered through the pipeline, like `tally upload`. */
export async function uploadRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  const limit = ctx.config.uploadMaxBytes;
  // The CSV arrives as a stream and is read as it comes; it is never buffered whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], { bodyLimit: limit }, (_request, payload, done) => done(null, payload));

  app.post(
    '/api/v1/uploads',
    {
      bodyLimit: limit,
      schema: {
        tags: ['conversions'],
        summary: 'Upload conversions as CSV (click_id,payout,transaction_id,conversion_type,timestamp; header optional)',
        description: `At most UPLOAD_MAX_MB (${Math.round(limit / 1024 / 1024)} MB here). \`lines\` holds the result of each of the first ${MAX_LINE_RESULTS} lines, then of rejected lines only (at most ${MAX_REJECTED_LINE_RESULTS} more); \`lines_omitted\` counts the rest, whose outcomes are in the postback log under upload_id.`,
        consumes: ['text/csv'],
        querystring: z.object({ dry_run: z.enum(['true', 'false', '1', '0']).optional() }),
        response: {
          200: z.object({
            upload_id: z.string().nullable(),
            rows: z.number(), accepted: z.number(), duplicates: z.number(), updated: z.number(), rejected: z.number(),
            lines: z.array(z.object({ line: z.number(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })),
            lines_omitted: z.number(),
          }),
          400: errorBody,
          413: errorBody,
          415: errorBody,
        },
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof Readable)) {
        return reply.status(415).send({ error: { code: 'unsupported_media_type', message: 'send the CSV as the request body with Content-Type: text/csv' } });
      }
      const declared = Number(request.headers['content-length'] ?? NaN);
      if (Number.isFinite(declared) && declared > limit) {
        request.body.resume();
        return reply.status(413).send({ error: { code: 'upload_too_large', message: new UploadTooLargeError(limit).message.replace(/; lines read before.*?\(see the counts\)/, '') } });
      }
      const results = new LineResults();
      const body = byteLimit(request.body, limit);
      try {
        const summary = await uploadCsv(ctx.db, ctx.registrar, body, {
          filename: 'api upload',
          dryRun: request.query.dry_run === 'true' || request.query.dry_run === '1',
          onLine: (line) => results.add(line),
        });
        if (summary.rows === 0) {
          return reply.status(400).send({ error: { code: 'empty_upload', message: 'the CSV has no conversion lines; expected click_id,payout,transaction_id,conversion_type,timestamp' } });
        }
        return { ...summary, lines: results.lines, lines_omitted: results.omitted };
      } catch (error) {
        if (error instanceof InputError && error.code === 'upload_too_large') {
          return reply.status(413).header('Connection', 'close').send({ error: { code: 'upload_too_large', message: error.message } });
        }
        throw error;
      }
    },
  );
}
