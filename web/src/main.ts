// The Annotate reader: sign in with a token, read an article with its highlights and claims coloured by
// consensus status, highlight or open a claim from a mouse selection, take stances with evidence from any
// article, adjudicate, make claims blind or reveal them, discuss claims and highlights in threads, follow
// changes live (WatchArticle) and look at the claims as of any position.
import { type Api, connect, describe, requestId, statusOf } from './api';
import { ArticleText, selectedRange } from './text';
import { $, type Child, field, h, put, say, shorten, when } from './dom';
import { Thread } from './discussion';
import { type Analyst } from '../gen/annotate/v1/admin';
import { type Article } from '../gen/annotate/v1/articles';
import { type Highlight } from '../gen/annotate/v1/annotations';
import { type ArticleSpan, ClaimStatus, Role, Stance } from '../gen/annotate/v1/common';
import { type ClaimView } from '../gen/annotate/v1/consensus';
import { Timestamp } from '../gen/google/protobuf/timestamp';

const TOKEN_KEY = 'annotate.token';

const STANCES: [Stance, string][] = [
  [Stance.SUPPORTS, 'Supports'], [Stance.REFUTES, 'Refutes'],
  [Stance.NEEDS_CONTEXT, 'Needs context'], [Stance.UNVERIFIABLE, 'Unverifiable'],
];
const stanceName = (s: Stance) => STANCES.find(([v]) => v === s)?.[1] ?? 'None';
const STATUS: Record<number, [string, string]> = {
  [ClaimStatus.PENDING]: ['pending', 'Pending'],
  [ClaimStatus.SUPPORTED]: ['supported', 'Supported'],
  [ClaimStatus.REFUTED]: ['refuted', 'Refuted'],
  [ClaimStatus.NEEDS_CONTEXT]: ['needs-context', 'Needs context'],
  [ClaimStatus.UNVERIFIABLE]: ['unverifiable', 'Unverifiable'],
  [ClaimStatus.CONTESTED]: ['contested', 'Contested'],
  [ClaimStatus.ADJUDICATED]: ['adjudicated', 'Adjudicated'],
};
const statusClass = (s: ClaimStatus) => STATUS[s]?.[0] ?? 'pending';
const statusName = (s: ClaimStatus) => STATUS[s]?.[1] ?? 'Unknown';
// A blind claim hidden from the caller (ClaimView.hidden) has no status the caller may know: it is shown as blind.
const claimClass = (v: ClaimView) => (v.hidden ? 'blind' : statusClass(v.status));
const claimState = (v: ClaimView) => (v.hidden ? 'blind' : `${statusName(v.status).toLowerCase()}${v.blind ? ' (blind)' : ''}`);
const percent = (x: number) => `${Math.round(x * 100)}%`;

// ------------------------------------------------------------------------------------------- state
let api: Api;
let me: Analyst;
let articles: Article[] = [];

interface Reading {
  article: Article;
  text: ArticleText;
  highlights: Highlight[];
  /** The global position the highlights were read at: their live feed starts after it. */
  highlightsAt: number;
  claims: Map<string, ClaimView>;
  /** Highest global position known for this article's views (the slider's right end). */
  head: number;
  watch: AbortController;
}
let reading: Reading | null = null;
/** The history view: claims and highlights as of a position, or null when showing the live state. */
let past: { position: number; claims: ClaimView[]; highlights: Highlight[] } | null = null;
/** The last selection in the article text, kept while the analyst fills in a form. */
let pending: { articleId: string; start: number; end: number } | null = null;
/** The claim shown in the panel, and the stance being prepared for it (evidence may come from other articles). */
let panel: { claimId: string; articleId: string; view: ClaimView | null; evidence: ArticleSpan[]; picking: boolean; existing: boolean; thread: Thread } | null = null;
/** The highlight shown in the panel, with its thread. */
let hlPanel: { highlightId: string; articleId: string; thread: Thread } | null = null;

const canAnnotate = () => me.roles.includes(Role.ANALYST) || me.roles.includes(Role.ADJUDICATOR);
const canAdjudicate = () => me.roles.includes(Role.ADJUDICATOR);
const threadContext = () => ({ api, me: me.analystId, canPost: canAnnotate(), fail });

// ------------------------------------------------------------------------------------------- sign-in
async function signIn(token: string, fromForm: boolean) {
  const error = $('login-error');
  error.textContent = '';
  try {
    api = connect(token);
    me = await api.admin.whoAmI({}).response;
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
    error.textContent = statusOf(e) === 'UNAUTHENTICATED'
      ? 'This token was not accepted: it is unknown, revoked or expired. Check it and try again.'
      : `Sign-in failed: ${describe(e)}`;
    if (fromForm) $('token').focus();
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $<HTMLInputElement>('token').value = '';
  $('login-view').hidden = true;
  $('app').hidden = false;
  $('account').hidden = false;
  const roles = me.roles.map(r => Role[r].toLowerCase()).join(', ');
  $('who').textContent = `${me.displayName || me.analystId} (${roles})`;
  await loadArticles();
  await route();
  if (fromForm) ($('articles').querySelector('a') as HTMLElement | null)?.focus();
}

function showLogin() {
  reading?.watch.abort();
  reading = null;
  $('login-view').hidden = false;
  $('app').hidden = true;
  $('account').hidden = true;
}

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin();
  $('login-error').textContent = message;
  $('token').focus();
}

/** Any call failing with UNAUTHENTICATED means the token stopped working (revoked, expired): back to sign-in. */
function fail(e: unknown) {
  if (statusOf(e) === 'UNAUTHENTICATED') signOut('Your token is no longer accepted (revoked or expired). Sign in again.');
  else say(describe(e), true);
}

// ------------------------------------------------------------------------------------------- articles
async function loadArticles() {
  articles = [];
  let pageToken = '';
  do {
    const page = await api.articles.listArticles({ page: { pageSize: 500, pageToken } }).response;
    articles.push(...page.articles);
    pageToken = page.nextPageToken;
  } while (pageToken);
  const list = $('article-list');
  list.replaceChildren(...articles.map(a => h('li', {},
    h('a', { href: `#/a/${encodeURIComponent(a.articleId)}`, 'data-article': a.articleId },
      h('span', { class: 'title' }, a.title || a.articleId),
      h('span', { class: 'meta' }, `${a.length.toLocaleString()} characters`)))));
}

/** Routes: #/a/<article>, #/a/<article>/c/<claim> and #/a/<article>/h/<highlight>. */
let routing: Promise<void> = Promise.resolve();
/** Routes one at a time, in the order the address changed. */
function route(): Promise<void> {
  routing = routing.then(routeNow, routeNow);
  return routing;
}

async function routeNow() {
  const m = /^#\/a\/([^/]+)(?:\/([ch])\/([^/]+))?$/.exec(location.hash);
  const articleId = m ? decodeURIComponent(m[1]) : articles[0]?.articleId;
  if (!articleId) { $('reader-body').replaceChildren(h('p', {}, 'No articles yet.')); return; }
  if (!m) history.replaceState(null, '', `#/a/${encodeURIComponent(articleId)}`);
  if (reading?.article.articleId !== articleId) await openArticle(articleId);
  const claimId = m?.[2] === 'c' ? decodeURIComponent(m[3]) : null;
  const highlightId = m?.[2] === 'h' ? decodeURIComponent(m[3]) : null;
  if (claimId && panel?.claimId !== claimId) await showClaim(claimId, articleId);
  if (!claimId && panel && !panel.picking) closeClaim();
  if (highlightId && hlPanel?.highlightId !== highlightId) showHighlight(highlightId, articleId);
  if (!highlightId && hlPanel) closeHighlight();
}

/** Bumped by every navigation; a load that finds it changed was overtaken by a newer one and drops its result. */
let navigation = 0;

async function openArticle(articleId: string) {
  const mine = ++navigation;
  reading?.watch.abort();
  reading = null;
  past = null;
  $('live').textContent = 'Connecting…';
  $('live').className = 'live off';
  pending = null;
  renderSelection();
  for (const a of $('article-list').querySelectorAll('a')) {
    if (a.dataset.article !== articleId) { a.removeAttribute('aria-current'); continue; }
    a.setAttribute('aria-current', 'page');
    // In a narrow window the list is one row that scrolls sideways: bring the open article into it.
    const list = $('article-list');
    if (list.scrollWidth > list.clientWidth) list.scrollLeft = a.offsetLeft - list.offsetLeft - 8;
  }
  let article: Article, highlights: { highlights: Highlight[]; at: number }, claims: ClaimView[], head: number;
  try {
    article = await api.articles.getArticle({ articleId }).response;
    [highlights, claims, head] = await Promise.all([loadHighlightsAt(articleId), ...loadClaims(articleId)]);
  } catch (e) { if (mine === navigation) fail(e); return; }
  if (mine !== navigation) return;
  reading = {
    article, text: new ArticleText(article.text), highlights: highlights.highlights, highlightsAt: highlights.at,
    head: Math.max(head, highlights.at, article.position),
    claims: new Map(claims.map(c => [c.claimId, c])), watch: new AbortController(),
  };
  document.title = `${article.title} · Annotate`;
  $('article-title').textContent = article.title || article.articleId;
  $('article-meta').textContent = [article.source, `imported ${when(article.importedAt)} by ${article.importedBy}`].filter(Boolean).join(' · ');
  $('article-actions').hidden = !canAdjudicate();
  renderText();
  renderHistory();
  if (panel && !panel.picking && panel.articleId !== articleId) closeClaim();
  if (hlPanel && hlPanel.articleId !== articleId) closeHighlight();
  void watch(reading);
  void followHighlights(reading);
}

async function loadHighlights(articleId: string, position?: number): Promise<Highlight[]> {
  return (await loadHighlightsAt(articleId, position)).highlights;
}

/** The article's highlights and the global position the answer reflects. */
async function loadHighlightsAt(articleId: string, position?: number): Promise<{ highlights: Highlight[]; at: number }> {
  const asOf = position === undefined ? undefined : { point: { oneofKind: 'position' as const, position } };
  const answer = await api.annotations.listHighlights({ articleId, asOf }).response;
  return { highlights: answer.highlights, at: answer.asOfPosition };
}

/** Every claim of the article (all pages) and the position the answer reflects. */
function loadClaims(articleId: string, position?: number): [Promise<ClaimView[]>, Promise<number>] {
  const asOf = position === undefined ? undefined : { point: { oneofKind: 'position' as const, position } };
  const all = (async () => {
    const claims: ClaimView[] = [];
    let pageToken = '', at = 0;
    do {
      const page = await api.consensus.listClaims({ articleId, statuses: [], page: { pageSize: 500, pageToken }, asOf }).response;
      claims.push(...page.claims);
      pageToken = page.nextPageToken;
      at = Math.max(at, page.asOfPosition);
    } while (pageToken);
    return { claims, at };
  })();
  return [all.then(r => r.claims), all.then(r => r.at)];
}

// ------------------------------------------------------------------------------------------- live updates
/** Follows the article's claim views; reconnects with a growing pause when the stream breaks. */
async function watch(r: Reading) {
  let connected = false;
  for (let attempt = 0; !r.watch.signal.aborted; attempt++) {
    try {
      const call = api.consensus.watchArticle({ articleId: r.article.articleId }, { abort: r.watch.signal });
      for await (const message of call.responses) {
        attempt = 0;
        const u = message.update;
        if (u.oneofKind === 'view') {
          r.claims.set(u.view.claimId, u.view);
          r.head = Math.max(r.head, u.view.lastPosition);
          if (panel?.claimId === u.view.claimId) { panel.view = u.view; renderClaim(); }
        } else if (u.oneofKind === 'reply') {
          // Threads are not drawn in the text: only the open panels' threads change.
          r.head = Math.max(r.head, u.reply.lastPosition);
          panel?.thread.apply(u.reply);
          hlPanel?.thread.apply(u.reply);
          renderHistory();
          continue;
        } else if (u.oneofKind === 'caughtUpPosition') {
          r.head = Math.max(r.head, u.caughtUpPosition);
          $('live').textContent = 'Live';
          $('live').className = 'live on';
          // The stream resends views, not replies: what was said while it was down is read again.
          if (connected) { void panel?.thread.load(); void hlPanel?.thread.load(); }
          connected = true;
        }
        if (!past) scheduleRender();
        renderHistory();
      }
    } catch (e) {
      if (r.watch.signal.aborted) return;
      if (statusOf(e) === 'UNAUTHENTICATED') { fail(e); return; }
    }
    $('live').textContent = 'Reconnecting…';
    $('live').className = 'live off';
    await new Promise(resolve => setTimeout(resolve, Math.min(30000, 1000 * 2 ** attempt)));
  }
}

/** Highlights and tags have no view stream: the article's events (History.Subscribe) say when to read them again. */
const HIGHLIGHT_EVENTS = new Set(['highlight-created.v1', 'highlight-retracted.v1', 'tag-applied.v1', 'tag-removed.v1']);
async function followHighlights(r: Reading) {
  let after = r.highlightsAt;
  let reload = 0;
  for (let attempt = 0; !r.watch.signal.aborted; attempt++) {
    try {
      const call = api.history.subscribe({ afterPosition: after, filter: { articleId: r.article.articleId, claimId: '', eventTypes: [...HIGHLIGHT_EVENTS] } }, { abort: r.watch.signal });
      for await (const message of call.responses) {
        attempt = 0;
        if (message.item.oneofKind !== 'event') continue;
        after = Math.max(after, message.item.event.position);
        r.head = Math.max(r.head, after);
        // One read for a burst of events.
        clearTimeout(reload);
        reload = window.setTimeout(async () => {
          try {
            const highlights = await loadHighlights(r.article.articleId);
            if (reading !== r) return;
            r.highlights = highlights;
            if (hlPanel) renderHighlight();
            if (!past) scheduleRender();
            renderHistory();
          } catch (e) { if (!r.watch.signal.aborted) fail(e); }
        }, 150);
      }
    } catch (e) {
      if (r.watch.signal.aborted) return;
      if (statusOf(e) === 'UNAUTHENTICATED') { fail(e); return; }
    }
    await new Promise(resolve => setTimeout(resolve, Math.min(30000, 1000 * 2 ** attempt)));
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; renderText(); });
}

// ------------------------------------------------------------------------------------------- the text
// A re-render replaces the text's nodes, which would drop a selection in progress: while the mouse is down or
// a selection lies in the text, renders wait until it ends.
let mouseDown = false;
let downAt = { x: 0, y: 0 };
let renderDeferred = false;
function selectingInText(): boolean {
  if (mouseDown) return true;
  const s = window.getSelection();
  return !!s && !s.isCollapsed && !!s.anchorNode && $('text').contains(s.anchorNode);
}
function resumeRender() {
  if (renderDeferred && !selectingInText()) { renderDeferred = false; scheduleRender(); }
}

function renderText() {
  const r = reading;
  if (!r) return;
  if (selectingInText()) { renderDeferred = true; return; }
  renderDeferred = false;
  // Spans on another revision of the text (orphans, or older spans in a past view) have offsets of another text: not marked.
  const onText = (x: { anchor?: { revision: number; status: number } }) =>
    !x.anchor || x.anchor.revision === 0 || (x.anchor.revision === r.article.revision && x.anchor.status !== 3 /* ORPHANED */);
  const claims = (past ? past.claims : [...r.claims.values()]).filter(onText);
  const highlights = (past ? past.highlights : r.highlights).filter(onText);
  const length = r.text.length;
  const cuts = new Set([0, length]);
  const spans = (sel?: { position?: { start: number; end: number } }) => sel?.position ? [Math.min(sel.position.start, length), Math.min(sel.position.end, length)] : [0, 0];
  for (const c of claims) spans(c.selector).forEach(x => cuts.add(x));
  for (const hl of highlights) spans(hl.selector).forEach(x => cuts.add(x));
  const bounds = [...cuts].sort((a, b) => a - b);
  // One tab stop per claim and per highlight: a claim's at its first segment, a highlight's at its first segment
  // that is not already a claim's stop.
  const firstSegment = new Set<string>();
  const highlightStop = new Set<string>();
  const body = h('div', { id: 'text', class: 'article-text' });
  for (let i = 0; i + 1 < bounds.length; i++) {
    const [a, b] = [bounds[i], bounds[i + 1]];
    const covers = (s: number[]) => s[0] <= a && b <= s[1] && s[0] < s[1];
    const hls = highlights.filter(x => covers(spans(x.selector)));
    // The narrowest claim over the segment is the one a click opens.
    const cl = claims.filter(x => covers(spans(x.selector)))
      .sort((x, y) => (spans(x.selector)[1] - spans(x.selector)[0]) - (spans(y.selector)[1] - spans(y.selector)[0]))[0];
    if (!hls.length && !cl) { body.append(...withBreaks(r.text, a, b)); continue; }
    const seg = h('span', { class: 'seg' }, ...withBreaks(r.text, a, b));
    const titles: string[] = [];
    if (hls.length) {
      seg.classList.add('hl');
      // The narrowest highlight over the segment is the one a click opens (when no claim covers it).
      hls.sort((x, y) => (spans(x.selector)[1] - spans(x.selector)[0]) - (spans(y.selector)[1] - spans(y.selector)[0]));
      seg.dataset.highlights = hls.map(x => x.highlightId).join(' ');
      if (hls.some(x => x.highlightId === hlPanel?.highlightId)) seg.classList.add('current');
      for (const x of hls) titles.push(`Highlight by ${x.author}${x.note ? `: ${x.note}` : ''}${x.tags.length ? ` [${x.tags.map(t => t.tag).join(', ')}]` : ''}`);
    }
    if (cl) {
      seg.classList.add('claim', `st-${claimClass(cl)}`);
      if (panel?.claimId === cl.claimId) seg.classList.add('current');
      seg.dataset.claim = cl.claimId;
      titles.unshift(`Claim, ${claimState(cl)}: ${cl.statement}`);
      if (!firstSegment.has(cl.claimId)) {
        // Enter or Space on the stop opens the claim.
        firstSegment.add(cl.claimId);
        seg.tabIndex = 0;
        seg.setAttribute('role', 'button');
        seg.dataset.open = `c/${cl.claimId}`;
        seg.setAttribute('aria-label', `Claim, ${claimState(cl)}: ${shorten(cl.statement, 80)}. Open the claim`);
      }
    }
    const unplaced = hls.find(x => !highlightStop.has(x.highlightId));
    if (unplaced && !seg.dataset.open) {
      highlightStop.add(unplaced.highlightId);
      seg.tabIndex = 0;
      seg.setAttribute('role', 'button');
      seg.dataset.open = `h/${unplaced.highlightId}`;
      seg.setAttribute('aria-label', `Highlight by ${unplaced.author}${unplaced.note ? `: ${shorten(unplaced.note, 60)}` : ''}. Open the highlight`);
    }
    seg.title = titles.join('\n');
    body.append(seg);
  }
  const old = $('text');
  // Keep the keyboard focus on the same claim across a re-render.
  const focused = document.activeElement instanceof HTMLElement && old.contains(document.activeElement) ? document.activeElement.dataset.open : undefined;
  old.replaceWith(body);
  if (focused) (body.querySelector(`[data-open="${CSS.escape(focused)}"]`) as HTMLElement | null)?.focus();
  $('reader').classList.toggle('in-past', past !== null);
}

/**
 * The text of [start, end) as DOM nodes. Seed texts are hard-wrapped: a line break after the end of a sentence
 * starts a paragraph (a block span around the break), any other one flows like a space. Every character stays
 * in the DOM as it is, so DOM offsets map to the article's offsets.
 */
function withBreaks(text: ArticleText, start: number, end: number): Node[] {
  const [from, to] = [text.unit(start), text.unit(end)];
  const nodes: Node[] = [];
  let at = from;
  for (let i = text.text.indexOf('\n', from); i !== -1 && i < to; i = text.text.indexOf('\n', i + 1)) {
    // A run of line breaks makes one paragraph break, at its first.
    if (text.text[i - 1] === '\n') continue;
    if (!/[.!?:;][”"’')\]]*\s*$/.test(text.text.slice(Math.max(0, i - 8), i)) && text.text[i + 1] !== '\n') continue;
    if (i > at) nodes.push(document.createTextNode(text.text.slice(at, i)));
    nodes.push(h('span', { class: 'para' }, '\n'));
    at = i + 1;
  }
  if (to > at) nodes.push(document.createTextNode(text.text.slice(at, to)));
  return nodes;
}

function onTextActivate(e: Event) {
  if (e instanceof KeyboardEvent && e.key !== 'Enter' && e.key !== ' ') return;
  const target = (e.target as HTMLElement).closest<HTMLElement>('[data-claim], [data-highlights]');
  if (!target || !reading) return;
  // A click that ends a selection (the pointer moved while down, or text is selected) is a selection, not an opening.
  if (e instanceof MouseEvent && (Math.hypot(e.clientX - downAt.x, e.clientY - downAt.y) > 3 || !(window.getSelection()?.isCollapsed ?? true))) return;
  // A key opens what the tab stop names; a click the narrowest claim under the pointer, else its narrowest highlight.
  const open = e instanceof KeyboardEvent ? target.dataset.open
    : target.dataset.claim ? `c/${target.dataset.claim}` : `h/${target.dataset.highlights!.split(' ')[0]}`;
  if (!open) return;
  e.preventDefault();
  const [kind, id] = [open.slice(0, 1), open.slice(2)];
  location.hash = `#/a/${encodeURIComponent(reading.article.articleId)}/${kind}/${encodeURIComponent(id)}`;
}

function onSelectionEnd() {
  const r = reading;
  if (!r) return;
  const range = selectedRange($('text'), r.text);
  if (!range) return;
  pending = { articleId: r.article.articleId, ...range };
  renderSelection();
}

// ------------------------------------------------------------------------------------------- selection panel
function renderSelection() {
  const box = $('selection');
  const r = reading;
  if (!pending || !r || pending.articleId !== r.article.articleId) { box.hidden = true; box.replaceChildren(); return; }
  const sel = pending;
  const quote = r.text.slice(sel.start, sel.end);
  const parts: Child[] = [
    h('h2', {}, 'Selection'),
    h('blockquote', { class: 'quote' }, shorten(quote, 300)),
    h('p', { class: 'meta' }, `Characters ${sel.start}–${sel.end} (code points)`),
  ];
  if (past) parts.push(h('p', {}, 'Go back to the live view to annotate.'));
  else if (!canAnnotate()) parts.push(h('p', {}, 'Your roles allow reading only.'));
  else {
    const actions = h('div', { class: 'actions' });
    if (panel?.picking) {
      actions.append(h('button', { type: 'button', class: 'primary', onclick: () => addEvidence(sel) }, 'Add as evidence'));
    }
    actions.append(
      h('button', { type: 'button', onclick: () => highlightForm(sel) }, 'Highlight…'),
      h('button', { type: 'button', onclick: () => claimForm(sel) }, 'Open claim…'),
      h('button', { type: 'button', class: 'quiet', onclick: () => { pending = null; renderSelection(); } }, 'Clear'));
    parts.push(actions, h('div', { id: 'selection-form' }));
  }
  put(box, ...parts);
  box.hidden = false;
}

function highlightForm(sel: { start: number; end: number }) {
  const note = h('textarea', { rows: '3', maxlength: '4000' });
  const tags = h('input', { type: 'text', autocomplete: 'off' });
  const form = h('form', { class: 'stack', 'aria-label': 'New highlight' },
    field('Note (optional)', note),
    field('Tags (optional)', tags, 'Separated by commas, e.g. "census, numbers"'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Save highlight')));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const r = reading!;
    const button = form.querySelector('button')!;
    button.disabled = true;
    try {
      const answer = await api.annotations.createHighlight({
        requestId: requestId(), articleId: r.article.articleId, selector: r.text.selector(sel.start, sel.end),
        note: note.value.trim(), tags: tags.value.split(',').map(t => t.trim()).filter(Boolean),
        revision: r.article.revision, // offsets of the text shown: refused if the article was revised since
      }).response;
      r.head = Math.max(r.head, answer.result?.position ?? 0);
      r.highlights = await loadHighlights(r.article.articleId);
      pending = null;
      window.getSelection()?.removeAllRanges();
      renderSelection();
      renderText();
      renderHistory();
      say(`Highlighted “${shorten(answer.highlight?.selector?.quote?.exact ?? '', 60)}”.`);
    } catch (err) { button.disabled = false; fail(err); }
  });
  $('selection-form').replaceChildren(form);
  note.focus();
}

function claimForm(sel: { start: number; end: number }) {
  const r = reading!;
  const statement = h('textarea', { rows: '3', maxlength: '1000' });
  statement.value = r.text.slice(sel.start, sel.end).replace(/\s+/g, ' ');
  const form = h('form', { class: 'stack', 'aria-label': 'New claim' },
    field('Statement', statement, 'The claim as a sentence; starts as the selected text.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Open claim')));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const button = form.querySelector('button')!;
    button.disabled = true;
    try {
      const answer = await api.claims.openClaim({
        requestId: requestId(), articleId: r.article.articleId, selector: r.text.selector(sel.start, sel.end),
        statement: statement.value.trim(), revision: r.article.revision,
      }).response;
      pending = null;
      renderSelection();
      window.getSelection()?.removeAllRanges();
      say(answer.existing ? 'A claim already covers this text; it is shown instead of a new one.' : 'Claim opened.');
      await showClaim(answer.claimId, r.article.articleId, answer.result?.position, answer.existing);
      location.hash = `#/a/${encodeURIComponent(r.article.articleId)}/c/${encodeURIComponent(answer.claimId)}`;
    } catch (err) { button.disabled = false; fail(err); }
  });
  $('selection-form').replaceChildren(form);
  statement.focus();
}

// ------------------------------------------------------------------------------------------- claim panel
async function showClaim(claimId: string, articleId: string, minPosition = 0, existing = false) {
  const mine = navigation;
  let view: ClaimView;
  try {
    view = await api.consensus.getClaimView({ claimId, minPosition }, { timeout: 10000 }).response;
  } catch (e) { fail(e); return; }
  if (mine !== navigation) return;
  if (panel?.claimId !== claimId) {
    closeHighlight();
    const thread = new Thread(threadContext(), { target: { oneofKind: 'claimId', claimId } });
    panel = { claimId, articleId, view, evidence: [], picking: false, existing, thread };
    void thread.load();
  } else { panel.view = view; panel.existing = existing; }
  reading?.claims.set(view.claimId, view);
  renderClaim(true);
  renderText();
  $('claim-heading').focus();
}

function closeClaim() {
  if (!panel) return;
  panel = null;
  $('claim').hidden = true;
  $('claim').replaceChildren();
  $('picking').hidden = true;
  renderText();
}

/** The panel: the view part is rebuilt on every update; the forms only when the claim changes (fresh). */
function renderClaim(fresh = false) {
  const p = panel;
  if (!p?.view) return;
  // With the history slider in the past, the panel shows the claim as it was then, read-only.
  const then = past && p.articleId === reading?.article.articleId ? past : null;
  const v = then ? then.claims.find(c => c.claimId === p.claimId) : p.view;
  const box = $('claim');
  box.hidden = false;
  if (fresh || !box.querySelector('#claim-view')) {
    put(box,
      h('div', { class: 'panel-head' },
        h('h2', { id: 'claim-heading', tabindex: '-1' }, 'Claim'),
        h('button', { type: 'button', class: 'quiet', 'aria-label': 'Close the claim', onclick: () => {
          closeClaim();
          if (reading) location.hash = `#/a/${encodeURIComponent(reading.article.articleId)}`;
        } }, 'Close')),
      h('div', { id: 'claim-view' }),
      canAnnotate() ? stanceForm() : null,
      p.thread.element,
      canAdjudicate() ? h('div', { id: 'blindness-form' }) : null,
      canAdjudicate() ? h('div', { id: 'adjudication-form' }) : null);
  }
  for (const id of ['stance-form', 'blindness-form', 'adjudication-form']) {
    const form = document.getElementById(id);
    if (form) form.hidden = then !== null;
  }
  p.thread.readOnly = then !== null;
  if (!v) {
    put($('claim-view'), h('p', { class: 'note', id: 'claim-status' }, `This claim did not exist yet at position ${then!.position}.`));
    return;
  }
  const total = v.tallies.reduce((n, t) => n + t.count, 0);
  const mine = v.stances.find(s => s.analyst === me.analystId);
  const where = h('a', { href: `#/a/${encodeURIComponent(v.articleId)}/c/${encodeURIComponent(v.claimId)}` }, articles.find(a => a.articleId === v.articleId)?.title ?? v.articleId);
  const head: Child[] = [
    then ? h('p', { class: 'note' }, `As it was at position ${then.position}.`) : null,
    p.existing ? h('p', { class: 'note' }, 'An existing claim covers the same text; this is that claim.') : null,
    h('blockquote', { class: 'quote' }, v.statement),
  ];
  if (v.hidden) {
    // The server sent no stances, tallies, status or verdict: say why, and what shows them.
    put($('claim-view'), ...head,
      h('p', {}, h('span', { class: 'badge st-blind', id: 'claim-status' }, 'Blind'), ` opened by ${v.openedBy} in `, where),
      h('p', { class: 'note blind-note', id: 'claim-blind' },
        'This claim is blind: the other analysts’ stances, rationales, tallies, status and any verdict stay hidden from you until you record a stance of your own. ',
        canAnnotate() ? h('strong', {}, 'Taking your stance below shows you theirs.') : 'Your roles do not allow taking a stance.'),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Agreement'), h('dd', { id: 'claim-agreement' }, 'hidden until your stance'),
        h('dt', {}, 'Decides at'), h('dd', {}, `${v.quorum} stances, ${percent(v.threshold)} share`)),
      h('h3', {}, 'Stances'),
      h('p', { class: 'meta', id: 'claim-stances-hidden' }, 'Hidden until you take yours.'),
      v.tags.length ? h('p', {}, 'Tags: ', v.tags.map(t => `${t.tag} (${t.analysts.length})`).join(', ')) : null);
  } else put($('claim-view'), ...head,
    h('p', {}, h('span', { class: `badge st-${statusClass(v.status)}`, id: 'claim-status' }, statusName(v.status)),
      v.blind ? h('span', { class: 'badge st-blind', id: 'claim-blind-badge' }, 'Blind') : null,
      ` opened by ${v.openedBy} in `, where),
    v.blind ? h('p', { class: 'note blind-note', id: 'claim-blind' }, canAdjudicate() || !mine
      ? 'This claim is blind: analysts who have not recorded a stance of their own see none of the stances, tallies or status below.'
      : 'This claim is blind: you see the others’ stances because you recorded yours; analysts without a stance of their own see none of them.') : null,
    h('dl', { class: 'facts' },
      h('dt', {}, 'Agreement'), h('dd', { id: 'claim-agreement' }, total ? `${percent(v.agreement)} ${stanceName(v.leadingStance).toLowerCase()}` : 'no stances yet'),
      h('dt', {}, 'Decides at'), h('dd', {}, `${v.quorum} stances, ${percent(v.threshold)} share`)),
    h('h3', {}, 'Tallies'),
    h('ul', { class: 'tallies', id: 'claim-tallies' }, ...STANCES.map(([s, name]) => {
      const count = v.tallies.find(t => t.stance === s)?.count ?? 0;
      return h('li', { 'data-stance': Stance[s].toLowerCase() },
        h('span', { class: 'label' }, name),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, bar(`fill s-${Stance[s].toLowerCase()}`, total ? count / total : 0)),
        h('span', { class: 'count' }, String(count)));
    })),
    v.adjudication ? h('div', { class: 'adjudication' },
      h('h3', {}, 'Adjudication'),
      h('p', {}, `${stanceName(v.adjudication.verdict)} by ${v.adjudication.adjudicator}, ${when(v.adjudication.adjudicatedAt)}`),
      v.adjudication.rationale ? h('p', { class: 'rationale' }, v.adjudication.rationale) : null) : null,
    h('h3', {}, `Stances (${v.stances.length})`),
    v.stances.length ? h('ul', { class: 'stances' }, ...v.stances.map(s => h('li', {},
      h('p', {}, h('strong', {}, s.analyst), ` ${stanceName(s.stance).toLowerCase()}`, s.takenAt ? h('span', { class: 'meta' }, ` · ${when(s.takenAt)}`) : null),
      s.rationale ? h('p', { class: 'rationale' }, s.rationale) : null,
      s.evidence.length ? h('ul', { class: 'evidence' }, ...s.evidence.map(ev => h('li', {},
        h('a', { href: `#/a/${encodeURIComponent(ev.articleId)}` }, articles.find(a => a.articleId === ev.articleId)?.title ?? ev.articleId),
        ': “', shorten(ev.selector?.quote?.exact ?? '', 200), '”'))) : null))) : h('p', { class: 'meta' }, 'No stances yet.'),
    v.tags.length ? h('p', {}, 'Tags: ', v.tags.map(t => `${t.tag} (${t.analysts.length})`).join(', ')) : null,
    h('p', { class: 'meta' }, `Version ${v.version} · position ${v.lastPosition} · ${when(v.lastEventAt)}`));
  if (canAnnotate()) {
    const blindStance = box.querySelector<HTMLElement>('#stance-blind');
    if (blindStance) blindStance.hidden = !v.hidden;
    const withdraw = box.querySelector<HTMLButtonElement>('#withdraw');
    if (withdraw) withdraw.hidden = !mine || v.status === ClaimStatus.ADJUDICATED;
    const closed = box.querySelector<HTMLElement>('#stance-closed');
    if (closed) closed.hidden = v.status !== ClaimStatus.ADJUDICATED;
    renderEvidence();
  }
  if (canAdjudicate()) { renderBlindness(v); renderAdjudication(v); }
}

/** A bar filled to `share` (0-1). Its width is set through the style object: the page's CSP refuses style attributes. */
function bar(className: string, share: number): HTMLElement {
  const fill = h('span', { class: className });
  fill.style.width = `${Math.round(share * 1000) / 10}%`;
  return fill;
}

function stanceForm(): HTMLElement {
  const p = panel!;
  const radios = STANCES.map(([s, name], i) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'stance', value: String(s), required: i === 0 }), ` ${name}`));
  const rationale = h('textarea', { rows: '3', maxlength: '4000' });
  const form = h('form', { class: 'stack', id: 'stance-form', 'aria-labelledby': 'stance-heading' },
    h('h3', { id: 'stance-heading' }, 'Your stance'),
    h('p', { id: 'stance-closed', class: 'note', hidden: true }, 'The claim is adjudicated: stances count again once it is reopened.'),
    h('p', { id: 'stance-blind', class: 'note', hidden: true }, 'Blind claim: once your stance is recorded, the others’ stances show here.'),
    h('fieldset', {}, h('legend', {}, 'Stance'), ...radios),
    field('Rationale', rationale),
    h('div', { class: 'field' }, h('span', { class: 'label', id: 'evidence-label' }, 'Evidence'),
      h('ul', { id: 'draft-evidence', class: 'evidence', 'aria-labelledby': 'evidence-label' }),
      h('button', { type: 'button', id: 'pick-evidence', onclick: () => startPicking() }, 'Pick evidence in an article…')),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Take stance'),
      h('button', { type: 'button', id: 'withdraw', hidden: true, onclick: () => withdraw() }, 'Withdraw my stance')));
  form.addEventListener('submit', async e => {
    e.preventDefault();
    const chosen = form.querySelector<HTMLInputElement>('input[name=stance]:checked');
    if (!chosen) { say('Choose a stance first.', true); return; }
    const button = form.querySelector<HTMLButtonElement>('button[type=submit]')!;
    button.disabled = true;
    try {
      const result = await api.claims.takeStance({
        requestId: requestId(), claimId: p.claimId, stance: Number(chosen.value) as Stance,
        rationale: rationale.value.trim(), evidence: p.evidence,
      }).response;
      p.evidence = [];
      p.picking = false;
      $('picking').hidden = true;
      rationale.value = '';
      say(`Stance taken: ${stanceName(Number(chosen.value) as Stance).toLowerCase()}.`);
      await showClaim(p.claimId, p.articleId, result.position);
    } catch (err) { fail(err); } finally { button.disabled = false; }
  });
  return form;
}

async function withdraw() {
  const p = panel!;
  try {
    const result = await api.claims.withdrawStance({ requestId: requestId(), claimId: p.claimId }).response;
    say('Your stance is withdrawn.');
    await showClaim(p.claimId, p.articleId, result.position);
  } catch (e) { fail(e); }
}

function renderEvidence() {
  const p = panel!;
  const list = document.getElementById('draft-evidence');
  if (!list) return;
  list.replaceChildren(...p.evidence.map((ev, i) => h('li', {},
    `${articles.find(a => a.articleId === ev.articleId)?.title ?? ev.articleId}: “${shorten(ev.selector?.quote?.exact ?? '', 120)}” `,
    h('button', { type: 'button', class: 'quiet', 'aria-label': `Remove evidence ${i + 1}`, onclick: () => { p.evidence.splice(i, 1); renderEvidence(); } }, 'Remove'))));
  if (!p.evidence.length) list.append(h('li', { class: 'meta' }, 'None: select text in any article to add some.'));
}

function startPicking() {
  if (!panel) return;
  panel.picking = true;
  $('picking-text').textContent = `Picking evidence for “${shorten(panel.view?.statement ?? '', 80)}”: open any article, select the passage, and press “Add as evidence”.`;
  $('picking').hidden = false;
  renderSelection();
  ($('article-list').querySelector('a') as HTMLElement | null)?.focus();
  say('Select the evidence passage in any article.');
}

function stopPicking() {
  const p = panel;
  if (!p) return;
  p.picking = false;
  $('picking').hidden = true;
  renderSelection();
  location.hash = `#/a/${encodeURIComponent(p.articleId)}/c/${encodeURIComponent(p.claimId)}`;
  document.getElementById('pick-evidence')?.focus();
}

function addEvidence(sel: { start: number; end: number }) {
  const p = panel, r = reading;
  if (!p || !r) return;
  p.evidence.push({ articleId: r.article.articleId, selector: r.text.selector(sel.start, sel.end), revision: r.article.revision });
  pending = null;
  window.getSelection()?.removeAllRanges();
  renderSelection();
  renderEvidence();
  say(`Evidence added (${p.evidence.length}). Add more, or press “Back to the claim”.`);
}

function renderAdjudication(v: ClaimView) {
  const box = document.getElementById('adjudication-form');
  if (!box) return;
  const adjudicated = v.status === ClaimStatus.ADJUDICATED;
  if (box.dataset.mode === (adjudicated ? 'reopen' : 'adjudicate')) return;
  box.dataset.mode = adjudicated ? 'reopen' : 'adjudicate';
  // The contract's limits: a reopening's reason has at most 2000 characters, a verdict's rationale 4000.
  const text = h('textarea', { rows: '2', maxlength: adjudicated ? '2000' : '4000' });
  if (adjudicated) {
    const form = h('form', { class: 'stack', 'aria-labelledby': 'adj-heading' },
      h('h3', { id: 'adj-heading' }, 'Reopen'), field('Reason', text),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Reopen the claim')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      try {
        const result = await api.claims.reopenClaim({ requestId: requestId(), claimId: v.claimId, reason: text.value.trim() }).response;
        say('Claim reopened.');
        await showClaim(v.claimId, v.articleId, result.position);
      } catch (err) { fail(err); }
    });
    box.replaceChildren(form);
  } else {
    const verdict = h('select', {}, ...STANCES.map(([s, name]) => h('option', { value: String(s) }, name)));
    const form = h('form', { class: 'stack', 'aria-labelledby': 'adj-heading' },
      h('h3', { id: 'adj-heading' }, 'Adjudicate'), field('Verdict', verdict), field('Rationale', text),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Record verdict')));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const reviewed = panel?.view;
      if (!reviewed) return;
      try {
        // The version shown is the one reviewed: the server refuses (ABORTED) when someone acted since.
        const result = await api.claims.adjudicate({
          requestId: requestId(), claimId: reviewed.claimId, verdict: Number(verdict.value) as Stance,
          rationale: text.value.trim(), expectedVersion: reviewed.version,
        }).response;
        say('Verdict recorded.');
        await showClaim(reviewed.claimId, reviewed.articleId, result.position);
      } catch (err) {
        fail(err);
        if (statusOf(err) === 'ABORTED') await showClaim(reviewed.claimId, reviewed.articleId);
      }
    });
    box.replaceChildren(form);
  }
}

/**
 * Blindness, for adjudicators: a claim that is not blind can be made blind (analysts then see the others' stances
 * only after recording their own); a blind one can be revealed to everyone, for good. The view does not tell a
 * revealed claim from one never blind: making a revealed claim blind again is refused by the server, with its reason.
 */
function renderBlindness(v: ClaimView) {
  const box = document.getElementById('blindness-form');
  if (!box) return;
  const mode = v.blind ? 'reveal' : 'blind';
  if (box.dataset.mode === mode) return;
  const hadFocus = box.contains(document.activeElement);
  box.dataset.mode = mode;
  const act = async (button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      const result = v.blind
        ? await api.claims.revealClaim({ requestId: requestId(), claimId: v.claimId }).response
        : await api.claims.makeBlind({ requestId: requestId(), target: { oneofKind: 'claimId', claimId: v.claimId } }).response;
      say(v.blind ? 'The claim is revealed to everyone.' : 'The claim is blind now.');
      await showClaim(v.claimId, v.articleId, result.position);
      document.querySelector<HTMLElement>('#blindness-form button')?.focus();
    } catch (err) { fail(err); } finally { button.disabled = false; }
  };
  const button: HTMLButtonElement = h('button', { type: 'button', onclick: () => act(button) }, v.blind ? 'Reveal to everyone' : 'Make blind');
  box.replaceChildren(h('section', { class: 'stack', 'aria-labelledby': 'blind-heading' },
    h('h3', { id: 'blind-heading' }, 'Blind stances'),
    h('p', { class: 'hint' }, v.blind
      ? 'Analysts see the others’ stances only after recording their own. Revealing shows everything to everyone, for good.'
      : 'Blind: analysts see the others’ stances, tallies and status only after recording their own.'),
    h('div', { class: 'actions' }, button)));
  if (hadFocus) button.focus();
}

/** An article made blind: its claims opened from then on start blind (already blind changes nothing, so no state is kept). */
async function makeArticleBlind() {
  const r = reading;
  if (!r) return;
  const button = $<HTMLButtonElement>('article-blind');
  button.disabled = true;
  try {
    await api.claims.makeBlind({ requestId: requestId(), target: { oneofKind: 'articleId', articleId: r.article.articleId } }).response;
    say('New claims on this article start blind.');
  } catch (e) { fail(e); } finally { button.disabled = false; }
}

// ------------------------------------------------------------------------------------------- highlight panel
function showHighlight(highlightId: string, articleId: string) {
  if (panel && !panel.picking) closeClaim();
  const thread = new Thread(threadContext(), { target: { oneofKind: 'highlightId', highlightId } });
  hlPanel = { highlightId, articleId, thread };
  void thread.load();
  renderHighlight();
  renderText();
  $('highlight-heading').focus();
}

function closeHighlight() {
  if (!hlPanel) return;
  hlPanel = null;
  $('highlight').hidden = true;
  $('highlight').replaceChildren();
  renderText();
}

/** The highlight's note, tags and author (as the live list has it), and its thread. */
function renderHighlight() {
  const p = hlPanel;
  if (!p) return;
  const box = $('highlight');
  box.hidden = false;
  if (!box.querySelector('#highlight-view')) {
    put(box,
      h('div', { class: 'panel-head' },
        h('h2', { id: 'highlight-heading', tabindex: '-1' }, 'Highlight'),
        h('button', { type: 'button', class: 'quiet', 'aria-label': 'Close the highlight', onclick: () => {
          closeHighlight();
          if (reading) location.hash = `#/a/${encodeURIComponent(reading.article.articleId)}`;
        } }, 'Close')),
      h('div', { id: 'highlight-view' }),
      p.thread.element);
  }
  const hl = reading?.article.articleId === p.articleId ? reading.highlights.find(x => x.highlightId === p.highlightId) : undefined;
  put($('highlight-view'), ...(hl
    ? [h('blockquote', { class: 'quote' }, shorten(hl.selector?.quote?.exact ?? '', 400)),
      h('p', {}, `By ${hl.author} · ${when(hl.createdAt)}`),
      hl.note ? h('p', { class: 'rationale', id: 'highlight-note' }, hl.note) : null,
      hl.tags.length ? h('p', {}, 'Tags: ', hl.tags.map(t => t.tag).join(', ')) : null]
    : [h('p', { class: 'note' }, 'This highlight is not in the article any more (retracted).')]));
  p.thread.readOnly = past !== null;
}

// ------------------------------------------------------------------------------------------- history
function renderHistory() {
  const r = reading;
  if (!r) return;
  const slider = $<HTMLInputElement>('history');
  const min = r.article.position;
  slider.min = String(min);
  slider.max = String(Math.max(r.head, min));
  slider.disabled = r.head <= min;
  if (!past) slider.value = slider.max;
  const label = $('history-value');
  if (past) {
    const last = past.claims.map(c => c.lastEventAt).filter(Boolean).map(t => Timestamp.toDate(t!)).sort((a, b) => +b - +a)[0];
    label.textContent = `As of position ${past.position} of ${r.head}${last ? `, last change ${last.toLocaleString()}` : ''}: ${past.claims.length} claims, ${past.highlights.length} highlights`;
  } else {
    label.textContent = `Now (position ${r.head}): ${r.claims.size} claims, ${r.highlights.length} highlights`;
  }
  slider.setAttribute('aria-valuetext', label.textContent);
  $('history-now').hidden = !past;
}

let historyTimer = 0;
function onHistoryInput() {
  clearTimeout(historyTimer);
  historyTimer = window.setTimeout(() => void showAsOf(Number($<HTMLInputElement>('history').value)), 120);
}

async function showAsOf(position: number) {
  const r = reading;
  if (!r) return;
  if (position >= r.head) { backToNow(); return; }
  try {
    const [highlights, claims] = await Promise.all([loadHighlights(r.article.articleId, position), loadClaims(r.article.articleId, position)[0]]);
    if (reading !== r) return;
    past = { position, claims, highlights };
  } catch (e) { fail(e); return; }
  renderText();
  renderHistory();
  renderSelection();
  renderClaim();
  renderHighlight();
}

function backToNow() {
  past = null;
  renderText();
  renderHistory();
  renderSelection();
  renderClaim();
  renderHighlight();
}

// ------------------------------------------------------------------------------------------- start
function init() {
  $('login-form').addEventListener('submit', e => {
    e.preventDefault();
    const token = $<HTMLInputElement>('token').value.trim();
    if (!token) { $('login-error').textContent = 'Paste your access token first.'; return; }
    void signIn(token, true);
  });
  $('signout').addEventListener('click', () => signOut());
  window.addEventListener('hashchange', () => { if (api && !$('app').hidden) void route(); });
  const reader = $('reader-body');
  reader.addEventListener('mouseup', () => setTimeout(onSelectionEnd));
  // Chromium starts no text selection from a press on a focusable element: a claim's or highlight's tab stop drops
  // out of the focus order while the button is down, so a drag from it selects text like anywhere else.
  reader.addEventListener('mousedown', e => {
    const stop = (e.target as HTMLElement).closest<HTMLElement>('#text [tabindex="0"]');
    if (!stop) return;
    stop.removeAttribute('tabindex');
    document.addEventListener('mouseup', () => { stop.tabIndex = 0; }, { once: true });
  });
  reader.addEventListener('keyup', e => { if (e.shiftKey) onSelectionEnd(); });
  reader.addEventListener('click', onTextActivate);
  reader.addEventListener('keydown', onTextActivate);
  document.addEventListener('mousedown', e => { mouseDown = true; downAt = { x: e.clientX, y: e.clientY }; });
  document.addEventListener('mouseup', () => { mouseDown = false; setTimeout(resumeRender); });
  document.addEventListener('selectionchange', resumeRender);
  $('history').addEventListener('input', onHistoryInput);
  $('history-now').addEventListener('click', backToNow);
  $('article-blind').addEventListener('click', () => void makeArticleBlind());
  $('picking-done').addEventListener('click', stopPicking);
  $('picking-cancel').addEventListener('click', () => { if (panel) panel.evidence = []; renderEvidence(); stopPicking(); });
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token, false);
  else showLogin();
}

init();
