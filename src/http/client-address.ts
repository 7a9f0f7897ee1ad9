import type { FastifyRequest } from 'fastify';
import { storableAddress } from '../util/ip-address';

/** The request's client address (after TRUST_PROXY) when it is an IP address Postgres can store, else null. */
export function clientAddress(request: FastifyRequest): string | null {
  return storableAddress(request.ip);
}
