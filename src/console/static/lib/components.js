// Small building blocks shared by the pages: labelled fields, badges, notices, copy boxes, loaders.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';

let nextId = 0;
/** A stable id for label/for and aria-describedby pairs. */
export function useId(prefix = 'f') {
  const ref = useRef(null);
  if (ref.current === null) ref.current = `${prefix}-${(nextId += 1)}`;
  return ref.current;
}

/** A label, its control, an optional hint and error, tied together for screen readers. */
export function Field({ label, hint, error, wide, children, id }) {
  const generated = useId();
  const fieldId = id ?? generated;
  const hintId = hint ? `${fieldId}-hint` : undefined;
  const errorId = error ? `${fieldId}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  const control = typeof children === 'function' ? children({ id: fieldId, 'aria-describedby': describedBy, 'aria-invalid': error ? 'true' : undefined }) : children;
  return html`<div class=${`field${wide ? ' wide' : ''}`}>
    <label for=${fieldId}>${label}</label>
    ${control}
    ${hint ? html`<span class="hint" id=${hintId}>${hint}</span>` : null}
    ${error ? html`<span class="error" id=${errorId}>${error}</span>` : null}
  </div>`;
}

/** A status word with colour: the word carries the meaning, the colour only helps. */
export function Badge({ tone = 'info', children }) {
  return html`<span class=${`badge ${tone}`}>${children}</span>`;
}

/** A message box; errors and results are announced to screen readers. */
export function Notice({ tone = 'info', children }) {
  return html`<div class=${`notice ${tone}`} role=${tone === 'fail' ? 'alert' : 'status'}>${children}</div>`;
}

/** A read-only value with a Copy button (postback URLs, click URLs). */
export function CopyField({ label, value }) {
  const id = useId('copy');
  const [copied, setCopied] = useState('');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('Copied.');
    } catch {
      document.getElementById(id)?.select();
      setCopied('Selected: press Ctrl+C to copy.');
    }
  };
  return html`<div class="field wide">
    <label for=${id}>${label}</label>
    <div class="copy">
      <input id=${id} type="text" readonly value=${value} onFocus=${(event) => event.currentTarget.select()} />
      <button type="button" onClick=${copy}>Copy<span class="visually-hidden"> ${label}</span></button>
    </div>
    <span class="hint" role="status">${copied}</span>
  </div>`;
}

/**
 * Loads data for a page: `{data, error, loading, reload}`. Reloads when `deps` change; the
 * latest request wins when several overlap.
 */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const counter = useRef(0);
  const run = useCallback(async () => {
    const ticket = (counter.current += 1);
    setState((previous) => ({ ...previous, loading: true, error: null }));
    try {
      const data = await load();
      if (ticket === counter.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (ticket === counter.current) setState((previous) => ({ data: previous.data, error, loading: false }));
    }
  }, deps);
  useEffect(() => {
    run();
  }, [run]);
  return { ...state, reload: run };
}

/** Loading and error states around content. */
export function Loaded({ state, children }) {
  if (state.error) return html`<${Notice} tone="fail">${state.error.message}</${Notice}>`;
  if (state.data === null) return html`<p class="muted" role="status">Loading…</p>`;
  return children(state.data);
}

let firstPage = true;

/** The heading of a page, focused after navigation (not on the first load) so screen readers announce the new page. */
export function PageHeading({ title, lead, children }) {
  const ref = useRef(null);
  useEffect(() => {
    document.title = `${title} · Tally console`;
    if (firstPage) firstPage = false;
    else ref.current?.focus();
  }, [title]);
  return html`<div class="page-head">
      <h1 tabindex="-1" ref=${ref}>${title}</h1>
      ${children ? html`<div class="actions">${children}</div>` : null}
    </div>
    ${lead ? html`<p class="lead">${lead}</p>` : null}`;
}

/** Runs an action from a button, showing its result (or error) in a live region. */
export function useAction() {
  const [state, setState] = useState({ busy: false, message: null, tone: 'info' });
  const run = async (work, success) => {
    setState({ busy: true, message: null, tone: 'info' });
    try {
      const result = await work();
      setState({ busy: false, message: typeof success === 'function' ? success(result) : success ?? null, tone: 'ok' });
      return result;
    } catch (error) {
      setState({ busy: false, message: error.message, tone: 'fail' });
      return undefined;
    }
  };
  const view = state.message ? html`<${Notice} tone=${state.tone}>${state.message}</${Notice}>` : null;
  return { ...state, run, view, clear: () => setState({ busy: false, message: null, tone: 'info' }) };
}

/** Options for a select of catalog rows ({id, name}), with an empty choice first. */
export function Options({ items, empty }) {
  return html`${empty !== undefined ? html`<option value="">${empty}</option>` : null}
    ${(items ?? []).map((item) => html`<option value=${item.id}>${item.name}</option>`)}`;
}

/** The value of a form control from an input event. */
export const valueOf = (event) => event.currentTarget.value;
