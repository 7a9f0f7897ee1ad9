// Preact with htm: JSX-like templates in plain JavaScript, so the console needs no build step.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
