import { ConnectorResponseError } from './errors';
import type { HttpRequest } from './http-client';
import { atPath } from './record-mapping';
import type { PageState, PaginationSpec } from './spec';

/** The first request of a paginated series, with the spec's page parameters set. */
export function firstPage(spec: PaginationSpec, request: HttpRequest): HttpRequest {
  switch (spec.type) {
    case 'page_number':
      return withParam(withSize(request, spec.in, spec.size), spec.in, spec.param, spec.start ?? 1);
    case 'offset':
      return withParam(withSize(request, spec.in, spec.size), spec.in, spec.param, spec.start ?? 0);
    default:
      return request;
  }
}

/** The request for the page after `state`, or undefined when it was the last. */
export function nextPage(spec: PaginationSpec, state: PageState, origin: string): HttpRequest | undefined {
  const { request, response, page, records, seen } = state;
  switch (spec.type) {
    case 'none':
      return undefined;
    case 'page_number': {
      const start = spec.start ?? 1;
      const stop = spec.stop;
      if (records === 0) return undefined;
      if (stop.type === 'total_count') {
        const total = Number(atPath(response.data, stop.path));
        if (!Number.isFinite(total) || seen >= total) return undefined;
      } else if (stop.type === 'total_pages') {
        const pages = Number(atPath(response.data, stop.path));
        if (!Number.isFinite(pages) || page - start + 1 >= pages) return undefined;
      } else if (stop.type === 'short_page' && records < (spec.size?.value ?? Number.POSITIVE_INFINITY)) {
        return undefined;
      }
      return withParam(request, spec.in, spec.param, start + page);
    }
    case 'offset': {
      if (records < spec.size.value) return undefined;
      return withParam(request, spec.in, spec.param, (spec.start ?? 0) + page * spec.size.value);
    }
    case 'cursor': {
      const cursor = atPath(response.data, spec.cursorPath);
      if (cursor === null || cursor === undefined || cursor === '') return undefined;
      return withParam(request, spec.in, spec.param, String(cursor));
    }
    case 'next_uri': {
      const uri = atPath(response.data, spec.path);
      if (typeof uri !== 'string' || uri.trim() === '') return undefined;
      const next = new URL(uri, origin);
      if (next.origin !== origin) throw new ConnectorResponseError(`the next-page URI points at another host (${next.origin}); not following it with credentials`);
      return { method: request.method, headers: request.headers, url: `${next.pathname}${next.search}` };
    }
    case 'page_header':
      if (response.status !== spec.moreStatus || records === 0) return undefined;
      return { ...request, headers: { ...request.headers, [spec.header]: String(page + 1) } };
    case 'custom':
      return spec.next(state);
  }
}

function withSize(request: HttpRequest, where: 'query' | 'body', size: { param: string; value: number } | undefined): HttpRequest {
  return size ? withParam(request, where, size.param, size.value) : request;
}

function withParam(request: HttpRequest, where: 'query' | 'body', name: string, value: string | number): HttpRequest {
  if (where === 'query') return { ...request, params: { ...request.params, [name]: value } };
  return { ...request, data: { ...(request.data as Record<string, unknown> | undefined), [name]: value } };
}
