// Path-based routing under /console with the History API: every page has a URL to share.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';

const listeners = new Set();

function current() {
  return { path: window.location.pathname.replace(/\/+$/, '') || '/console', query: new URLSearchParams(window.location.search) };
}

/** Goes to a console URL without reloading the page. */
export function navigate(to, { replace = false } = {}) {
  if (replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  listeners.forEach((listener) => listener(current()));
}

window.addEventListener('popstate', () => listeners.forEach((listener) => listener(current())));

/** The current path and query; re-renders on navigation. */
export function useLocation() {
  const [location, setLocation] = useState(current);
  useEffect(() => {
    listeners.add(setLocation);
    return () => listeners.delete(setLocation);
  }, []);
  return location;
}

/** A link that navigates inside the console (a normal link for new tabs and modifier keys). */
export function Link({ href, children, ...rest }) {
  const onClick = (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** Sets the query of the current page (filters), keeping the path. */
export function setQuery(params, options) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  navigate(`${window.location.pathname}${text ? `?${text}` : ''}`, options);
}
