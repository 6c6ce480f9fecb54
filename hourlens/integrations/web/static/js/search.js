// Search results across the library (GET /search): time ranges with the keyframe nearest
// to them; a click opens the video there and plays.
import { api } from './api.js';
import { basename, clock, fill, h, span } from './dom.js';
import { detailOf, keyframeNear, keyframeUrl, loadVideos, openAt, videoOf } from './state.js';

const KIND = { visual: 'shown', tag: 'tag', speech: 'said', ocr: 'on screen', caption: 'caption', summary: 'summary' };

export async function renderSearch(view, q, signal) {
  document.getElementById('search').value = q;
  const list = h('ol', { class: 'results', id: 'results' });
  fill(view, h('section', { class: 'search-page' }, h('h1', {}, 'Search: ', h('q', {}, q)), list));
  if (!q) return;
  fill(list, h('li', { class: 'muted' }, 'Searching…'));
  const [hits] = await Promise.all([api('/search', { params: { q, k: 30 }, signal }), loadVideos()]);
  if (signal.aborted) return;
  if (!hits.length) {
    fill(list, h('li', { class: 'muted' }, 'Nothing found. Try other words, or ask a question in the panel.'));
    return;
  }
  const rows = [];
  for (const hit of hits) {
    const v = videoOf(hit.video);
    const id = v ? v.id : hit.video;
    const img = h('img', { class: 'thumb', alt: '', loading: 'lazy' });
    detailOf(id).then((d) => {
      const n = keyframeNear(d, (hit.start + hit.end) / 2);
      if (n !== null) img.src = keyframeUrl(id, n);
      else img.classList.add('missing');
    }).catch(() => img.classList.add('missing'));
    rows.push(h('li', {
      class: 'result', tabindex: '0', dataset: { video: id, start: hit.start, end: hit.end },
      title: `Play from ${clock(hit.start)}`,
      onclick: () => openAt(id, hit.start, true),
      onkeydown: (e) => { if (e.key === 'Enter') openAt(id, hit.start, true); },
    }, img, h('div', { class: 'result-body' },
      h('div', { class: 'result-head' }, h('b', {}, basename(hit.video)), ' ',
        h('span', { class: 'ts' }, span(hit.start, hit.end)), ' ',
        h('span', { class: `badge kind-${hit.kind}` }, KIND[hit.kind] || hit.kind),
        h('span', { class: 'muted small' }, ` score ${hit.score.toFixed(3)}`)),
      hit.text ? h('div', { class: 'result-text' }, hit.text) : null)));
  }
  fill(list, rows);
}
