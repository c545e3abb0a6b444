// Every RPC of the Annotate contract called from @grpc/grpc-js against the real server, with bearer tokens,
// the services and messages found by server reflection (see ../support.js for the settings). The suite
// registers its own analysts, adjudicator and auditor through the Admin service and acts as each with the
// token it issues them; every test imports its own article (ids unique to the run), so the suite can run
// again, or next to the Python suite, against the same server. The same behaviours as python/annotate_suite.py.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { grpc, setting, reflect, waitServing, healthClient, discover } = require('../support');

const { status } = grpc;
const RUN = crypto.randomBytes(4).toString('hex');
// Code points matter: the globe is one code point but two UTF-16 units (JavaScript's string length counts
// those), the letters with diacritics and the Cyrillic are one code point but two UTF-8 bytes each.
const TEXT = 'Über Kazakhstan 🌍: the census found that about 20 percent of residents are ethnic Russians. '
  + 'Officials in Astana — «официально» — said the share had fallen since 1989.\n'
  + 'A second paragraph mentions the census again without numbers.';
const CLAIM = 'about 20 percent of residents are ethnic Russians';
const EVIDENCE = 'the share had fallen since 1989';
const HIGHLIGHT = 'Officials in Astana';

// Offsets in code points, as the contract counts them.
const codePoints = (s) => [...s].length;
const offsetOf = (text, part) => codePoints(text.slice(0, text.indexOf(part)));

// The contract (protos/annotate/v1): what reflection must describe, method for method.
const CONTRACT = {
  'annotate.v1.Admin': ['CreateAnalyst', 'ListAnalysts', 'SetRoles', 'IssueToken', 'ListTokens', 'RevokeToken', 'WhoAmI', 'EraseAnalyst'],
  'annotate.v1.Annotations': ['CreateHighlight', 'ApplyTag', 'RemoveTag', 'RetractHighlight', 'ListHighlights', 'ReattachSpan'],
  'annotate.v1.Articles': ['ImportArticle', 'ListArticles', 'GetArticle', 'ReviseArticle'],
  'annotate.v1.Claims': ['OpenClaim', 'TakeStance', 'WithdrawStance', 'Adjudicate', 'ReopenClaim', 'MakeBlind', 'RevealClaim'],
  'annotate.v1.Consensus': ['GetClaimView', 'ListClaims', 'GetArticleAgreement', 'WatchArticle'],
  'annotate.v1.Discussion': ['PostReply', 'EditReply', 'RetractReply', 'ListThread'],
  'annotate.v1.Search': ['Search'],
  'annotate.v1.History': ['Subscribe', 'Replay', 'VerifyAudit'],
  'annotate.v1.Audit': ['GetChainHead', 'ExportLog', 'GetClaimTimeline'],
};

let api;
const tokens = {};
const rid = () => crypto.randomUUID();
const quote = (exact) => ({ quote: { exact } });
const idOf = (name) => (name === 'admin' ? 'admin' : `node-${RUN}-${name}`);

function call(service, method, request, who = 'admin', options) {
  return api.call(service, method, request, who ? tokens[who] : undefined, options);
}

// Asserts the unary call fails with `code`; returns the error.
async function refused(code, service, method, request, who = 'admin') {
  try {
    await call(service, method, request, who);
  } catch (err) {
    assert.equal(err.code, code, `expected ${status[code]} but got ${status[err.code]}: ${err.details}`);
    return err;
  }
  return assert.fail(`${service}/${method} succeeded but was expected to fail with ${status[code]}`);
}

// Collects a stream to its end; rejects with its error.
function drain(stream) {
  return new Promise((resolve, reject) => {
    const items = [];
    stream.on('data', (item) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

// Reads a stream message by message: next() resolves with the next one.
function reader(stream) {
  const iterator = stream[Symbol.asyncIterator]();
  return {
    async next() {
      const { value, done } = await iterator.next();
      assert.ok(!done, 'the stream ended early');
      return value;
    },
    close() {
      stream.cancel();
      iterator.return().catch(() => {}); // the cancellation is the expected end
    },
  };
}

async function freshArticle() {
  const articleId = `node-${RUN}-${crypto.randomBytes(5).toString('hex')}`;
  const imported = await call('Articles', 'ImportArticle', { request_id: rid(), article_id: articleId, title: 'Census', text: TEXT, source: 'interop' });
  return { articleId, imported };
}

const openClaim = (articleId, who = 'a1', exact = CLAIM) =>
  call('Claims', 'OpenClaim', { request_id: rid(), article_id: articleId, selector: quote(exact) }, who);
const stance = (claimId, who, value, extra = {}) =>
  call('Claims', 'TakeStance', { request_id: rid(), claim_id: claimId, stance: value, ...extra }, who);
const view = (claimId, atLeast, extra = {}) => call('Consensus', 'GetClaimView', { claim_id: claimId, min_position: atLeast, ...extra });
const tallies = (v) => Object.fromEntries(v.tallies.map((t) => [t.stance, t.count]));
const tagsOf = (x) => x.tags.map((t) => [t.tag, t.analysts]);

before(async () => {
  await waitServing();
  api = await discover();
  tokens.admin = setting('ANNOTATE_TOKEN');
  // The run's cast, registered and given tokens through the Admin service.
  for (const [name, role] of [['a1', 'ROLE_ANALYST'], ['a2', 'ROLE_ANALYST'], ['a3', 'ROLE_ANALYST'], ['judge', 'ROLE_ADJUDICATOR'], ['auditor', 'ROLE_AUDITOR']]) {
    await call('Admin', 'CreateAnalyst', { request_id: rid(), analyst_id: idOf(name), display_name: name, roles: [role] });
    tokens[name] = (await call('Admin', 'IssueToken', { request_id: rid(), analyst_id: idOf(name), label: 'interop' })).secret;
  }
});

after(() => api?.close());

describe('reflection and health', () => {
  it('reflection lists the nine services of the contract with every method, and health', async () => {
    for (const [service, methods] of Object.entries(CONTRACT)) {
      assert.ok(api.services.includes(service), `${service} is not listed`);
      assert.deepEqual(Object.keys(api.definition[service]).sort(), [...methods].sort());
    }
    assert.equal(api.methods().length, 40);
    assert.deepEqual(api.services.filter((s) => s.startsWith('annotate.')).sort(), Object.keys(CONTRACT).sort());
    assert.ok(api.services.includes('grpc.health.v1.Health'));
    assert.ok(api.services.includes('grpc.reflection.v1.ServerReflection'));
    // The streaming shapes are part of what reflection describes.
    assert.equal(api.method('History', 'Subscribe').responseStream, true);
    assert.equal(api.method('Claims', 'OpenClaim').responseStream, false);
  });

  it('reflection answers a file by name and NOT_FOUND for an unknown symbol', async () => {
    const [byName, unknown] = await reflect([{ file_by_filename: 'annotate/v1/claims.proto' }, { file_containing_symbol: 'annotate.v1.NoSuchService' }]);
    assert.ok(byName.file_descriptor_response.file_descriptor_proto.length > 0);
    assert.equal(unknown.error_response.error_code, status.NOT_FOUND);
  });

  it('health reports the server SERVING and an unknown service NOT_FOUND', async () => {
    const client = healthClient();
    try {
      const check = (service) => new Promise((resolve, reject) => {
        client.Check({ service }, { deadline: Date.now() + 10_000 }, (err, answer) => (err ? reject(err) : resolve(answer)));
      });
      assert.equal((await check('')).status, 'SERVING');
      await assert.rejects(check('no.such.Service'), (err) => err.code === status.NOT_FOUND);
      const watch = reader(client.Watch({ service: '' }, { deadline: Date.now() + 10_000 }));
      try {
        assert.equal((await watch.next()).status, 'SERVING');
      } finally {
        watch.close();
      }
    } finally {
      client.close();
    }
  });
});

describe('access', () => {
  it('WhoAmI names the admin with every role', async () => {
    const me = await call('Admin', 'WhoAmI', {});
    assert.equal(me.analyst_id, 'admin');
    assert.deepEqual([...me.roles].sort(), ['ROLE_ADJUDICATOR', 'ROLE_ADMIN', 'ROLE_ANALYST', 'ROLE_AUDITOR']);
  });

  it('a call without a token or with an unknown one is UNAUTHENTICATED', async () => {
    await refused(status.UNAUTHENTICATED, 'Articles', 'ListArticles', {}, null);
    tokens.forged = 'tok000000000000.not-a-secret';
    await refused(status.UNAUTHENTICATED, 'Admin', 'WhoAmI', {}, 'forged');
  });

  it('an analyst created with roles is listed, and SetRoles replaces the roles', async () => {
    const analystId = `node-${RUN}-${crypto.randomBytes(3).toString('hex')}`;
    const created = await call('Admin', 'CreateAnalyst', { request_id: rid(), analyst_id: analystId, display_name: 'Aigerim Ä.', roles: ['ROLE_ANALYST'] });
    assert.equal(created.analyst_id, analystId);
    assert.deepEqual(created.roles, ['ROLE_ANALYST']);
    await refused(status.ALREADY_EXISTS, 'Admin', 'CreateAnalyst', { request_id: rid(), analyst_id: analystId, display_name: 'Someone else', roles: ['ROLE_ANALYST'] });

    const { analysts } = await call('Admin', 'ListAnalysts', {});
    const ids = analysts.map((a) => a.analyst_id);
    assert.deepEqual(ids, [...ids].sort());
    assert.equal(analysts.find((a) => a.analyst_id === analystId).display_name, 'Aigerim Ä.');

    const changed = await call('Admin', 'SetRoles', { request_id: rid(), analyst_id: analystId, roles: ['ROLE_AUDITOR'] });
    assert.deepEqual(changed.roles, ['ROLE_AUDITOR']);
    tokens[analystId] = (await call('Admin', 'IssueToken', { request_id: rid(), analyst_id: analystId })).secret;
    assert.deepEqual((await call('Admin', 'WhoAmI', {}, analystId)).roles, ['ROLE_AUDITOR']);
    const { articleId } = await freshArticle();
    await refused(status.PERMISSION_DENIED, 'Annotations', 'CreateHighlight',
      { request_id: rid(), article_id: articleId, selector: quote(HIGHLIGHT) }, analystId);
  });

  it('an issued token works, is listed without its secret and stops working once revoked', async () => {
    const analystId = idOf('a1');
    const issued = await call('Admin', 'IssueToken', { request_id: rid(), analyst_id: analystId, label: 'laptop' });
    assert.ok(issued.secret.startsWith(`${issued.token.token_id}.`));
    tokens.laptop = issued.secret;
    assert.equal((await call('Admin', 'WhoAmI', {}, 'laptop')).analyst_id, analystId);

    const mine = (await call('Admin', 'ListTokens', { analyst_id: analystId })).tokens;
    assert.ok(mine.every((t) => t.analyst_id === analystId));
    const listed = mine.find((t) => t.token_id === issued.token.token_id);
    assert.deepEqual([listed.label, listed.revoked], ['laptop', false]);
    assert.ok(!JSON.stringify(listed).includes(issued.secret.split('.')[1]));

    // An analyst may revoke their own token, and it stops working at once.
    const revoked = await call('Admin', 'RevokeToken', { request_id: rid(), token_id: issued.token.token_id }, 'laptop');
    assert.ok(Number(revoked.position) > 0);
    await refused(status.UNAUTHENTICATED, 'Admin', 'WhoAmI', {}, 'laptop');
    const after = (await call('Admin', 'ListTokens', { analyst_id: analystId })).tokens.find((t) => t.token_id === issued.token.token_id);
    assert.equal(after.revoked, true);
  });

  it('an erased analyst is shown by id with no token left, and erasing again records nothing', async () => {
    const analystId = `node-${RUN}-${crypto.randomBytes(3).toString('hex')}`;
    await call('Admin', 'CreateAnalyst', { request_id: rid(), analyst_id: analystId, display_name: 'Erin Ä. Example', roles: ['ROLE_ANALYST'] });
    await call('Admin', 'IssueToken', { request_id: rid(), analyst_id: analystId, label: 'erin laptop' });
    await refused(status.INVALID_ARGUMENT, 'Admin', 'EraseAnalyst', { request_id: rid(), analyst_id: analystId, reason: '' });

    const erased = await call('Admin', 'EraseAnalyst', { request_id: rid(), analyst_id: analystId, reason: 'erasure request' });
    assert.equal(erased.erased_positions.length, 2); // the registration and the token's label
    assert.equal(erased.result.deduplicated, false);
    const listed = (await call('Admin', 'ListAnalysts', {})).analysts.find((a) => a.analyst_id === analystId);
    assert.equal(listed.display_name, analystId);
    const tokensLeft = (await call('Admin', 'ListTokens', { analyst_id: analystId })).tokens;
    assert.ok(tokensLeft.every((t) => t.revoked && t.label === ''));
    const again = await call('Admin', 'EraseAnalyst', { request_id: rid(), analyst_id: analystId, reason: 'again' });
    assert.equal(again.result.deduplicated, true);
    assert.deepEqual(again.erased_positions, erased.erased_positions);
  });
});

describe('articles', () => {
  it('an imported article is read back with its code-point length and hash, and listed in pages', async () => {
    const { articleId, imported } = await freshArticle();
    assert.ok(Number(imported.result.position) > 0);
    assert.equal(imported.result.receipt_hash.length, 64);
    assert.equal(imported.article.length, codePoints(TEXT));
    assert.notEqual(codePoints(TEXT), TEXT.length); // the globe: JavaScript's length is not the contract's
    assert.equal(imported.article.content_hash, crypto.createHash('sha256').update(TEXT, 'utf8').digest('hex'));

    const article = await call('Articles', 'GetArticle', { article_id: articleId }, 'a1');
    assert.deepEqual([article.text, article.title, article.imported_by, article.revision], [TEXT, 'Census', 'admin', 1]);

    const seen = [];
    let token = '';
    do {
      const page = await call('Articles', 'ListArticles', { page: { page_size: 2, page_token: token } }, 'a2');
      assert.ok(page.articles.length <= 2);
      assert.ok(page.articles.every((a) => a.text === ''));
      seen.push(...page.articles.map((a) => a.article_id));
      token = page.next_page_token;
    } while (token);
    assert.ok(seen.includes(articleId));
    assert.deepEqual(seen, [...seen].sort());
    assert.equal(new Set(seen).size, seen.length);
  });

  it('importing other text under an existing id makes a revision, and an unknown article is NOT_FOUND', async () => {
    const { articleId } = await freshArticle();
    const again = await call('Articles', 'ImportArticle', { request_id: rid(), article_id: articleId, title: 'Census', text: `${TEXT} (edited)` });
    assert.equal(again.article.revision, 2);
    assert.equal((await call('Articles', 'GetArticle', { article_id: articleId })).text, `${TEXT} (edited)`);
    await refused(status.NOT_FOUND, 'Articles', 'GetArticle', { article_id: `node-${RUN}-missing` });
    await refused(status.INVALID_ARGUMENT, 'Articles', 'ImportArticle', { request_id: rid(), article_id: 'Not A Slug', text: 'x' });
    await refused(status.PERMISSION_DENIED, 'Articles', 'ImportArticle', { request_id: rid(), article_id: `node-${RUN}-by-analyst`, text: 'x' }, 'a1');
  });

  it('a revision gives an article a new text as its next revision, and only an admin may revise', async () => {
    const { articleId } = await freshArticle();
    const edited = `${TEXT} (corrected)`;
    await refused(status.PERMISSION_DENIED, 'Articles', 'ReviseArticle', { request_id: rid(), article_id: articleId, text: edited, reason: 'typo' }, 'a1');
    await refused(status.INVALID_ARGUMENT, 'Articles', 'ReviseArticle', { request_id: rid(), article_id: articleId, text: ' ', reason: 'typo' });
    const revised = await call('Articles', 'ReviseArticle', { request_id: rid(), article_id: articleId, text: edited, reason: 'typo' });
    assert.equal(revised.article.revision, 2);
    const article = await call('Articles', 'GetArticle', { article_id: articleId }, 'a1');
    assert.deepEqual([article.text, article.revision, article.revision_reason], [edited, 2, 'typo']);
  });
});

describe('annotations', () => {
  it('a highlight a revision orphaned is reattached by its author only, and only once', async () => {
    const { articleId } = await freshArticle();
    const made = await call('Annotations', 'CreateHighlight', { request_id: rid(), article_id: articleId, selector: quote(HIGHLIGHT) }, 'a1');
    const edited = TEXT.replace('Officials in Astana — «официально» — said the share had fallen since 1989.\n', '');
    await call('Articles', 'ReviseArticle', { request_id: rid(), article_id: articleId, text: edited, reason: 'cut' });
    const [orphan] = (await call('Annotations', 'ListHighlights', { article_id: articleId })).highlights;
    assert.deepEqual([orphan.anchor.status, orphan.anchor.revision, orphan.anchor.orphaned_on_revision], ['ANCHOR_STATUS_ORPHANED', 1, 2]);
    const target = { highlight_id: made.highlight.highlight_id };
    const to = quote('A second paragraph');
    await refused(status.NOT_FOUND, 'Annotations', 'ReattachSpan', { request_id: rid(), target: { highlight_id: 'hmissing' }, selector: to }, 'a1');
    await refused(status.PERMISSION_DENIED, 'Annotations', 'ReattachSpan', { request_id: rid(), target, selector: to }, 'a2');
    await refused(status.INVALID_ARGUMENT, 'Annotations', 'ReattachSpan', { request_id: rid(), target, selector: quote(HIGHLIGHT) }, 'a1');
    const moved = await call('Annotations', 'ReattachSpan', { request_id: rid(), target, selector: to }, 'a1');
    assert.deepEqual([moved.anchor.status, moved.anchor.revision, moved.anchor.reattached_by], ['ANCHOR_STATUS_REATTACHED', 2, idOf('a1')]);
    assert.equal(moved.selector.position.start, offsetOf(edited, 'A second paragraph'));
    await refused(status.FAILED_PRECONDITION, 'Annotations', 'ReattachSpan', { request_id: rid(), target, selector: to }, 'a1');
  });

  it('a highlight made by quote is listed at code-point offsets with its note, tags and author', async () => {
    const { articleId } = await freshArticle();
    const made = await call('Annotations', 'CreateHighlight',
      { request_id: rid(), article_id: articleId, selector: quote(HIGHLIGHT), note: 'who said it — «кто»', tags: ['Source Needed'] }, 'a1');
    const start = offsetOf(TEXT, HIGHLIGHT);
    assert.deepEqual([made.highlight.selector.position.start, made.highlight.selector.position.end], [start, start + codePoints(HIGHLIGHT)]);
    const listed = await call('Annotations', 'ListHighlights', { article_id: articleId }, 'a2');
    assert.ok(Number(listed.as_of_position) >= Number(made.result.position));
    assert.equal(listed.highlights.length, 1);
    const [highlight] = listed.highlights;
    assert.equal(highlight.highlight_id, made.highlight.highlight_id);
    assert.deepEqual([highlight.selector.quote.exact, highlight.note, highlight.author], [HIGHLIGHT, 'who said it — «кто»', idOf('a1')]);
    assert.deepEqual(tagsOf(highlight), [['source-needed', [idOf('a1')]]]);
  });

  it('tags are normalised, counted per analyst and removed by their owner', async () => {
    const { articleId } = await freshArticle();
    const made = await call('Annotations', 'CreateHighlight', { request_id: rid(), article_id: articleId, selector: quote(HIGHLIGHT) }, 'a1');
    const target = { highlight_id: made.highlight.highlight_id };
    for (const who of ['a1', 'a2']) await call('Annotations', 'ApplyTag', { request_id: rid(), target, tag: '  Needs Context ' }, who);
    const removed = await call('Annotations', 'RemoveTag', { request_id: rid(), target, tag: 'needs-context' }, 'a1');
    assert.ok(Number(removed.position) > 0);
    const [highlight] = (await call('Annotations', 'ListHighlights', { article_id: articleId })).highlights;
    assert.deepEqual(tagsOf(highlight), [['needs-context', [idOf('a2')]]]);

    const claim = await openClaim(articleId);
    const tagged = await call('Annotations', 'ApplyTag', { request_id: rid(), target: { claim_id: claim.claim_id }, tag: 'Demographics' }, 'a3');
    assert.deepEqual(tagsOf(await view(claim.claim_id, tagged.position)), [['demographics', [idOf('a3')]]]);
  });

  it('only the author may retract a highlight, and the list as of before still shows it', async () => {
    const { articleId } = await freshArticle();
    const made = await call('Annotations', 'CreateHighlight', { request_id: rid(), article_id: articleId, selector: quote(HIGHLIGHT) }, 'a1');
    const request = { request_id: rid(), highlight_id: made.highlight.highlight_id };
    await refused(status.PERMISSION_DENIED, 'Annotations', 'RetractHighlight', request, 'a2');
    const retracted = await call('Annotations', 'RetractHighlight', request, 'a1');
    assert.ok(Number(retracted.position) > Number(made.result.position));
    assert.deepEqual((await call('Annotations', 'ListHighlights', { article_id: articleId })).highlights, []);
    const before = await call('Annotations', 'ListHighlights', { article_id: articleId, as_of: { position: made.result.position } });
    assert.deepEqual(before.highlights.map((h) => h.highlight_id), [made.highlight.highlight_id]);
  });

  it('a reversed span is INVALID_ARGUMENT and nothing is written', async () => {
    const { articleId } = await freshArticle();
    const err = await refused(status.INVALID_ARGUMENT, 'Annotations', 'CreateHighlight',
      { request_id: rid(), article_id: articleId, selector: { position: { start: 10, end: 5 } } }, 'a1');
    assert.ok(err.details);
    assert.deepEqual((await call('Annotations', 'ListHighlights', { article_id: articleId })).highlights, []);
    await refused(status.NOT_FOUND, 'Annotations', 'CreateHighlight', { request_id: rid(), article_id: `node-${RUN}-missing`, selector: quote(HIGHLIGHT) }, 'a1');
  });
});

describe('claims and consensus', () => {
  it('opening a claim over the same text again returns the existing claim', async () => {
    const { articleId } = await freshArticle();
    const first = await openClaim(articleId);
    const start = offsetOf(TEXT, CLAIM);
    assert.equal(first.existing, false);
    assert.deepEqual([first.selector.position.start, first.selector.position.end], [start, start + codePoints(CLAIM)]);
    // Almost the same range, by position this time: intersection over union >= 0.8.
    const again = await call('Claims', 'OpenClaim',
      { request_id: rid(), article_id: articleId, selector: { position: { start, end: start + codePoints(CLAIM) - 3 } } }, 'a2');
    assert.equal(again.existing, true);
    assert.equal(again.claim_id, first.claim_id);
  });

  it('three stances reach the quorum, and the view, the list and the agreement count them', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    await stance(claimId, 'a1', 'STANCE_REFUTES', { rationale: 'census 2021', evidence: [{ article_id: articleId, selector: quote(EVIDENCE) }] });
    assert.equal((await view(claimId, 0)).status, 'CLAIM_STATUS_PENDING');
    await stance(claimId, 'a2', 'STANCE_REFUTES');
    const last = await stance(claimId, 'a3', 'STANCE_SUPPORTS');

    const v = await view(claimId, last.position);
    assert.equal(v.status, 'CLAIM_STATUS_REFUTED');
    assert.deepEqual(v.tallies.map((t) => [t.stance, t.count]), [['STANCE_SUPPORTS', 1], ['STANCE_REFUTES', 2]]);
    assert.equal(v.leading_stance, 'STANCE_REFUTES');
    assert.ok(Math.abs(v.agreement - 2 / 3) < 1e-3);
    assert.equal(v.quorum, 3);
    assert.deepEqual(v.contributors, ['a1', 'a2', 'a3'].map(idOf).sort());
    assert.deepEqual(v.evidence.map((e) => [e.analyst, e.span.selector.quote.exact]), [[idOf('a1'), EVIDENCE]]);
    assert.equal(v.evidence[0].span.selector.position.start, offsetOf(TEXT, EVIDENCE));
    assert.ok(Number(v.last_position) >= Number(last.position));

    const refuted = await call('Consensus', 'ListClaims', { article_id: articleId, statuses: ['CLAIM_STATUS_REFUTED'] });
    assert.deepEqual(refuted.claims.map((c) => c.claim_id), [claimId]);
    assert.deepEqual((await call('Consensus', 'ListClaims', { article_id: articleId, statuses: ['CLAIM_STATUS_SUPPORTED'] })).claims, []);
    const agreement = await call('Consensus', 'GetArticleAgreement', { article_id: articleId });
    assert.deepEqual([agreement.units, agreement.analysts, agreement.pairable_values], [1, 3, 3]);
    assert.ok(Number(agreement.as_of_position) >= Number(last.position));
  });

  it('a withdrawn stance drops the claim below the quorum and cannot be withdrawn twice', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    for (const who of ['a1', 'a2', 'a3']) await stance(claimId, who, 'STANCE_NEEDS_CONTEXT');
    const withdrawn = await call('Claims', 'WithdrawStance', { request_id: rid(), claim_id: claimId }, 'a3');
    const v = await view(claimId, withdrawn.position);
    assert.equal(v.status, 'CLAIM_STATUS_PENDING');
    assert.deepEqual(tallies(v), { STANCE_NEEDS_CONTEXT: 2 });
    await refused(status.FAILED_PRECONDITION, 'Claims', 'WithdrawStance', { request_id: rid(), claim_id: claimId }, 'a3');
  });

  it('the same request id twice is carried out once', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    const request = { request_id: rid(), claim_id: claimId, stance: 'STANCE_UNVERIFIABLE' };
    const first = await call('Claims', 'TakeStance', request, 'a1');
    const second = await call('Claims', 'TakeStance', request, 'a1');
    assert.deepEqual([first.deduplicated, second.deduplicated], [false, true]);
    assert.deepEqual([second.position, second.receipt_hash], [first.position, first.receipt_hash]);
  });

  it('adjudication needs the current version and overrides the vote until the claim is reopened', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    let last;
    for (const who of ['a1', 'a2', 'a3']) last = await stance(claimId, who, 'STANCE_SUPPORTS');
    const v = await view(claimId, last.position);
    assert.equal(v.status, 'CLAIM_STATUS_SUPPORTED');

    const verdict = { claim_id: claimId, verdict: 'STANCE_REFUTES', rationale: 'official statistics' };
    await refused(status.PERMISSION_DENIED, 'Claims', 'Adjudicate', { request_id: rid(), expected_version: v.version, ...verdict }, 'a1');
    await refused(status.ABORTED, 'Claims', 'Adjudicate', { request_id: rid(), expected_version: String(Number(v.version) - 1), ...verdict }, 'judge');
    const adjudicated = await call('Claims', 'Adjudicate', { request_id: rid(), expected_version: v.version, ...verdict }, 'judge');
    const afterwards = await view(claimId, adjudicated.position);
    assert.equal(afterwards.status, 'CLAIM_STATUS_ADJUDICATED');
    assert.deepEqual([afterwards.adjudication.verdict, afterwards.adjudication.adjudicator], ['STANCE_REFUTES', idOf('judge')]);
    await refused(status.FAILED_PRECONDITION, 'Claims', 'TakeStance', { request_id: rid(), claim_id: claimId, stance: 'STANCE_REFUTES' }, 'a1');

    const reopened = await call('Claims', 'ReopenClaim', { request_id: rid(), claim_id: claimId, reason: 'new census' }, 'judge');
    assert.equal((await view(claimId, reopened.position)).status, 'CLAIM_STATUS_SUPPORTED');
    // The history keeps the adjudicated moment.
    assert.equal((await view(claimId, 0, { as_of: { position: adjudicated.position } })).status, 'CLAIM_STATUS_ADJUDICATED');
  });

  it('WatchArticle sends the current views, then the marker, then each change', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    const watch = reader(call('Consensus', 'WatchArticle', { article_id: articleId }, 'a2', { seconds: 60 }));
    try {
      assert.equal((await watch.next()).view.claim_id, claimId);
      assert.equal((await watch.next()).update, 'caught_up_position');
      const taken = await stance(claimId, 'a1', 'STANCE_REFUTES');
      const change = (await watch.next()).view;
      assert.equal(change.claim_id, claimId);
      assert.ok(Number(change.last_position) >= Number(taken.position));
      assert.deepEqual(change.stances.map((s) => [s.analyst, s.stance]), [[idOf('a1'), 'STANCE_REFUTES']]);
    } finally {
      watch.close();
    }
  });
});

describe('history', () => {
  it('Subscribe streams the article\'s events, then the marker, then live ones', async () => {
    const { articleId, imported } = await freshArticle();
    const opened = await openClaim(articleId);
    const subscription = reader(call('History', 'Subscribe', { after_position: 0, filter: { article_id: articleId } }, 'a3', { seconds: 60 }));
    try {
      const caughtUp = [];
      for (;;) {
        const item = await subscription.next();
        if (item.item === 'caught_up_position') {
          assert.ok(Number(item.caught_up_position) >= Number(opened.result.position));
          break;
        }
        caughtUp.push(item.event);
      }
      assert.deepEqual(caughtUp.map((e) => e.position), [imported.result.position, opened.result.position]);
      assert.deepEqual(caughtUp.map((e) => e.type), ['article-imported.v1', 'claim-opened.v1']);
      assert.deepEqual(caughtUp.map((e) => e.actor), ['admin', idOf('a1')]);
      const taken = await stance(opened.claim_id, 'a2', 'STANCE_SUPPORTS');
      const live = (await subscription.next()).event;
      assert.deepEqual([live.position, live.type, live.actor, live.claim_id], [taken.position, 'stance-taken.v1', idOf('a2'), opened.claim_id]);
      assert.equal(live.hash, taken.receipt_hash);
    } finally {
      subscription.close();
    }
  });

  it('Replay returns a claim\'s events in a range and is refused to analysts', async () => {
    const { articleId } = await freshArticle();
    const opened = await openClaim(articleId);
    const taken = await stance(opened.claim_id, 'a1', 'STANCE_REFUTES');
    const requestId = rid();
    const withdrawn = await call('Claims', 'WithdrawStance', { request_id: requestId, claim_id: opened.claim_id }, 'a1');
    const events = await drain(call('History', 'Replay',
      { from_position: opened.result.position, to_position: withdrawn.position, filter: { claim_id: opened.claim_id } }, 'auditor'));
    assert.deepEqual(events.map((e) => e.position), [opened.result.position, taken.position, withdrawn.position]);
    assert.deepEqual(events.map((e) => e.type), ['claim-opened.v1', 'stance-taken.v1', 'stance-withdrawn.v1']);
    assert.equal(events.at(-1).request_id, requestId);
    assert.ok(events[0].data_json.includes(opened.claim_id));
    await assert.rejects(drain(call('History', 'Replay', { from_position: 1 }, 'a1')), (err) => err.code === status.PERMISSION_DENIED);
  });

  it('VerifyAudit walks the chain and checks receipts, naming one that does not hold', async () => {
    const { imported } = await freshArticle();
    const receipt = { position: imported.result.position, hash: imported.result.receipt_hash };
    const forged = { position: imported.result.position, hash: '0'.repeat(64) };
    const items = await drain(call('History', 'VerifyAudit', { receipts: [receipt, forged] }, 'auditor', { seconds: 120 }));
    const { result } = items.at(-1);
    assert.ok(items.slice(0, -1).every((i) => i.item === 'progress'));
    assert.ok(Number(result.events_checked) >= Number(imported.result.position));
    assert.equal(result.first_broken, null);
    assert.deepEqual(result.receipts.map((r) => r.holds), [true, false]);
    assert.ok(result.receipts[1].reason);
    assert.equal(result.ok, false); // a receipt that does not hold fails the audit

    const intact = (await drain(call('History', 'VerifyAudit', { receipts: [receipt] }, 'auditor', { seconds: 120 }))).at(-1).result;
    assert.equal(intact.ok, true);
    assert.equal(intact.head_hash.length, 64);
  });

  it('the head, the exported log and a claim timeline agree with the history', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    await stance(claimId, 'a1', 'STANCE_REFUTES');
    await stance(claimId, 'a2', 'STANCE_REFUTES');
    const last = await stance(claimId, 'a3', 'STANCE_SUPPORTS');

    const head = await call('Audit', 'GetChainHead', {}, 'a1');
    assert.ok(Number(head.position) >= Number(last.position));
    assert.ok(head.text.startsWith(`annotate-head ${head.position} ${head.link} `));

    const exported = await drain(call('Audit', 'ExportLog', { to_position: head.position }, 'auditor', { seconds: 120 }));
    assert.deepEqual([Number(exported.at(-1).position), exported.at(-1).link], [Number(head.position), head.link]);
    assert.equal(exported.find((e) => Number(e.position) === Number(last.position)).link, last.receipt_hash);
    const sha256 = (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');
    // An event erased since (Admin.EraseAnalyst) hashes to the digest its erasure recorded, not the linked one.
    const erased = new Map(exported.filter((e) => e.type === 'analyst-erased.v1')
      .flatMap((e) => JSON.parse(e.data_json).erased.map((x) => [String(x.position), x.dataDigest])));
    for (const e of exported) {
      if (!e.data_withheld) assert.equal(sha256(e.data_json), erased.get(String(e.position)) ?? e.data_digest, `data of ${e.position}`);
      assert.equal(sha256(e.metadata_json), e.metadata_digest, `metadata of ${e.position}`);
    }
    await assert.rejects(drain(call('Audit', 'ExportLog', {}, 'a1')), (err) => err.code === status.PERMISSION_DENIED);

    const timeline = await call('Audit', 'GetClaimTimeline', { claim_id: claimId }, 'a1');
    const statuses = timeline.entries.filter((e) => e.changed.includes('status')).map((e) => e.after.status);
    assert.deepEqual(statuses, ['CLAIM_STATUS_PENDING', 'CLAIM_STATUS_REFUTED']);
    assert.equal(Number(timeline.entries.at(-1).position), Number(last.position));
    assert.equal(timeline.entries.at(-1).analyst, idOf('a3'));
    assert.equal(timeline.why.stances.length, 2);
  });
});

describe('Discussion, blind stances and search', () => {
  it('a thread is posted, answered, edited, retracted and listed; blind hides, reveal shows, search finds', async () => {
    const { articleId } = await freshArticle();
    const claimId = (await openClaim(articleId)).claim_id;
    const question = (await call('Discussion', 'PostReply', { request_id: rid(), target: { claim_id: claimId }, body: 'Which census?' }, 'a1')).reply;
    const answer = (await call('Discussion', 'PostReply',
      { request_id: rid(), target: { claim_id: claimId }, parent_id: question.reply_id, body: 'The 2021 one.' }, 'a2')).reply;
    await call('Discussion', 'EditReply', { request_id: rid(), reply_id: answer.reply_id, body: 'The 2009 one.' }, 'a2');
    await call('Discussion', 'RetractReply', { request_id: rid(), reply_id: question.reply_id }, 'a1');
    const thread = (await call('Discussion', 'ListThread', { target: { claim_id: claimId } }, 'a3')).replies;
    assert.deepEqual(thread.map((r) => [r.reply_id, r.retracted, r.body]), [[question.reply_id, true, ''], [answer.reply_id, false, 'The 2009 one.']]);

    await call('Claims', 'MakeBlind', { request_id: rid(), claim_id: claimId }, 'judge');
    const word = `census${rid().replaceAll('-', '').slice(0, 10)}`;
    await stance(claimId, 'a1', 'STANCE_REFUTES', { rationale: `the ${word} disagrees` });
    const hidden = await call('Consensus', 'GetClaimView', { claim_id: claimId }, 'a3');
    assert.equal(hidden.hidden, true);
    assert.deepEqual(hidden.stances, []);
    assert.deepEqual((await call('Search', 'Search', { query: word }, 'a3')).hits, []);
    await call('Claims', 'RevealClaim', { request_id: rid(), claim_id: claimId }, 'judge');
    assert.equal((await call('Consensus', 'GetClaimView', { claim_id: claimId }, 'a3')).hidden, false);
    assert.deepEqual((await call('Search', 'Search', { query: word }, 'a3')).hits.map((h) => [h.kind, h.claim_id]),
      [['SEARCH_HIT_KIND_RATIONALE', claimId]]);
  });
});

describe('coverage', () => {
  it('every method of the contract was called', () => {
    assert.deepEqual(api.methods().filter((m) => !api.called.has(m)).sort(), []);
  });
});
