// The discussion of a claim or a highlight (Discussion service): the thread as a tree of replies, a form to post,
// and on each reply the actions the contract allows: answer it (any analyst), edit or retract it (its author only).
// Edits keep the earlier texts, shown under the reply; a retracted reply stays in the tree without its text.
// Changes arrive through apply() from the article's WatchArticle stream; the DOM is updated per reply, so a form
// being filled in (they live beside the reply, not in it) and the keyboard focus survive other people's changes.
import { type Api, requestId } from './api';
import { field, h, put, say, when } from './dom';
import { type Reply, type ReplyTarget } from '../gen/annotate/v1/discussion';

export interface ThreadContext {
  api: Api;
  /** The signed-in analyst's id: their own replies get Edit and Retract. */
  me: string;
  /** Whether the caller's roles allow posting (ANALYST or ADJUDICATOR). */
  canPost: boolean;
  fail(e: unknown): void;
}

/** The contract's limit for a reply's text. */
const MAX_BODY = 4000;

let threads = 0;

export class Thread {
  readonly element: HTMLElement;
  private readonly replies = new Map<string, Reply>();
  private loaded = false;
  private readonly list: HTMLOListElement;
  private readonly heading: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly compose: HTMLFormElement | null;
  /** Tells assistive technology about others' changes to the thread (the page's status line is for one's own). */
  private readonly news: HTMLElement;
  private readonly ids = ++threads;

  constructor(private readonly ctx: ThreadContext, readonly target: ReplyTarget) {
    this.heading = h('h3', { id: `discussion-${this.ids}` }, 'Discussion');
    this.empty = h('p', { class: 'meta' }, 'Loading the discussion…');
    this.list = h('ol', { class: 'thread', 'aria-labelledby': this.heading.id });
    this.compose = ctx.canPost ? this.composeForm() : null;
    this.news = h('p', { class: 'visually-hidden', 'aria-live': 'polite' });
    this.element = h('section', { class: 'discussion', 'aria-labelledby': this.heading.id },
      this.heading, this.empty, this.list, this.news,
      h('p', { class: 'note read-only-note' }, 'The discussion is shown as it stands now; go back to now to take part.'),
      this.compose);
  }

  /** The thread a target names, as a key comparable with another target's. */
  static keyOf(target: ReplyTarget | undefined): string {
    const t = target?.target;
    return t?.oneofKind === 'claimId' ? `claim:${t.claimId}` : t?.oneofKind === 'highlightId' ? `highlight:${t.highlightId}` : '';
  }

  get key(): string { return Thread.keyOf(this.target); }

  /** Reads the thread (ListThread) and merges it with what the stream brought meanwhile; again after a reconnection. */
  async load(): Promise<void> {
    try {
      const answer = await this.ctx.api.discussion.listThread({ target: this.target }).response;
      // Read again (after the stream reconnected): reply by reply, so open forms stay.
      if (this.loaded) { for (const reply of answer.replies) this.apply(reply); return; }
      for (const reply of answer.replies) this.merge(reply);
      this.loaded = true;
      this.renderAll();
    } catch (e) {
      this.empty.textContent = 'The discussion could not be read.';
      this.ctx.fail(e);
    }
  }

  /** A reply as it stands after a change (from WatchArticle or a command's answer); other threads' replies are ignored. */
  apply(reply: Reply) {
    if (Thread.keyOf(reply.target) !== this.key) return;
    const held = this.replies.get(reply.replyId);
    if (!this.merge(reply) || !this.loaded) return;
    if (reply.author !== this.ctx.me && held?.lastPosition !== reply.lastPosition) {
      this.news.textContent = !held ? `${reply.author} replied: ${reply.body}`
        : reply.retracted ? `${reply.author} retracted a reply.` : `${reply.author} edited a reply: ${reply.body}`;
    }
    this.upsert(reply);
    this.renderCount();
  }

  /** In the history view the thread is read-only (it has no past states of its own). */
  set readOnly(value: boolean) { this.element.classList.toggle('read-only', value); }

  /** Keeps the newest state of each reply; false when `reply` is older than the one held. */
  private merge(reply: Reply): boolean {
    const held = this.replies.get(reply.replyId);
    if (held && held.lastPosition > reply.lastPosition) return false;
    this.replies.set(reply.replyId, reply);
    return true;
  }

  private renderAll() {
    this.list.replaceChildren();
    // In the order posted, so a parent is always placed before its answers.
    for (const reply of [...this.replies.values()].sort((a, b) => a.position - b.position)) this.upsert(reply);
    this.renderCount();
  }

  private renderCount() {
    const n = this.replies.size;
    this.heading.textContent = n ? `Discussion (${n})` : 'Discussion';
    this.empty.textContent = n ? '' : 'No replies yet.';
    this.empty.hidden = n > 0;
  }

  private itemOf(replyId: string): HTMLLIElement | null {
    return this.list.querySelector<HTMLLIElement>(`li[data-reply="${CSS.escape(replyId)}"]`);
  }

  private upsert(reply: Reply) {
    const item = this.itemOf(reply.replyId);
    if (item) {
      const card = item.querySelector(':scope > .reply-card')!;
      // The focus stays on the same action of the same reply when the reply is redrawn.
      const focused = card.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.action : undefined;
      const fresh = this.card(reply);
      card.replaceWith(fresh);
      if (focused) (fresh.querySelector<HTMLElement>(`[data-action="${focused}"]`) ?? item).focus();
      // A retracted reply or one no longer the caller's to edit closes its edit and retract forms.
      const slot = item.querySelector<HTMLElement>(':scope > .reply-slot')!;
      if (reply.retracted && slot.dataset.mode && slot.dataset.mode !== 'answer') {
        slot.replaceChildren();
        delete slot.dataset.mode;
      }
      return;
    }
    const parent = reply.parentId ? this.itemOf(reply.parentId)?.querySelector<HTMLOListElement>(':scope > ol.thread') : null;
    (parent ?? this.list).append(h('li', { class: 'reply', 'data-reply': reply.replyId, tabindex: '-1' },
      this.card(reply),
      h('div', { class: 'reply-slot' }),
      h('ol', { class: 'thread' })));
  }

  /** What a reply shows: author and times, text (or that it was retracted), earlier texts, and its actions. */
  private card(reply: Reply): HTMLElement {
    const mine = reply.author === this.ctx.me;
    const edited = reply.earlier.length > 0 && !reply.retracted;
    const actions = h('div', { class: 'actions reply-actions' });
    if (this.ctx.canPost) {
      actions.append(h('button', { type: 'button', class: 'quiet', 'data-action': 'answer', 'aria-label': `Answer ${reply.author}`, onclick: () => this.answerForm(reply) }, 'Answer'));
      if (mine && !reply.retracted) {
        actions.append(
          h('button', { type: 'button', class: 'quiet', 'data-action': 'edit', 'aria-label': 'Edit your reply', onclick: () => this.editForm(reply) }, 'Edit'),
          h('button', { type: 'button', class: 'quiet', 'data-action': 'retract', 'aria-label': 'Retract your reply', onclick: () => this.retractForm(reply) }, 'Retract'));
      }
    }
    return h('div', { class: 'reply-card' },
      h('p', { class: 'reply-head' }, h('strong', {}, reply.author),
        h('span', { class: 'meta' }, ` · ${when(reply.postedAt)}`),
        reply.retracted ? h('span', { class: 'flag' }, 'retracted') : null,
        edited ? h('span', { class: 'flag' }, `edited ${when(reply.changedAt)}`) : null),
      reply.retracted
        ? h('p', { class: 'reply-retracted' }, 'Retracted by its author; its text is no longer shown.')
        : h('p', { class: 'reply-body' }, reply.body),
      edited ? h('details', { class: 'earlier' },
        h('summary', {}, `Earlier versions (${reply.earlier.length})`),
        h('ol', {}, ...reply.earlier.map(r => h('li', {}, h('span', { class: 'meta' }, `${when(r.writtenAt)}: `), r.body)))) : null,
      actions.childElementCount ? actions : null);
  }

  private slotOf(reply: Reply): HTMLElement {
    return this.itemOf(reply.replyId)!.querySelector<HTMLElement>(':scope > .reply-slot')!;
  }

  /** Closes a reply's form and gives the focus back to the action that opened it. */
  private closeSlot(reply: Reply, action: string) {
    const slot = this.slotOf(reply);
    slot.replaceChildren();
    delete slot.dataset.mode;
    // A retracted reply has no Retract any more: the focus goes to the reply itself.
    const item = this.itemOf(reply.replyId);
    (item?.querySelector<HTMLElement>(`:scope > .reply-card [data-action="${action}"]`) ?? item)?.focus();
  }

  /** A form in a reply's slot: Escape or Cancel closes it; submit runs `send` and closes it when that succeeds. */
  private slotForm(reply: Reply, mode: string, label: string, parts: HTMLElement[], submit: string, send: (button: HTMLButtonElement) => Promise<boolean>) {
    const slot = this.slotOf(reply);
    const button = h('button', { type: 'submit', class: mode === 'retract' ? 'danger' : 'primary' }, submit);
    const form = h('form', { class: 'stack reply-form', 'aria-label': label },
      ...parts,
      h('div', { class: 'actions' }, button,
        h('button', { type: 'button', onclick: () => this.closeSlot(reply, mode) }, mode === 'retract' ? 'Keep it' : 'Cancel')));
    form.addEventListener('keydown', e => { if (e.key === 'Escape') { e.preventDefault(); this.closeSlot(reply, mode); } });
    form.addEventListener('submit', async e => {
      e.preventDefault();
      button.disabled = true;
      try {
        if (await send(button)) this.closeSlot(reply, mode);
      } catch (err) { this.ctx.fail(err); } finally { button.disabled = false; }
    });
    slot.dataset.mode = mode;
    put(slot, form);
    (form.querySelector<HTMLElement>('textarea') ?? button).focus();
  }

  private answerForm(parent: Reply) {
    const text = h('textarea', { rows: '3', maxlength: String(MAX_BODY), required: true });
    this.slotForm(parent, 'answer', `Answer to ${parent.author}`, [field(`Your answer to ${parent.author}`, text)], 'Post answer', async () => {
      const body = text.value.trim();
      if (!body) { say('Write the answer first.', true); return false; }
      await this.post(body, parent.replyId);
      say(`Answer to ${parent.author} posted.`);
      return true;
    });
  }

  private editForm(reply: Reply) {
    const text = h('textarea', { rows: '3', maxlength: String(MAX_BODY), required: true });
    text.value = reply.body;
    this.slotForm(reply, 'edit', 'Edit your reply', [field('Your reply, edited', text, 'The earlier text stays visible under the reply.')], 'Save edit', async () => {
      const body = text.value.trim();
      if (!body) { say('A reply cannot be empty; retract it instead.', true); return false; }
      const result = await this.ctx.api.discussion.editReply({ requestId: requestId(), replyId: reply.replyId, body }).response;
      await this.refresh(reply.replyId, result.position);
      say('Reply edited.');
      return true;
    });
  }

  private retractForm(reply: Reply) {
    this.slotForm(reply, 'retract', 'Retract your reply',
      [h('p', {}, 'Retract this reply? Its text leaves the thread; answers to it stay.')], 'Retract reply', async () => {
        const result = await this.ctx.api.discussion.retractReply({ requestId: requestId(), replyId: reply.replyId }).response;
        await this.refresh(reply.replyId, result.position);
        say('Reply retracted.');
        return true;
      });
  }

  private async post(body: string, parentId = '') {
    const answer = await this.ctx.api.discussion.postReply({ requestId: requestId(), target: this.target, parentId, body }).response;
    if (answer.reply) this.apply(answer.reply);
  }

  /** After an edit or retraction of one's own: the thread read again, unless the stream already brought the change. */
  private async refresh(replyId: string, position: number) {
    if ((this.replies.get(replyId)?.lastPosition ?? 0) >= position) return;
    const answer = await this.ctx.api.discussion.listThread({ target: this.target }).response;
    for (const reply of answer.replies) this.apply(reply);
  }

  private composeForm(): HTMLFormElement {
    const text = h('textarea', { rows: '3', maxlength: String(MAX_BODY), required: true });
    const button = h('button', { type: 'submit', class: 'primary' }, 'Post reply');
    const form = h('form', { class: 'stack compose', 'aria-label': 'New reply' },
      field('Your reply', text, 'Starts a new branch of the thread; use Answer on a reply to answer it.'),
      h('div', { class: 'actions' }, button));
    form.addEventListener('submit', async e => {
      e.preventDefault();
      const body = text.value.trim();
      if (!body) { say('Write the reply first.', true); text.focus(); return; }
      button.disabled = true;
      try {
        await this.post(body);
        text.value = '';
        say('Reply posted.');
      } catch (err) { this.ctx.fail(err); } finally { button.disabled = false; }
    });
    return form;
  }
}
