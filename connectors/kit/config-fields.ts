import { z } from 'zod';

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/** True for hosts that never leave the machine: localhost, 127.0.0.0/8, ::1. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/**
 * `base_url`: the API host override. https only, except on loopback (local sandboxes and test
 * servers), because the connection's credentials go there.
 */
export function baseUrlField(defaultBaseUrl: string, note = '') {
  return z
    .string({ error: 'base_url must be text: an https URL' })
    .superRefine((value, context) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        context.addIssue({ code: 'custom', message: `base_url must be an absolute https URL such as ${defaultBaseUrl}` });
        return;
      }
      if (url.protocol === 'https:') return;
      if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return;
      context.addIssue({ code: 'custom', message: `base_url must use https (http only for localhost, 127.0.0.0/8 or ::1): credentials are sent there` });
    })
    .optional()
    .describe(`API host; defaults to ${defaultBaseUrl}${note ? ` (${note})` : ''}`);
}

/** A required credential with a message that says where to find it. */
export function secretField(name: string, whereToFindIt: string) {
  return z.string({ error: (issue) => (issue.input === undefined ? `${name} is required: ${whereToFindIt}` : `${name} must be text`) }).min(1, `${name} must not be empty`);
}
