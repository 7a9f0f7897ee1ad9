import { crc32 } from 'node:zlib';

/** Bytes before each payload: its length and its CRC-32, both unsigned 32-bit big-endian. */
export const FRAME_HEADER_BYTES = 8;
/** No spooled entry comes near this (request bodies are capped at 64 KB); a larger length is a torn or corrupt header. */
export const MAX_FRAME_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** One record of a spool segment: length, checksum, payload. */
export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) throw new RangeError(`a spool entry of ${payload.length} bytes is larger than ${MAX_FRAME_PAYLOAD_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

/** What a frame header says, or why it cannot be a frame. */
export type FrameHeader = { readonly ok: true; readonly length: number; readonly checksum: number } | { readonly ok: false; readonly reason: string };

export function readFrameHeader(header: Buffer): FrameHeader {
  if (header.length < FRAME_HEADER_BYTES) return { ok: false, reason: 'truncated header' };
  const length = header.readUInt32BE(0);
  // Every entry is a JSON document: a zero length is a zero-filled tail (a crash after the file grew), not an entry.
  if (length === 0 || length > MAX_FRAME_PAYLOAD_BYTES) return { ok: false, reason: `length ${length} is impossible` };
  return { ok: true, length, checksum: header.readUInt32BE(4) };
}

/** Whether a payload matches the checksum its header carries (a torn write does not). */
export function payloadIntact(payload: Buffer, checksum: number): boolean {
  return crc32(payload) === checksum;
}
