// The ask / chat panel: questions about the open video or the whole library, answered
// through POST /ask/stream (the agent's steps show while it works). Earlier turns go
// along as history, like `hourlens chat`; "New chat" forgets them. Citations are chips
// (data-video, data-start, data-end); a click plays that moment.
import { askStream } from './api.js';
import { basename, clock, fill, h, span } from './dom.js';
import { loadVideos, openAt, videoOf } from './state.js';

const MAX_TURNS = 20; // the server's history limit
const MAX_ANSWER_CHARS = 8000;
const MAX_CITATIONS = 16;
let turns = [];
let busy = false;

const KIND_LABEL = { speech: 'said', ocr: 'on screen', caption: 'caption', visual: 'shown' };

function scopeSelect() {
  return document.getElementById('scope');
}

/** Offer "This video" in the scope menu (and select it); null removes it. */
export function setScopeVideo(id, name) {
  const select = scopeSelect();
  for (const opt of [...select.options]) if (opt.value) opt.remove();
  if (id !== null && id !== undefined) {
    select.append(h('option', { value: String(id) }, `This video: ${name || id}`));
    select.value = String(id);
  } else {
    select.value = '';
  }
}

/** A citation chip; data-video is the video id. */
export function chip(c, showVideo) {
  const v = videoOf(c.video);
  const id = v ? v.id : c.video;
  const label = `${showVideo ? `${basename(c.video)} · ` : ''}${span(c.start, c.end)}`;
  return h('button', {
    type: 'button',
    class: `chip kind-${c.kind}`,
    title: `Play ${basename(c.video)} from ${clock(c.start)} (${KIND_LABEL[c.kind] || c.kind})`,
    dataset: { video: id, start: c.start, end: c.end, kind: c.kind },
    onclick: () => openAt(id, c.start, true),
  }, label);
}

const TIME = /\b(?:(\d{1,2}):)?(\d{1,2}):(\d{2})\b/g;

/**
 * The answer text with its times (MM:SS, H:MM:SS) as links that play that moment, when
 * the answer is about one video; plain text otherwise.
 */
function linkTimes(text, videoId) {
  if (videoId === null) return [text];
  const out = [];
  let at = 0;
  for (const m of text.matchAll(TIME)) {
    const [hh, mm, ss] = [Number(m[1] || 0), Number(m[2]), Number(m[3])];
    if (ss > 59 || (m[1] && mm > 59)) continue;
    const t = hh * 3600 + mm * 60 + ss;
    out.push(text.slice(at, m.index));
    out.push(h('a', {
      class: 'ts-link', href: `#/v/${encodeURIComponent(videoId)}?t=${t}`, title: `Play from ${m[0]}`,
      onclick: (e) => { e.preventDefault(); openAt(videoId, t, true); },
    }, m[0]));
    at = m.index + m[0].length;
  }
  out.push(text.slice(at));
  return out;
}

function scroll() {
  const box = document.getElementById('answer');
  box.scrollTop = box.scrollHeight;
}

async function submit(question) {
  const box = document.getElementById('answer');
  const scope = scopeSelect().value;
  const hint = box.querySelector('.hint');
  if (hint) hint.remove();
  const steps = h('ol', { class: 'steps' });
  const elapsed = h('span', { class: 'elapsed' }, '0 s');
  const progress = h('div', { class: 'progress' }, h('span', { class: 'spinner' }), ' thinking… ', elapsed, steps);
  const turnEl = h('div', { class: 'turn busy' },
    h('div', { class: 'question' }, question,
      h('span', { class: 'scope muted small' }, scope ? ` · ${scopeSelect().selectedOptions[0].textContent}` : ' · library')),
    progress);
  box.append(turnEl);
  scroll();
  const t0 = performance.now();
  const tick = setInterval(() => { elapsed.textContent = `${Math.round((performance.now() - t0) / 1000)} s`; }, 500);
  const body = { question, history: turns.slice(-MAX_TURNS) };
  if (scope) body.video = scope;
  try {
    const ans = await askStream(body, (s) => {
      steps.append(h('li', {}, h('b', {}, s.node), ` ${s.detail}`));
      scroll();
    });
    if (!videoOf(ans.citations[0]?.video ?? '')) await loadVideos().catch(() => null);
    const many = new Set(ans.citations.map((c) => c.video)).size > 1 || !scope;
    progress.remove();
    const cited = [...new Set(ans.citations.map((c) => c.video))];
    const one = cited.length === 1 ? videoOf(cited[0]) : null;
    const replyVideo = one ? one.id : cited.length === 0 && scope ? scope : null;
    turnEl.append(
      h('div', { class: 'reply' }, linkTimes(ans.answer, replyVideo)),
      h('div', { class: 'chips' }, ans.citations.map((c) => chip(c, many))),
      h('details', { class: 'trace small' },
        h('summary', {}, `confidence ${Math.round(ans.confidence * 100)}% · ${ans.steps.length} steps · ${Math.round((performance.now() - t0) / 100) / 10} s`),
        h('ol', {}, ans.steps.map((s) => h('li', {}, h('b', {}, s.node), ` ${s.detail}`)))));
    turns.push({
      question,
      answer: ans.answer.slice(0, MAX_ANSWER_CHARS),
      citations: ans.citations.slice(0, MAX_CITATIONS),
    });
    if (turns.length > MAX_TURNS) turns = turns.slice(-MAX_TURNS);
  } catch (e) {
    progress.remove();
    turnEl.append(h('div', { class: 'error' }, e.message || String(e)));
  } finally {
    clearInterval(tick);
    turnEl.classList.remove('busy');
    scroll();
  }
}

export function initChat() {
  const input = document.getElementById('ask');
  document.getElementById('ask-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question || busy) return;
    busy = true;
    input.value = '';
    input.disabled = true;
    try {
      await submit(question);
    } finally {
      busy = false;
      input.disabled = false;
      input.focus();
    }
  });
  document.getElementById('new-chat').addEventListener('click', () => {
    turns = [];
    fill(document.getElementById('answer'),
      h('p', { class: 'hint' }, 'New conversation: earlier questions are forgotten.'));
  });
}
