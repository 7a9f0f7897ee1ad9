// A form generated from a connector's JSON Schema (GET /api/v1/connectors → config_schema):
// strings, enums, numbers and booleans, with descriptions as hints and defaults filled in.
// Secrets (writeOnly) are password fields that are never filled from the server: on an edit,
// leaving one empty keeps the stored value.
import { html } from './html.js';
import { Field, valueOf } from './components.js';

function label(name) {
  return name.replace(/_/g, ' ').replace(/^./, (first) => first.toUpperCase());
}

/** The initial values for a schema: the stored config (secrets blank) or the schema's defaults. */
export function initialValues(schema, stored) {
  const values = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (property.writeOnly) values[name] = '';
    else if (stored && stored[name] !== undefined && stored[name] !== '[redacted]') values[name] = stored[name];
    else if (!stored && property.default !== undefined) values[name] = property.default;
    else values[name] = property.type === 'boolean' ? false : '';
  }
  return values;
}

/**
 * The config to send: empty optional fields left out (the server's defaults apply), numbers as
 * numbers, and on an edit empty secrets left out so the stored ones stay.
 */
export function configToSend(schema, values, editing) {
  const out = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    const value = values[name];
    if (property.type === 'boolean') {
      out[name] = Boolean(value);
      continue;
    }
    if (value === '' || value === undefined || value === null) {
      if (property.writeOnly && editing) continue;
      continue;
    }
    out[name] = property.type === 'integer' || property.type === 'number' ? Number(value) : value;
  }
  return out;
}

/** The fields of a schema as labelled controls. */
export function SchemaFields({ schema, values, onChange, editing, prefix }) {
  const required = new Set(schema.required ?? []);
  const set = (name, value) => onChange({ ...values, [name]: value });
  return html`${Object.entries(schema.properties ?? {}).map(([name, property]) => {
    const secret = Boolean(property.writeOnly);
    const hint = [property.description, secret ? (editing ? 'Secret: stored encrypted and never shown; leave empty to keep it.' : 'Secret: stored encrypted and never shown again.') : null]
      .filter(Boolean)
      .join(' ');
    const isRequired = required.has(name) && !(secret && editing);
    const text = `${label(name)}${isRequired ? ' (required)' : ''}`;
    const id = `${prefix}-${name}`;
    if (property.type === 'boolean') {
      return html`<div class="field"><label><input id=${id} name=${name} type="checkbox" checked=${Boolean(values[name])} onChange=${(event) => set(name, event.currentTarget.checked)} /> ${text}</label>${hint ? html`<span class="hint">${hint}</span>` : null}</div>`;
    }
    return html`<${Field} id=${id} label=${text} hint=${hint || undefined} wide=${!property.enum}>${(props) =>
      property.enum
        ? html`<select ...${props} name=${name} required=${isRequired} value=${values[name] ?? ''} onChange=${(event) => set(name, valueOf(event))}>
            ${isRequired ? null : html`<option value="">(default)</option>`}
            ${property.enum.map((option) => html`<option value=${option}>${option}</option>`)}
          </select>`
        : html`<input ...${props} name=${name} required=${isRequired}
            type=${secret ? 'password' : property.type === 'integer' || property.type === 'number' ? 'number' : 'text'}
            autocomplete=${secret ? 'new-password' : 'off'}
            minlength=${property.minLength} maxlength=${property.maxLength} min=${property.minimum} max=${property.maximum}
            placeholder=${secret && editing ? '•••••• (unchanged)' : ''}
            value=${values[name] ?? ''} onInput=${(event) => set(name, valueOf(event))} />`}</${Field}>`;
  })}`;
}
