import type { FastifyInstance } from 'fastify';
import type { ConversionIntake } from '../intake/conversion-intake';

/** Listens on host:port; resolves with the address. */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  return app.listen({ host, port });
}

/**
 * Graceful stop: refuse new connections (503 while closing), let in-flight requests finish —
 * their conversions are committed before they are answered — then drain the intake.
 */
export async function stopServer(app: FastifyInstance, intake: ConversionIntake): Promise<void> {
  await app.close();
  await intake.drain();
}
