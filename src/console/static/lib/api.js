// The admin API as the console calls it: same origin, the session cookie, JSON in and out.

/** An error answer of the admin API: its code and the message that says how to fix it. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Query string from an object, leaving out empty values. */
export function queryString(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Calls the admin API; a lapsed session sends the operator to the login form and back. */
export async function api(path, { method = 'GET', body, query } = {}) {
  const response = await fetch(`${path}${queryString(query)}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    window.location.assign(`/console/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    throw new ApiError(401, 'unauthorized', 'Your session ended; log in again.');
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data?.error;
    throw new ApiError(response.status, error?.code ?? 'error', error?.message ?? `${method} ${path} failed with HTTP ${response.status}`);
  }
  return data;
}
