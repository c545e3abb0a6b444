// The browser reader in a real headless Chromium against the real Annotate server: the steps of an analyst's
// session, one test each, in order (each builds on the one before), with a screenshot after each step. Two
// browser contexts are two people: the admin (analyst and adjudicator) and Bea, an analyst only.
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

const BLINDED = 'at least twelve police officers';
const A_REASON = 'Twelve is the interior ministry’s own count.';
test('A blind claim shows another analyst that it is blind, with none of the others’ stances, tallies or status, until she records her own', async () => {
  // Both browsers on the article; the second one was there before the claim was opened.
  await page.goto(new URL(`#/a/${ARTICLE}`, url).href);
  await watcher.goto(new URL(`#/a/${ARTICLE}`, url).href);
  for (const p of [page, watcher]) {
    await p.locator('#article-title').filter({ hasText: 'Russia’s Involvement' }).waitFor(WAIT);
    await p.locator('#live.on').waitFor(WAIT);
  }
  await watcher.evaluate(() => { window.notReloaded = true; });

  // The adjudicator opens a claim, makes it blind from the panel and takes a stance; he still sees everything.
  await selectWithMouse(page, BLINDED);
  await page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Open claim…' }).click();
  await page.getByRole('button', { name: 'Open claim', exact: true }).click();
  await page.locator('#claim').getByText(BLINDED).first().waitFor(WAIT);
  await page.getByRole('button', { name: 'Make blind' }).click();
  await page.locator('#claim-blind-badge').waitFor(WAIT);
  assert.equal(await page.locator('#claim-status').textContent(), 'Pending');
  await page.getByRole('radio', { name: 'Supports' }).check();
  await page.getByLabel('Rationale').first().fill(A_REASON);
  await page.getByRole('button', { name: 'Take stance' }).click();
  await page.locator('#claim-tallies [data-stance=supports] .count').filter({ hasText: '1' }).waitFor(WAIT);
  await page.locator('.stances').getByText(A_REASON).waitFor(WAIT);
  await page.getByRole('button', { name: 'Reveal to everyone' }).waitFor(WAIT);
  await shot(page, 'blind-claim-adjudicator');

  // The analyst sees the new claim appear in the text as blind, and opens it.
  const blindInText = watcher.locator('#text .claim.st-blind');
  await blindInText.first().waitFor(WAIT);
  assert.equal((await blindInText.allTextContents()).join('').replace(/\s+/g, ' '), BLINDED);
  assert.match(await blindInText.first().getAttribute('aria-label'), /^Claim, blind: /);
  await blindInText.first().click();
  const panel = watcher.locator('#claim');
  await watcher.locator('#claim-blind').waitFor(WAIT);
  assert.equal(await watcher.locator('#claim-status').textContent(), 'Blind');
  assert.match(await watcher.locator('#claim-blind').textContent(), /stay hidden from you until you record a stance of your own\. Taking your stance below shows you theirs\./);
  assert.equal(await watcher.locator('#claim-agreement').textContent(), 'hidden until your stance');
  assert.ok(await watcher.locator('#stance-blind').isVisible(), 'the stance form says the stance reveals the others’');
  assert.equal(await watcher.locator('#claim-tallies').count(), 0, 'no tallies');
  assert.equal(await watcher.locator('.stances li').count(), 0, 'no stances');
  const shown = await panel.textContent();
  for (const leak of [A_REASON, 'No stances yet', 'no stances yet', 'Unknown', 'Pending', 'Supports 1']) assert.ok(!shown.includes(leak), `the panel does not show "${leak}"`);
  assert.equal(await watcher.getByRole('button', { name: /Make blind|Reveal to everyone/ }).count(), 0, 'an analyst cannot change blindness');
  await shot(watcher, 'blind-claim-hidden');

  // Her stance shows her the others': the tallies, his stance and rationale, the status.
  await watcher.getByRole('radio', { name: 'Refutes' }).check();
  await watcher.getByLabel('Rationale').fill('The ministry revised it to nine.');
  await watcher.getByRole('button', { name: 'Take stance' }).click();
  await watcher.locator('#claim-tallies [data-stance=supports] .count').filter({ hasText: '1' }).waitFor(WAIT);
  assert.equal(await watcher.locator('#claim-tallies [data-stance=refutes] .count').textContent(), '1');
  await watcher.locator('.stances').getByText(A_REASON).waitFor(WAIT);
  assert.equal(await watcher.locator('#claim-status').textContent(), 'Pending');
  assert.match(await watcher.locator('#claim-blind').textContent(), /you see the others’ stances because you recorded yours/);
  await watcher.locator('#text .claim.st-pending').filter({ hasText: 'twelve' }).first().waitFor(WAIT);
  assert.equal(await watcher.evaluate(() => window.notReloaded), true);
  await shot(watcher, 'blind-claim-after-own-stance');

  // Revealed by the adjudicator: no longer blind, for her too, live.
  await page.getByRole('button', { name: 'Reveal to everyone' }).click();
  await page.locator('#claim-blind-badge').waitFor({ state: 'detached', ...WAIT });
  await page.getByRole('button', { name: 'Make blind' }).waitFor(WAIT);
  await watcher.locator('#claim-blind').waitFor({ state: 'detached', ...WAIT });
  assert.equal(await watcher.evaluate(() => window.notReloaded), true);
});

const ASKED = 'Which census does the verdict rely on?';
const ASKED_AGAIN = 'Which census does the verdict rely on: 2009 or 2021?';
const ANSWERED = 'The 2021 census, table 4.';
/** The reply items of the open claim's thread, as [text, depth] (retracted ones as "(retracted)"). */
const threadOf = p => p.locator('#claim .discussion').evaluate(root => [...root.querySelectorAll('li.reply')].map(li => {
  let depth = 0;
  for (let e = li.parentElement; e !== root; e = e.parentElement) if (e.matches('li.reply')) depth++;
  const body = li.querySelector(':scope > .reply-card .reply-body');
  return [body ? body.textContent : '(retracted)', depth];
}));

test('A reply posted in one browser appears in the other without reload, and an answer to it is nested under it', async () => {
  await page.goto(claimUrl);
  await watcher.goto(claimUrl);
  for (const p of [page, watcher]) {
    // This claim's panel (not the one open before), its thread read.
    await p.locator('#claim .quote').filter({ hasText: 'Russia deployed 3,000 paratroopers' }).waitFor(WAIT);
    await p.locator('#claim .discussion').getByText('No replies yet.').waitFor(WAIT);
    await p.locator('#live.on').waitFor(WAIT);
    await p.evaluate(() => { window.notReloaded = true; });
  }
  // From the keyboard: type into the labelled field, Tab to its button, Enter.
  await watcher.getByLabel('Your reply', { exact: true }).focus();
  await watcher.keyboard.type(ASKED);
  await watcher.keyboard.press('Tab');
  assert.equal(await watcher.evaluate(() => document.activeElement.textContent), 'Post reply');
  await watcher.keyboard.press('Enter');
  await watcher.locator('#claim .reply-body').filter({ hasText: ASKED }).waitFor(WAIT);
  // The field is emptied once the server answered (the stream may show the reply a moment before).
  await watcher.waitForFunction(() => document.querySelector('#claim .compose textarea')?.value === '', null, WAIT);

  await page.locator('#claim .reply-body').filter({ hasText: ASKED }).waitFor(WAIT);
  await page.locator('#claim .discussion h3').filter({ hasText: 'Discussion (1)' }).waitFor(WAIT);
  // Screen readers hear of it too (a polite live region of the thread).
  assert.equal(await page.locator('#claim .discussion [aria-live=polite]').textContent(), `bea replied: ${ASKED}`);
  // Only the author may edit or retract: the adjudicator gets Answer on her reply, nothing more.
  assert.equal(await page.getByRole('button', { name: 'Edit your reply' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Retract your reply' }).count(), 0);
  await page.getByRole('button', { name: 'Answer bea' }).click();
  const answer = page.getByLabel('Your answer to bea');
  assert.equal(await answer.evaluate(el => el === document.activeElement), true, 'the answer field has the focus');
  await answer.fill(ANSWERED);
  await page.getByRole('button', { name: 'Post answer' }).click();
  await page.locator('#claim .reply-body').filter({ hasText: ANSWERED }).waitFor(WAIT);
  // The focus goes back to the Answer button the form came from.
  await page.waitForFunction(() => document.activeElement?.dataset.action === 'answer', null, WAIT);

  await watcher.locator('#claim .reply-body').filter({ hasText: ANSWERED }).waitFor(WAIT);
  assert.deepEqual(await threadOf(watcher), [[ASKED, 0], [ANSWERED, 1]]);
  assert.deepEqual(await threadOf(page), [[ASKED, 0], [ANSWERED, 1]]);
  for (const p of [page, watcher]) assert.equal(await p.evaluate(() => window.notReloaded), true);
  await watcher.locator('#claim .discussion').scrollIntoViewIfNeeded();
  await shot(watcher, 'reply-and-answer-live');
});

test('Editing one’s reply shows the new text in both browsers with the earlier text under it; retracting removes its text and keeps the answer', async () => {
  await watcher.getByRole('button', { name: 'Edit your reply' }).click();
  const edited = watcher.getByLabel('Your reply, edited');
  assert.equal(await edited.inputValue(), ASKED);
  await edited.fill(ASKED_AGAIN);
  await watcher.getByRole('button', { name: 'Save edit' }).click();
  await watcher.locator('#claim .reply-body').filter({ hasText: ASKED_AGAIN }).waitFor(WAIT);
  await watcher.waitForFunction(() => document.activeElement?.dataset.action === 'edit', null, WAIT);

  await page.locator('#claim .reply-body').filter({ hasText: ASKED_AGAIN }).waitFor(WAIT);
  const reply = page.locator('#claim li.reply').first();
  await reply.locator('.flag').filter({ hasText: /^edited / }).waitFor(WAIT);
  await reply.getByText('Earlier versions (1)').click();
  await reply.locator('.earlier li').filter({ hasText: ASKED }).waitFor(WAIT);
  assert.deepEqual(await threadOf(page), [[ASKED_AGAIN, 0], [ANSWERED, 1]]);
  await reply.scrollIntoViewIfNeeded();
  await shot(page, 'reply-edited-with-history');

  await watcher.getByRole('button', { name: 'Retract your reply' }).click();
  await watcher.getByRole('form', { name: 'Retract your reply' }).getByText('Retract this reply?').waitFor(WAIT);
  await watcher.getByRole('button', { name: 'Retract reply' }).click();
  for (const p of [watcher, page]) {
    await p.locator('#claim .reply-retracted').waitFor(WAIT);
    assert.deepEqual(await threadOf(p), [['(retracted)', 0], [ANSWERED, 1]]);
    const text = await p.locator('#claim .discussion').textContent();
    assert.ok(!text.includes('Which census'), 'neither the text nor its earlier versions are shown');
    assert.equal(await p.evaluate(() => window.notReloaded), true);
  }
  assert.equal(await watcher.getByRole('button', { name: 'Edit your reply' }).count(), 0, 'a retracted reply cannot be edited');
  await watcher.locator('#claim .discussion').scrollIntoViewIfNeeded();
  await shot(watcher, 'reply-retracted');
});

test('A highlight opens from the text with its note and its own thread, which takes replies live', async () => {
  await page.getByRole('button', { name: 'Close the claim' }).click();
  await watcher.getByRole('button', { name: 'Close the claim' }).click();
  // With the mouse in one browser, from the keyboard in the other.
  await page.locator('#text .hl').filter({ hasText: 'Kremlin-linked' }).first().click();
  await page.locator('#highlight-note').filter({ hasText: 'Who funds the council?' }).waitFor(WAIT);
  assert.match(page.url(), /#\/a\/russia-involvement-kazakhstan-crisis\/h\//);
  const stop = watcher.getByRole('button', { name: /^Highlight by admin: Who funds the council\?/ });
  await stop.focus();
  await watcher.keyboard.press('Enter');
  await watcher.locator('#highlight-note').waitFor(WAIT);
  assert.equal(await watcher.evaluate(() => document.activeElement?.id), 'highlight-heading');
  await watcher.locator('#highlight .discussion').getByText('No replies yet.').waitFor(WAIT);

  await page.locator('#highlight').getByLabel('Your reply', { exact: true }).fill('The council is funded by the state.');
  await page.locator('#highlight').getByRole('button', { name: 'Post reply' }).click();
  await watcher.locator('#highlight .reply-body').filter({ hasText: 'The council is funded by the state.' }).waitFor(WAIT);
  assert.equal(await watcher.evaluate(() => window.notReloaded), true);
  await shot(watcher, 'highlight-thread-live');
});

test('An adjudicator makes an article blind: a claim opened on it afterwards is blind for the other analyst', async () => {
  const article = new URL('#/a/unicode-offsets', url).href;
  await page.goto(article);
  await watcher.goto(article);
  for (const p of [page, watcher]) {
    await p.locator('#article-title').filter({ hasText: 'Code points' }).waitFor(WAIT);
    await p.locator('#live.on').waitFor(WAIT);
  }
  assert.equal(await watcher.getByRole('button', { name: 'Make new claims blind' }).count(), 0, 'not for analysts');
  await page.getByRole('button', { name: 'Make new claims blind' }).click();
  await page.getByRole('status').filter({ hasText: 'New claims on this article start blind.' }).waitFor(WAIT);
  await selectWithMouse(page, 'The census was old');
  await page.getByRole('region', { name: 'Selection' }).getByRole('button', { name: 'Open claim…' }).click();
  await page.getByRole('button', { name: 'Open claim', exact: true }).click();
  await page.locator('#claim-blind-badge').waitFor(WAIT);
  await page.getByRole('button', { name: 'Reveal to everyone' }).waitFor(WAIT);
  await watcher.locator('#text .claim.st-blind').filter({ hasText: 'census was old' }).waitFor(WAIT);
  await watcher.locator('#text .claim.st-blind').first().click();
  assert.equal(await watcher.locator('#claim-status').textContent(), 'Blind');
  await shot(watcher, 'blind-article-new-claim');
});

/**
 * Elements of the page whose own text is below 4.5:1 against the background it is drawn on (WCAG 2 AA, normal
 * text), from the computed colours: the text colour and every background behind it, blended by their alpha.
 * `extra` adds elements for a moment, to check styles not on screen now: "class names", placed in the side panel,
 * or "class names@selector", placed in the element the selector finds.
 */
function lowContrast(p, extra = []) {
  return p.evaluate(extra => {
    const rgba = c => { const m = /rgba?\(([^)]+)\)/.exec(c); if (!m) return null; const v = m[1].split(/[\s,/]+/).filter(Boolean).map(Number); return [v[0], v[1], v[2], v[3] ?? 1]; };
    const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
    const luminance = c => { const f = v => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4); return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
    const behind = el => {
      const layers = [];
      for (let e = el; e; e = e.parentElement) {
        const style = getComputedStyle(e);
        // A plain gradient (the highlights' ground) counts by its first colour.
        const c = rgba(style.backgroundColor)?.[3] ? rgba(style.backgroundColor) : style.backgroundImage.includes('gradient') ? rgba(style.backgroundImage) : null;
        if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
      }
      return layers.reverse().reduce((bg, layer) => over(layer, bg), [255, 255, 255, 1]);
    };
    const added = extra.map(what => {
      const [cls, parent = '#panel'] = what.split('@');
      const el = document.createElement('span');
      el.className = cls;
      el.textContent = 'Sample';
      document.querySelector(parent).append(el);
      return el;
    });
    const low = [];
    for (const el of document.querySelectorAll('body *')) {
      if (!el.checkVisibility() || el.matches(':disabled')) continue;
      if (![...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.data.trim())) continue;
      const bg = behind(el);
      const fg = over(rgba(getComputedStyle(el).color), bg);
      const [a, b] = [luminance(fg), luminance(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      if (ratio < 4.5) low.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')} "${el.textContent.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
    }
    for (const el of added) el.remove();
    return low;
  }, extra);
}

test('Text colours of the status labels, badges and body meet WCAG AA contrast (4.5:1) against their backgrounds', async () => {
  // Every status badge, the live marks and the toasts are made for a moment besides what is on screen.
  const badges = ['pending', 'supported', 'refuted', 'needs-context', 'unverifiable', 'contested', 'adjudicated', 'blind'].map(s => `badge st-${s}`);
  const extra = [...badges, 'live on', 'live off', 'toast', 'toast ok', 'error', 'meta', 'hint', 'flag', 'past-note'];
  // The check finds a low contrast where there is one: grey small print (#57606a) on the dark page header (#24292f), 2.29:1.
  assert.deepEqual(await lowContrast(page, ['meta@header.top']), ['span.meta "Sample": 2.29']);
  assert.deepEqual(await lowContrast(page, extra), []);
  assert.deepEqual(await lowContrast(watcher, extra), []);
  await page.goto(claimUrl);
  await page.locator('#claim .reply-retracted').waitFor(WAIT);
  assert.deepEqual(await lowContrast(page), []);
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
  // The claim's discussion, answers indented, fits the width too.
  await small.locator('#claim .reply-retracted').scrollIntoViewIfNeeded();
  await small.locator('#claim .reply-body').filter({ hasText: ANSWERED }).waitFor(WAIT);
  assert.ok(await small.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal scrolling by the thread');
  assert.ok(await small.locator('#claim li.reply li.reply').evaluate(el => el.getBoundingClientRect().right <= window.innerWidth), 'the answer is in the window');
  await shot(small, 'narrow-window-discussion');
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
