import { ASSETS_PATH, IMPORT_MAP, IMPORT_MAP_CSP } from './console-assets';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/**
 * The console's Content-Security-Policy: scripts, styles, fetches and images from this origin
 * only, the inline import map by its hash, no framing, forms posting only here.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  `script-src 'self' ${IMPORT_MAP_CSP}`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers every console page carries. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': CONSOLE_CSP,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

function head(title: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="${ASSETS_PATH}/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="${ASSETS_PATH}/console.css">`;
}

/** What the console's script needs to know about this install, embedded as inert JSON. */
export interface ShellSettings {
  readonly displayCurrency: string;
  readonly publicBase: string;
  readonly bullBoard: string | null;
  readonly version: string;
}

/** The single page every console path serves; the script renders the page the path names. */
export function shellPage(settings: ShellSettings): string {
  // JSON in a non-executable script element: "<" is escaped so no value can close the element.
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `${head('Tally console')}
<script type="importmap">${IMPORT_MAP}</script>
<script src="${ASSETS_PATH}/vendor/chart.umd.min.js" defer></script>
<script type="module" src="${ASSETS_PATH}/app.js"></script>
<script type="application/json" id="console-settings">${json}</script>
</head>
<body>
<div id="app"><p class="boot">Loading the console…</p></div>
<noscript><p class="boot">The Tally console needs JavaScript. The admin API is described at <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;
}

/** The login form: plain HTML that works without the console's script. */
export function loginPage(options: { next: string; error?: string; tokenHint: string }): string {
  const error = options.error ? `<p class="form-error" role="alert" id="login-error">${escapeHtml(options.error)}</p>` : '';
  return `${head('Log in · Tally console')}
</head>
<body class="login-body">
<main class="login" aria-labelledby="login-title">
<h1 id="login-title"><span class="brand-mark" aria-hidden="true">T</span> Tally console</h1>
<form method="post" action="/console/login" class="stack">
<input type="text" name="username" value="admin" autocomplete="username" hidden>
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus${options.error ? ' aria-invalid="true" aria-describedby="login-error"' : ''}>
<input type="hidden" name="next" value="${escapeHtml(options.next)}">
${error}
<button type="submit" class="primary">Log in</button>
</form>
<p class="hint">${escapeHtml(options.tokenHint)}</p>
</main>
</body>
</html>
`;
}
