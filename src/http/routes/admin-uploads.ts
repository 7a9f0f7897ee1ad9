import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { uploadCsv, type UploadLineResult } from '../../upload/csv-upload';
import type { AppContext } from '../context';
import { errorBody } from '../schemas';

const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

/** POST /api/v1/uploads — a CSV body registered through the pipeline, like `tally upload`. */
export async function uploadRoutes(appInstance: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const app = appInstance.withTypeProvider<ZodTypeProvider>();
  // The CSV arrives as a stream and is parsed as it comes; it is never buffered whole.
  app.addContentTypeParser(['text/csv', 'application/csv'], { bodyLimit: MAX_UPLOAD_BYTES }, (_request, payload, done) => done(null, payload));

  app.post(
    '/api/v1/uploads',
    {
      bodyLimit: MAX_UPLOAD_BYTES,
      schema: {
        tags: ['conversions'],
        summary: 'Upload conversions as CSV (click_id,payout,transaction_id,conversion_type,timestamp; header optional)',
        consumes: ['text/csv'],
        querystring: z.object({ dry_run: z.enum(['true', 'false', '1', '0']).optional() }),
        response: {
          200: z.object({
            upload_id: z.string().nullable(),
            rows: z.number(), accepted: z.number(), duplicates: z.number(), updated: z.number(), rejected: z.number(),
            lines: z.array(z.object({ line: z.number(), status: z.string(), reason: z.string().optional(), message: z.string().optional() })),
          }),
          400: errorBody,
          415: errorBody,
        },
      },
    },
    async (request, reply) => {
      if (!(request.body instanceof Readable)) {
        return reply.status(415).send({ error: { code: 'unsupported_media_type', message: 'send the CSV as the request body with Content-Type: text/csv' } });
      }
      const lines: UploadLineResult[] = [];
      const summary = await uploadCsv(ctx.db, ctx.registrar, request.body, {
        filename: 'api upload',
        dryRun: request.query.dry_run === 'true' || request.query.dry_run === '1',
        onLine: (line) => lines.push(line),
      });
      if (summary.rows === 0) {
        return reply.status(400).send({ error: { code: 'empty_upload', message: 'the CSV has no conversion lines; expected click_id,payout,transaction_id,conversion_type,timestamp' } });
      }
      return { ...summary, lines };
    },
  );
}
