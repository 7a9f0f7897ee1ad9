// The console's entry: layout (skip link, navigation, logout) and the page the URL names.
import { render } from 'preact';
import { html } from './lib/html.js';
import { Link, useLocation } from './lib/router.js';
import { OverviewPage } from './pages/overview.js';
import { PostbackLogPage } from './pages/postback-log.js';
import { ExplainPage } from './pages/explain.js';
import { ConversionsPage } from './pages/conversions.js';
import { ConnectionsPage } from './pages/connections.js';
import { NetworksPage } from './pages/networks.js';
import { OffersPage } from './pages/offers.js';
import { CampaignsPage } from './pages/campaigns.js';

/** What the server told the console about this install (display currency, public URL, …). */
export const settings = JSON.parse(document.getElementById('console-settings')?.textContent ?? '{}');

const PAGES = [
  { path: '/console', title: 'Overview', component: OverviewPage },
  { path: '/console/log', title: 'Postback log', component: PostbackLogPage },
  { path: '/console/explain', title: "Why didn't it count?", component: ExplainPage },
  { path: '/console/conversions', title: 'Conversions', component: ConversionsPage },
  { path: '/console/connections', title: 'Connections', component: ConnectionsPage, section: 'Setup' },
  { path: '/console/networks', title: 'Networks', component: NetworksPage },
  { path: '/console/offers', title: 'Offers', component: OffersPage },
  { path: '/console/campaigns', title: 'Campaigns', component: CampaignsPage },
];

function NotFound({ path }) {
  return html`<h1 tabindex="-1">Not found</h1><p>The console has no page at <code>${path}</code>. <${Link} href="/console">Go to the overview</${Link}>.</p>`;
}

function App() {
  const location = useLocation();
  const page = PAGES.find((candidate) => candidate.path === location.path);
  const Page = page?.component;
  return html`<a class="skip-link" href="#main">Skip to content</a>
    <div class="layout">
      <aside class="sidebar">
        <div class="brand"><span class="brand-mark" aria-hidden="true">T</span> Tally</div>
        <nav aria-label="Console">
          <ul>
            ${PAGES.map(
              (candidate) => html`${candidate.section ? html`<li class="nav-section" aria-hidden="true">${candidate.section}</li>` : null}
                <li><${Link} href=${candidate.path} aria-current=${candidate === page ? 'page' : undefined}>${candidate.title}</${Link}></li>`,
            )}
            <li class="nav-section" aria-hidden="true">More</li>
            ${settings.bullBoard ? html`<li><a href=${settings.bullBoard}>Queues (Bull Board)</a></li>` : null}
            <li><a href="/docs">API docs</a></li>
          </ul>
        </nav>
        <form method="post" action="/console/logout"><button type="submit" class="link-button">Log out</button></form>
      </aside>
      <main id="main" class="main" tabindex="-1">
        ${Page ? html`<${Page} query=${location.query} settings=${settings} />` : html`<${NotFound} path=${location.path} />`}
      </main>
    </div>`;
}

const root = document.getElementById('app');
// The server's "Loading…" placeholder goes; Preact renders into an empty element.
root.textContent = '';
render(html`<${App} />`, root);
