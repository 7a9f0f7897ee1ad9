// Overview: conversions and revenue per day for 30 days by source, and the health of every
// connection and of this server (Postgres, Redis, the spool).
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api.js';
import { Badge, Field, Loaded, Notice, PageHeading, useLoad, valueOf } from '../lib/components.js';
import { formatAmount, plotValue, sumDecimals } from '../lib/decimal.js';
import { addDays, BROWSER_TIME_ZONE, formatTime, relativeTime, ROUTE_NAMES, timeZones, todayIn } from '../lib/format.js';
import { html } from '../lib/html.js';
import { Link } from '../lib/router.js';

const DAYS = 30;
const SOURCE_COLOURS = { postback: '#1f4fd1', pixel: '#7a3fc2', script: '#0f7d72', api: '#c2571a', upload: '#6b7280' };
const STORAGE_KEY = 'tally-console-overview';

function savedChoice() {
  try {
    return JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? '{}');
  } catch {
    return {};
  }
}

/** Rows of `group_by=day,source` as one series per source over every day of the range. */
function series(rows, days) {
  const sources = [...new Set(rows.map((row) => row.source))].sort();
  const cell = new Map(rows.map((row) => [`${row.day}|${row.source}`, row]));
  return sources.map((source) => ({
    source,
    revenue: days.map((day) => cell.get(`${day}|${source}`)?.revenue ?? '0.00'),
    conversions: days.map((day) => cell.get(`${day}|${source}`)?.conversions ?? 0),
  }));
}

function RevenueChart({ days, bySource, currency }) {
  const canvas = useRef(null);
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    if (!window.Chart) {
      setMissing(true);
      return undefined;
    }
    const conversions = days.map((_, index) => bySource.reduce((total, entry) => total + entry.conversions[index], 0));
    const chart = new window.Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: days.map((day) => day.slice(5)),
        datasets: [
          ...bySource.map((entry) => ({
            type: 'bar',
            label: `Revenue · ${ROUTE_NAMES[entry.source] ?? entry.source}`,
            data: entry.revenue.map(plotValue),
            backgroundColor: SOURCE_COLOURS[entry.source] ?? '#6b7280',
            stack: 'revenue',
            yAxisID: 'revenue',
            order: 2,
          })),
          { type: 'line', label: 'Conversions', data: conversions, borderColor: '#172033', backgroundColor: '#172033', yAxisID: 'conversions', tension: 0.2, order: 1 },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: true },
          revenue: { stacked: true, position: 'left', beginAtZero: true, title: { display: true, text: `Revenue (${currency})` } },
          conversions: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, ticks: { precision: 0 }, title: { display: true, text: 'Conversions' } },
        },
        plugins: {
          tooltip: {
            callbacks: {
              // Tooltips show the exact decimal strings, not the plotted floats.
              label: (item) => {
                const entry = bySource[item.datasetIndex];
                return entry ? `${item.dataset.label}: ${formatAmount(entry.revenue[item.dataIndex])} ${currency}` : `Conversions: ${item.formattedValue}`;
              },
            },
          },
        },
      },
    });
    return () => chart.destroy();
  }, [days, bySource, currency]);
  if (missing) return html`<${Notice} tone="warn">The chart library did not load; the table below has the same numbers.</${Notice}>`;
  const total = sumDecimals(bySource.flatMap((entry) => entry.revenue));
  return html`<div class="chart-box"><canvas ref=${canvas} role="img" aria-label=${`Revenue per day by source, ${days[0]} to ${days[days.length - 1]}: ${formatAmount(total)} ${currency} in total. The table below lists the same numbers.`}></canvas></div>`;
}

function DayTable({ days, bySource, currency }) {
  const active = days.map((day, index) => ({ day, index })).filter(({ index }) => bySource.some((entry) => entry.conversions[index] !== 0 || entry.revenue[index] !== '0.00'));
  return html`<details>
    <summary>Show the numbers as a table (${active.length} day${active.length === 1 ? '' : 's'} with conversions)</summary>
    <div class="table-wrap"><table id="revenue-table">
      <caption class="visually-hidden">Conversions and revenue per day and source</caption>
      <thead><tr><th scope="col">Day</th><th scope="col">Source</th><th scope="col" class="num">Conversions</th><th scope="col" class="num">Revenue (${currency})</th></tr></thead>
      <tbody>
        ${active.flatMap(({ day, index }) =>
          bySource.filter((entry) => entry.conversions[index] !== 0 || entry.revenue[index] !== '0.00').map(
            (entry) => html`<tr><td>${day}</td><td>${ROUTE_NAMES[entry.source] ?? entry.source}</td><td class="num">${entry.conversions[index]}</td><td class="num">${formatAmount(entry.revenue[index])}</td></tr>`,
          ),
        )}
      </tbody>
    </table></div>
  </details>`;
}

function Health() {
  const state = useLoad(async () => {
    const [connections, schedules, ready] = await Promise.all([
      api('/api/v1/connections'),
      api('/api/v1/schedules').catch(() => ({ queues: false, items: [] })),
      fetch('/readyz', { headers: { accept: 'application/json' } }).then(async (response) => ({ http: response.status, body: await response.json().catch(() => null) })).catch(() => null),
    ]);
    return { connections, schedules, ready };
  }, []);
  return html`<${Loaded} state=${state}>${({ connections, schedules, ready }) => {
    const next = new Map(schedules.items.map((item) => [item.connection_id, item.next_run_at]));
    const checks = ready?.body?.checks ?? {};
    const spool = ready?.body?.spool ?? checks.spool;
    return html`<div class="grid two">
      <section class="panel" aria-labelledby="server-health">
        <h2 id="server-health">This server</h2>
        ${ready === null ? html`<${Notice} tone="fail">/readyz did not answer.</${Notice}>` : html`
          <p>${ready.http === 200 ? html`<${Badge} tone="ok">ready</${Badge}> Postbacks can be made durable.` : html`<${Badge} tone="fail">not ready</${Badge}> Postbacks may be refused: see below.`}</p>
          <dl class="facts">
            ${Object.entries(checks).filter(([name]) => name !== 'spool').map(([name, value]) => html`<dt>${name}</dt><dd><${Badge} tone=${value === 'ok' ? 'ok' : 'fail'}>${typeof value === 'string' ? value : JSON.stringify(value)}</${Badge}></dd>`)}
            <dt>spool</dt>
            <dd>${spool === undefined
              ? html`<span class="muted">not reported by this server (no local spool status in /readyz)</span>`
              : typeof spool === 'string'
                ? html`<${Badge} tone=${spool === 'ok' ? 'ok' : 'warn'}>${spool}</${Badge}>`
                : html`<code>${JSON.stringify(spool)}</code>`}</dd>
          </dl>`}
      </section>
      <section class="panel" aria-labelledby="connection-health">
        <h2 id="connection-health">Connections</h2>
        ${connections.length === 0
          ? html`<p class="muted">No network API is connected. <${Link} href="/console/connections">Connect one</${Link}>.</p>`
          : html`<div class="table-wrap"><table>
              <thead><tr><th scope="col">Connection</th><th scope="col">Health</th><th scope="col">Last success</th><th scope="col">Next pull</th></tr></thead>
              <tbody>${connections.map((connection) => html`<tr>
                <td><${Link} href=${`/console/connections#c-${connection.id}`}>${connection.name}</${Link}></td>
                <td>${!connection.enabled ? html`<${Badge} tone="info">disabled</${Badge}>` : connection.healthy ? html`<${Badge} tone="ok">healthy</${Badge}>` : html`<${Badge} tone="fail">failing</${Badge}> <span class="muted">${connection.last_error ?? ''}</span>`}</td>
                <td title=${connection.last_success_at ?? ''}>${relativeTime(connection.last_success_at)}</td>
                <td title=${next.get(connection.id) ?? ''}>${connection.enabled ? relativeTime(next.get(connection.id)) : '—'}</td>
              </tr>`)}</tbody>
            </table></div>`}
      </section>
    </div>`;
  }}</${Loaded}>`;
}

export function OverviewPage({ settings }) {
  const saved = savedChoice();
  const [timeZone, setTimeZone] = useState(saved.timeZone ?? BROWSER_TIME_ZONE);
  const [basis, setBasis] = useState(saved.basis ?? 'conversion');
  useEffect(() => window.localStorage.setItem(STORAGE_KEY, JSON.stringify({ timeZone, basis })), [timeZone, basis]);
  const to = todayIn(timeZone);
  const from = addDays(to, -(DAYS - 1));
  const days = Array.from({ length: DAYS }, (_, index) => addDays(from, index));
  const report = useLoad(async () => {
    const [byDay, bySource] = await Promise.all([
      api('/api/v1/reports', { query: { group_by: 'day,source', from, to, tz: timeZone, time_basis: basis } }),
      api('/api/v1/reports', { query: { group_by: 'source', from, to, tz: timeZone, time_basis: basis } }),
    ]);
    return { byDay, bySource };
  }, [from, to, timeZone, basis]);

  return html`<${PageHeading} title="Overview" lead=${`Conversions and revenue of the last ${DAYS} days (approved and pending; refunds subtract), by the route they arrived by.`} />
    <form class="filters" onSubmit=${(event) => event.preventDefault()} aria-label="Chart settings">
      <${Field} label="Time zone">${(props) => html`<select ...${props} value=${timeZone} onChange=${(event) => setTimeZone(valueOf(event))}>${timeZones().map((zone) => html`<option value=${zone}>${zone}</option>`)}</select>`}</${Field}>
      <${Field} label="Count by">${(props) => html`<select ...${props} value=${basis} onChange=${(event) => setBasis(valueOf(event))}><option value="conversion">conversion time</option><option value="visit">visit (click) time</option></select>`}</${Field}>
    </form>
    <${Loaded} state=${report}>${({ byDay, bySource }) => {
      const perSource = series(byDay.rows, days);
      const revenue = sumDecimals(bySource.rows.map((row) => row.revenue));
      const conversions = bySource.rows.reduce((total, row) => total + row.conversions, 0);
      return html`
        <div class="cards">
          <div class="card"><div class="label">Revenue, ${DAYS} days</div><div class="value" id="total-revenue">${formatAmount(revenue)} ${byDay.currency}</div></div>
          <div class="card"><div class="label">Conversions, ${DAYS} days</div><div class="value" id="total-conversions">${conversions}</div></div>
          ${bySource.rows.map((row) => html`<div class="card"><div class="label">${ROUTE_NAMES[row.source] ?? row.source}</div><div class="value">${formatAmount(row.revenue)}</div><div class="muted">${row.conversions} conversions</div></div>`)}
        </div>
        ${byDay.unconverted_conversions > 0 ? html`<${Notice} tone="warn">${byDay.unconverted_conversions} conversions are left out of revenue: no FX rate to ${byDay.currency} is known for their date (POST /api/v1/fx-rates).</${Notice}>` : null}
        <section class="panel" aria-labelledby="chart-title">
          <h2 id="chart-title">Per day (${timeZone}, by ${basis === 'visit' ? 'visit' : 'conversion'} time)</h2>
          ${perSource.length === 0 ? html`<p class="empty">No conversions in these ${DAYS} days.</p>` : null}
          <${RevenueChart} days=${days} bySource=${perSource} currency=${byDay.currency} />
          <${DayTable} days=${days} bySource=${perSource} currency=${byDay.currency} />
        </section>`;
    }}</${Loaded}>
    <h2>Health</h2>
    <${Health} />
    <p class="muted">Display currency ${settings.displayCurrency} · Tally ${settings.version} · ${formatTime(new Date().toISOString(), timeZone)}</p>`;
}
