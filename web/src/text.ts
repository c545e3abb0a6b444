// Offsets in the contract are Unicode code points; the DOM counts UTF-16 units. This module converts between
// the two for one article text and turns a DOM selection into a position and quote selector.
import type { Selector } from '../gen/annotate/v1/common';

/** Context kept on each side of a quote, in code points, so the server can tell repeated passages apart. */
const CONTEXT = 32;

export class ArticleText {
  readonly text: string;
  /** utf16[i] is the UTF-16 index of code point i; utf16[length] is text.length. */
  private readonly utf16: number[];

  constructor(text: string) {
    this.text = text;
    this.utf16 = [];
    for (let i = 0; i < text.length;) {
      this.utf16.push(i);
      i += text.codePointAt(i)! > 0xffff ? 2 : 1;
    }
    this.utf16.push(text.length);
  }

  /** Length in code points. */
  get length(): number { return this.utf16.length - 1; }

  /** UTF-16 index of a code-point offset (clamped to the text). */
  unit(codePoint: number): number {
    return this.utf16[Math.max(0, Math.min(codePoint, this.length))];
  }

  /** Code-point offset of a UTF-16 index; an index inside a surrogate pair counts as the pair's start. */
  codePoint(unit: number): number {
    let lo = 0, hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.utf16[mid] <= unit) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  slice(start: number, end: number): string {
    return this.text.slice(this.unit(start), this.unit(end));
  }

  /** Position and quote (with context) for the code-point range [start, end). */
  selector(start: number, end: number): Selector {
    return {
      position: { start, end },
      quote: {
        exact: this.slice(start, end),
        prefix: this.slice(Math.max(0, start - CONTEXT), start),
        suffix: this.slice(end, Math.min(this.length, end + CONTEXT)),
      },
    };
  }
}

/** UTF-16 offset of a DOM boundary point within root's text (root holds the article text and nothing else). */
function offsetIn(root: Node, node: Node, offset: number): number {
  if (node.nodeType !== Node.TEXT_NODE) {
    // A boundary between children: count the text of the children before it.
    let total = 0;
    for (let i = 0; i < offset && i < node.childNodes.length; i++) total += node.childNodes[i].textContent?.length ?? 0;
    node = node.childNodes[offset] ?? node;
    if (node === root || !root.contains(node)) return total;
    return total + textBefore(root, node);
  }
  return textBefore(root, node) + offset;
}

function textBefore(root: Node, target: Node): number {
  let total = 0;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (n === target || target.contains(n)) return total;
    total += (n as Text).length;
  }
  return total;
}

/**
 * The selection inside root as a code-point range, trimmed of surrounding whitespace; null when the
 * selection is empty, collapsed or not (entirely) inside root.
 */
export function selectedRange(root: HTMLElement, article: ArticleText): { start: number; end: number } | null {
  const selection = window.getSelection();
  if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
  const range = selection.getRangeAt(0);
  if (!root.contains(range.startContainer) || !root.contains(range.endContainer)) return null;
  let from = offsetIn(root, range.startContainer, range.startOffset);
  let to = offsetIn(root, range.endContainer, range.endOffset);
  const text = article.text;
  while (from < to && /\s/.test(text[from])) from++;
  while (to > from && /\s/.test(text[to - 1])) to--;
  if (from >= to) return null;
  const start = article.codePoint(from);
  const end = article.codePoint(to - 1) + 1;
  return { start, end };
}
