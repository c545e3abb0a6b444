// The browser reader in a real headless Chromium against the real Annotate server: the steps of an analyst's
// session, one test each, in order (each builds on the one before), with a screenshot after each step.
//
//   ANNOTATE_WEB_URL=http://127.0.0.1:<port>/  ANNOTATE_TOKEN=<admin token>  BROWSER_SHOTS=<dir>
//   [CHROMIUM=/usr/bin/chromium]
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.ANNOTATE_WEB_URL;
const token = process.env.ANNOTATE_TOKEN;
const shots = process.env.BROWSER_SHOTS;
if (!url || !token || !shots) throw new Error('ANNOTATE_WEB_URL, ANNOTATE_TOKEN and BROWSER_SHOTS must be set');
mkdirSync(shots, { recursive: true });

const ARTICLE = 'russia-involvement-kazakhstan-crisis';
const EVIDENCE_ARTICLE = 'kazakhstan-concerned-about-invasion';
const HIGHLIGHTED = 'a Kremlin-linked think tank';
const CLAIMED = 'The deployment of 3,000 Russian';
const EVIDENCE = 'about 20 percent';
const WAIT = { timeout: 15_000 };

let browser, analyst, observer;
let step = 0;
async function shot(page, name) {
  step += 1;
  await page.screenshot({ path: join(shots, `${String(step).padStart(2, '0')}-${name}.png`), fullPage: false });
}

/** Selects `passage` in the article text by dragging the mouse over it, as a person would. */
async function selectWithMouse(page, passage) {
  const box = await page.evaluate(needle => {
    const root = document.getElementById('text');
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    let all = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([n, all.length]); all += n.data; }
    const at = all.indexOf(needle);
    if (at < 0) return null;
    const locate = offset => {
      for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i][1] <= offset) return [nodes[i][0], offset - nodes[i][1]];
      return null;
    };
    const range = document.createRange();
    range.setStart(...locate(at));
    range.setEnd(...locate(at + needle.length - 1));
    range.setEnd(range.endContainer, range.endOffset + 1);
    // Into the middle of the window (the text is one tall element, so scroll by the range's own place).
    window.scrollBy(0, range.getBoundingClientRect().top - window.innerHeight / 2);
    const rects = range.getClientRects();
    const first = rects[0], last = rects[rects.length - 1];
    // Just inside the first character's left edge and the last one's right edge, at the middle of their lines.
    return { x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2 };
  }, passage);
  assert.ok(box, `the passage "${passage}" is in the article`);
  await page.mouse.move(box.x1, box.y1);
  await page.mouse.down();
  await page.mouse.move((box.x1 + box.x2) / 2, (box.y1 + box.y2) / 2, { steps: 4 });
  await page.mouse.move(box.x2, box.y2, { steps: 4 });
  await page.mouse.up();
  const selected = await page.evaluate(() => window.getSelection().toString().replace(/\s+/g, ' ').trim());
  assert.equal(selected, passage);
}

async function signIn(page, secret = token) {
  await page.goto(url);
  await page.getByLabel('Access token').fill(secret);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The article's text as the server stores it (code points), read through the page's own view of it. */
async function codePointOffset(page, passage) {
  return page.evaluate(needle => {
    const text = document.getElementById('text').textContent;
    return Array.from(text.slice(0, text.indexOf(needle))).length;
  }, passage);
}

// Administration the page does not offer is done over the server's gRPC-Web endpoint with messages framed by
// hand (the suite has no generated client): protobuf fields of wire type 2 (strings, packed enums), one
// gRPC-Web data frame per call.
function varint(n) {
  const bytes = [];
  for (; ; n >>>= 7) { if (n < 0x80) { bytes.push(n); return Buffer.from(bytes); } bytes.push((n & 0x7f) | 0x80); }
}
function lengthDelimited(number, bytes) {
  return Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
}
const text = (number, value) => lengthDelimited(number, Buffer.from(value, 'utf8'));
const packed = (number, values) => lengthDelimited(number, Buffer.concat(values.map(varint)));

/** One unary gRPC-Web call as the admin; resolves with the answer's message bytes once grpc-status is 0. */
async function call(method, ...fields) {
  const message = Buffer.concat(fields);
  const frame = Buffer.concat([Buffer.from([0]), Buffer.alloc(4), message]);
  frame.writeUInt32BE(message.length, 1);
  const answer = await fetch(new URL(method, url), {
    method: 'POST',
    headers: { 'content-type': 'application/grpc-web+proto', 'x-grpc-web': '1', authorization: `Bearer ${token}` },
    body: frame,
  });
  const body = Buffer.from(await answer.arrayBuffer());
  const status = answer.headers.get('grpc-status') ?? /grpc-status:\s*(\d+)/.exec(body.toString('latin1'))?.[1];
  assert.equal(status, '0', `${method} answered ${answer.status}, grpc-status ${status}: ${body.toString('latin1')}`);
  return body[0] === 0 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0);
}

/** The string in top-level field `number` of a message (fields of other wire types are skipped). */
function stringField(message, number) {
  for (let at = 0; at < message.length;) {
    let key = 0, shift = 0, b;
    do { b = message[at++]; key |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
    const wire = key & 7;
    if (wire === 0) { while (message[at++] & 0x80); continue; }
    if (wire === 1) { at += 8; continue; }
    if (wire === 5) { at += 4; continue; }
    let length = 0; shift = 0;
    do { b = message[at++]; length |= (b & 0x7f) << shift; shift += 7; } while (b & 0x80);
    if (key >> 3 === number) return message.subarray(at, at + length).toString('utf8');
    at += length;
  }
  return undefined;
}

/** ImportArticleRequest { request_id = 1, article_id = 2, title = 3, text = 4 }. */
async function importArticle(articleId, title, body) {
  await call('/annotate.v1.Articles/ImportArticle', text(1, `import-${articleId}`), text(2, articleId), text(3, title), text(4, body));
}

/** A new analyst with the roles (annotate.v1.Role numbers) and a token of theirs. */
async function analystWithToken(analystId, displayName, roles) {
  await call('/annotate.v1.Admin/CreateAnalyst', text(1, `create-${analystId}`), text(2, analystId), text(3, displayName), packed(4, roles));
  const issued = await call('/annotate.v1.Admin/IssueToken', text(1, `token-${analystId}`), text(2, analystId), text(3, 'browser suite'));
  const secret = stringField(issued, 2);
  assert.ok(secret, 'IssueToken answered a secret');
  return secret;
}
const ROLE_ANALYST = 1;

before(async () => {
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true });
  analyst = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  observer = await browser.newContext({ viewport: { width: 1360, height: 900 } });
});

after(async () => {
  await browser?.close();
});

let page;
let beforeClaim = 0;
let afterStances = 0;
let claimUrl = '';

test('Signing in with a token lists the articles and keeps the token for the tab only', async () => {
  page = await analyst.newPage();
  await signIn(page);
  await page.getByRole('navigation', { name: 'Articles' }).getByRole('link').first().waitFor(WAIT);
  assert.equal(await page.getByRole('navigation', { name: 'Articles' }).getByRole('link').count(), 5);
  assert.match(await page.locator('#who').textContent(), /admin/);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('annotate.token')), token);
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  await shot(page, 'signed-in');
});

test('Selecting a passage with the mouse and saving it as a highlight marks it in the text', async () => {
  await page.getByRole('link', { name: /Russia’s Involvement in Kazakhstan’s Crisis/ }).click();
  await page.locator('#article-title').filter({ hasText: 'Russia’s Involvement' }).waitFor(WAIT);
  await page.locator('#live.on').waitFor(WAIT);
  await selectWithMouse(page, HIGHLIGHTED);
  const start = await codePointOffset(page, HIGHLIGHTED);
  const selection = page.getByRole('region', { name: 'Selection' });
  await selection.getByText(`Characters ${start}–${start + HIGHLIGHTED.length} (code points)`).waitFor(WAIT);
  await shot(page, 'passage-selected');
  await selection.getByRole('button', { name: 'Highlight…' }).click();
  await page.getByLabel('Note (optional)').fill('Who funds the council?');
  await page.getByLabel('Tags (optional)').fill('source, think tank');
  await page.getByRole('button', { name: 'Save highlight' }).click();
  const mark = page.locator('#text .hl');
  await mark.first().waitFor(WAIT);
  assert.equal((await mark.allTextContents()).join('').replace(/\s+/g, ' '), HIGHLIGHTED);
  assert.match(await mark.first().getAttribute('title'), /Highlight by admin: Who funds the council\? \[source, think-tank\]/);
  // The history line names the position the page shows, the highlight's included.
  beforeClaim = Number(/position (\d+)/.exec(await page.locator('#history-value').textContent())[1]);
  assert.equal(Number(await page.locator('#history').inputValue()), beforeClaim);
  await shot(page, 'highlighted');
});

test('Opening a claim from a selection shows the claim panel, pending, with no stances', async () => {
  await selectWithMouse(page, CLAIMED);
  await page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Open claim…' }).click();
  const statement = page.getByLabel('Statement');
  assert.equal(await statement.inputValue(), CLAIMED);
  await statement.fill('Russia deployed 3,000 paratroopers to Kazakhstan');
  await page.getByRole('button', { name: 'Open claim', exact: true }).click();
  const panel = page.locator('#claim');
  await panel.getByText('Russia deployed 3,000 paratroopers to Kazakhstan').waitFor(WAIT);
  assert.equal(await page.locator('#claim-status').textContent(), 'Pending');
  assert.equal(await page.locator('#claim-agreement').textContent(), 'no stances yet');
  await page.locator('#text .claim.st-pending').first().waitFor(WAIT);
  assert.equal((await page.locator('#text .claim').allTextContents()).join('').replace(/\s+/g, ' '), CLAIMED);
  assert.match(page.url(), /#\/a\/russia-involvement-kazakhstan-crisis\/c\//);
  await page.locator('#text .claim').first().scrollIntoViewIfNeeded();
  claimUrl = page.url();
  await page.getByRole('status').filter({ hasText: 'Claim opened.' }).waitFor(WAIT);
  // Every control of the page has a name for assistive technology (a label, aria-label or aria-labelledby).
  const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select, button')]
    .filter(el => el.checkVisibility() && !(el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map(el => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unnamed, []);
  await shot(page, 'claim-opened');
});

let watcher;
test('Taking a stance with evidence picked in another article updates the tally, and a second browser shows it without reload', async () => {
  // The second browser, signed in as another analyst (no adjudicator role), opens the claim first and keeps the page.
  const beaToken = await analystWithToken('bea', 'Bea Analyst', [ROLE_ANALYST]);
  watcher = await observer.newPage();
  await signIn(watcher, beaToken);
  await watcher.locator('#who').filter({ hasText: 'Bea Analyst (analyst)' }).waitFor(WAIT);
  await watcher.waitForURL(/#\/a\//, WAIT);
  await watcher.goto(claimUrl);
  await watcher.locator('#claim-tallies [data-stance=refutes] .count').filter({ hasText: '0' }).waitFor(WAIT);
  await watcher.locator('#live.on').waitFor(WAIT);
  await watcher.evaluate(() => { window.notReloaded = true; });

  await page.getByRole('radio', { name: 'Refutes' }).check();
  await page.getByLabel('Rationale').first().fill('Reports from Kazakhstan name a smaller contingent.');
  await page.getByRole('button', { name: 'Pick evidence in an article…' }).click();
  await page.getByRole('link', { name: /Very concerned/ }).click();
  await page.locator('#article-title').filter({ hasText: 'Very concerned' }).waitFor(WAIT);
  await selectWithMouse(page, EVIDENCE);
  await page.getByRole('button', { name: 'Add as evidence' }).click();
  await page.locator('#draft-evidence').getByText(EVIDENCE).waitFor(WAIT);
  await page.locator('#draft-evidence').scrollIntoViewIfNeeded();
  await shot(page, 'evidence-picked');
  await page.getByRole('button', { name: 'Back to the claim' }).click();
  await page.locator('#article-title').filter({ hasText: 'Russia’s Involvement' }).waitFor(WAIT);
  await page.getByRole('button', { name: 'Take stance' }).click();
  await page.locator('#claim-tallies [data-stance=refutes] .count').filter({ hasText: '1' }).waitFor(WAIT);
  const stance = page.locator('.stances li').first();
  await stance.getByText('Reports from Kazakhstan name a smaller contingent.').waitFor(WAIT);
  await stance.getByText(EVIDENCE).waitFor(WAIT);
  const width = stance => page.locator(`#claim-tallies [data-stance=${stance}] .fill`).evaluate(el => el.getBoundingClientRect().width);
  assert.equal(await width('supports'), 0);
  assert.ok(await width('refutes') > 100, 'the refutes bar is full');
  await page.locator('#text .claim').first().scrollIntoViewIfNeeded();
  await shot(page, 'stance-taken');

  await watcher.locator('#claim-tallies [data-stance=refutes] .count').filter({ hasText: '1' }).waitFor(WAIT);
  // The highlight made before this browser opened the article is there; highlights arrive live as well (below).
  await watcher.locator('#text .hl').first().waitFor(WAIT);
  await watcher.locator('.stances').getByText('Reports from Kazakhstan name a smaller contingent.').waitFor(WAIT);
  assert.equal(await watcher.evaluate(() => window.notReloaded), true);
  // Adjudication is for adjudicators only: an analyst gets no verdict form.
  assert.equal(await watcher.getByRole('form', { name: 'Adjudicate' }).count(), 0);
  await shot(watcher, 'second-browser-live-tally');

  // Her stance reaches the first browser live as well: two refutations.
  await watcher.getByRole('radio', { name: 'Refutes' }).check();
  await watcher.getByLabel('Rationale').fill('The census says otherwise.');
  await watcher.getByRole('button', { name: 'Take stance' }).click();
  await page.locator('#claim-tallies [data-stance=refutes] .count').filter({ hasText: '2' }).waitFor(WAIT);
  await page.locator('.stances').getByText('bea', { exact: true }).waitFor(WAIT);
  await page.locator('#history-value').filter({ hasText: /^Now/ }).waitFor(WAIT);
  afterStances = Number(/position (\d+)/.exec(await page.locator('#history-value').textContent())[1]);
});

test('An adjudicator records a verdict; the claim turns adjudicated in the text and for the other browser', async () => {
  const form = page.getByRole('form', { name: 'Adjudicate' });
  await form.getByLabel('Verdict').selectOption({ label: 'Refutes' });
  await form.getByLabel('Rationale').fill('The census puts Russians at about a fifth.');
  await form.getByRole('button', { name: 'Record verdict' }).click();
  await page.locator('#claim-status').filter({ hasText: 'Adjudicated' }).waitFor(WAIT);
  await page.locator('#text .claim.st-adjudicated').first().waitFor(WAIT);
  await watcher.locator('#text .claim.st-adjudicated').first().waitFor(WAIT);
  await page.getByRole('form', { name: 'Reopen' }).waitFor(WAIT);
  await shot(page, 'adjudicated');
});

test('The history slider shows the article as it was before the claim, then back to now', async () => {
  const slider = page.getByLabel('History', { exact: true });
  await slider.fill(String(beforeClaim));
  await page.locator('#history-value').filter({ hasText: `As of position ${beforeClaim} of` }).waitFor(WAIT);
  assert.equal(await page.locator('#text .claim').count(), 0);
  assert.equal((await page.locator('#text .hl').allTextContents()).join('').replace(/\s+/g, ' '), HIGHLIGHTED);
  await page.locator('#claim').getByText(`This claim did not exist yet at position ${beforeClaim}.`).waitFor(WAIT);
  await shot(page, 'history-before-claim');

  // Before the verdict: two refutations, still pending (the quorum is three), in the text and in the panel.
  await slider.fill(String(afterStances));
  await page.locator('#history-value').filter({ hasText: `As of position ${afterStances} of` }).waitFor(WAIT);
  await page.locator('#text .claim.st-pending').first().waitFor(WAIT);
  assert.equal(await page.locator('#claim-status').textContent(), 'Pending');
  assert.equal(await page.locator('#claim-tallies [data-stance=refutes] .count').textContent(), '2');
  assert.equal(await page.locator('#stance-form').isVisible(), false, 'the past is read-only');
  await shot(page, 'history-before-verdict');

  // From the keyboard: Home goes to the article's import, before anything was marked in it.
  await slider.focus();
  await page.keyboard.press('Home');
  const imported = Number(await slider.getAttribute('min'));
  await page.locator('#history-value').filter({ hasText: `As of position ${imported} of` }).waitFor(WAIT);
  assert.equal(await page.locator('#text .hl').count(), 0);
  assert.equal(await page.locator('#text .claim').count(), 0);

  await page.getByRole('button', { name: 'Back to now' }).click();
  await page.locator('#history-value').filter({ hasText: /^Now/ }).waitFor(WAIT);
  await page.locator('#text .claim.st-adjudicated').first().waitFor(WAIT);
  assert.equal(await page.locator('#claim-status').textContent(), 'Adjudicated');
});

test('A claim in the text opens from the keyboard', async () => {
  await page.getByRole('button', { name: 'Close the claim' }).click();
  await page.locator('#claim').waitFor({ state: 'hidden', ...WAIT });
  const claim = page.getByRole('button', { name: /^Claim, adjudicated: Russia deployed/ });
  await claim.focus();
  await page.keyboard.press('Enter');
  await page.locator('#claim-heading').waitFor(WAIT);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'claim-heading');
});

test('Offsets sent for a selection count code points: text after emoji and astral letters is highlighted where it was selected', async () => {
  // Each of 🇰🇿, 👍🏽 and 𝔘 is 2 or 4 UTF-16 units but 1 or 2 code points: UTF-16 offsets would land elsewhere.
  const text = 'Flags 🇰🇿 and thumbs 👍🏽 came first; 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters too.\nThe census counted about 20 percent.\nThe census was old.';
  await importArticle('unicode-offsets', 'Code points 🇰🇿', text);
  await page.goto(new URL('#/a/unicode-offsets', url).href);
  await page.reload(); // the article list is read at sign-in
  await watcher.goto(new URL('#/a/unicode-offsets', url).href);
  await watcher.locator('#live.on').waitFor(WAIT);
  await watcher.evaluate(() => { window.notReloaded = true; });
  await page.locator('#article-title').filter({ hasText: 'Code points' }).waitFor(WAIT);
  await page.locator('#live.on').waitFor(WAIT);
  const passage = 'about 20 percent';
  const expected = Array.from(text.slice(0, text.indexOf(passage))).length;
  assert.notEqual(expected, text.indexOf(passage), 'the passage has astral characters before it');
  await selectWithMouse(page, passage);
  await page.getByRole('region', { name: 'Selection' }).getByText(`Characters ${expected}–${expected + passage.length} (code points)`).waitFor(WAIT);
  await page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Highlight…' }).click();
  await page.getByRole('button', { name: 'Save highlight' }).click();
  await page.locator('#text .hl').first().waitFor(WAIT);
  // The second browser, on this article since before, shows the new highlight without reload.
  await watcher.locator('#article-title').filter({ hasText: 'Code points' }).waitFor(WAIT);
  await watcher.locator('#text .hl').filter({ hasText: passage }).waitFor(WAIT);
  assert.equal(await watcher.evaluate(() => window.notReloaded), true);
  // The mark is drawn from the position the server stored, so it covers the selected words exactly.
  assert.equal((await page.locator('#text .hl').allTextContents()).join(''), passage);
  await shot(page, 'unicode-highlight');
});

test('In a narrow window the page is one column without sideways scrolling', async () => {
  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const small = await narrow.newPage();
  await signIn(small);
  await small.waitForURL(/#\/a\//, WAIT);
  await small.goto(claimUrl);
  await small.locator('#claim-status').waitFor(WAIT);
  assert.ok(await small.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling');
  await small.evaluate(() => window.scrollTo(0, 0));
  await shot(small, 'narrow-window');
  // A selection's actions stay in view at the bottom of the window.
  await selectWithMouse(small, HIGHLIGHTED);
  const highlight = small.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Highlight…' });
  await highlight.waitFor(WAIT);
  assert.ok(await highlight.evaluate(el => el.getBoundingClientRect().bottom <= window.innerHeight), 'the actions are in the window');
  await shot(small, 'narrow-window-selection');
  await narrow.close();
});

test('A wrong token is refused with a clear message and the sign-in form stays', async () => {
  const fresh = await browser.newContext({ viewport: { width: 1024, height: 700 } });
  const login = await fresh.newPage();
  await signIn(login, 'not-a-real-token');
  const error = login.getByRole('alert').filter({ hasText: 'not accepted' });
  await error.waitFor(WAIT);
  assert.match(await error.textContent(), /This token was not accepted: it is unknown, revoked or expired/);
  assert.ok(await login.getByLabel('Access token').isVisible());
  assert.equal(await login.evaluate(() => sessionStorage.getItem('annotate.token')), null);
  await shot(login, 'wrong-token');
  await fresh.close();
});
