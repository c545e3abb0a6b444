// Small DOM helpers shared by the reader's modules: element building, labelled fields and the announcement lines.
import { Timestamp } from '../gen/google/protobuf/timestamp';

export type Child = Node | string | null | undefined | false;

/** An element with attributes (`on…` functions become listeners; true is an empty attribute, false none) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | ((e: Event) => void)> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** Replaces an element's children, skipping the absent ones. */
export function put(el: Element, ...children: Child[]) {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

let uid = 0;
/** A labelled form field: the label names the control for assistive technology. */
export function field(label: string, control: HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement, hint?: string): HTMLElement {
  control.id ||= `f${++uid}`;
  const hintEl = hint ? h('span', { class: 'hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** Announces a message in the status line (polite live region); errors go to the alert region. */
let sayTimer = 0;
export function say(message: string, error = false) {
  const el = $(error ? 'alert' : 'status');
  el.textContent = '';
  // A fresh text node, so screen readers announce the same message twice in a row too.
  requestAnimationFrame(() => { el.textContent = message; });
  $(error ? 'status' : 'alert').textContent = '';
  // Confirmations fade after a while; errors stay until the next message.
  clearTimeout(sayTimer);
  if (!error) sayTimer = window.setTimeout(() => { el.textContent = ''; }, 6000);
}

export const when = (t?: Timestamp) => (t ? Timestamp.toDate(t).toLocaleString() : '');
export const shorten = (s: string, n = 140) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
