import type { FastifyInstance } from 'fastify';
import type { ConversionIntake } from '../intake/conversion-intake';

/**
 * Graceful stop: refuse new connections (503 while closing), let in-flight requests finish —
 * their conversions are committed before they are answered — then drain the intake.
 */
export async function stopServer(app: FastifyInstance, intake: ConversionIntake): Promise<void> {
  await app.close();
  await intake.drain();
}
