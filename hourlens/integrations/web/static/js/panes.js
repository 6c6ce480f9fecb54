// Time-ordered lists beside the player: the transcript and the on-screen text. The item
// being played is highlighted and kept in view; a click seeks there.
import { clock, fill, findAt, h } from './dom.js';

const SLACK = 1.0; // seconds an item stays marked after its end

/**
 * A list of {start, end, text} items.
 * @returns {{el: HTMLElement, update: (t: number) => void}}
 */
export function timedList(items, { id, title, empty, onSeek }) {
  const list = h('ol', { class: 'timed', id });
  const rows = items.map((it) =>
    h('li', { class: 'line', dataset: { start: it.start, end: it.end }, title: 'Play from here',
      onclick: () => onSeek(it.start) },
    h('span', { class: 'ts' }, clock(it.start)), h('span', { class: 'tx' }, it.text)));
  fill(list, rows.length ? rows : h('li', { class: 'muted small' }, empty));
  let hovered = false;
  list.addEventListener('mouseenter', () => { hovered = true; });
  list.addEventListener('mouseleave', () => { hovered = false; });
  let current = -1;

  function keepInView(row) {
    if (hovered || !row) return;
    const top = row.offsetTop - list.offsetTop;
    if (top < list.scrollTop || top + row.offsetHeight > list.scrollTop + list.clientHeight) {
      list.scrollTop = Math.max(0, top - list.clientHeight / 3);
    }
  }

  let near = -1;
  function update(t) {
    const last = findAt(items, t + 0.05); // the last item started by t
    const i = last >= 0 && items[last].end + SLACK >= t ? last : -1; // ...if still on
    if (last !== near) {
      near = last;
      keepInView(rows[Math.max(last, 0)]); // sparse lists still scroll along
    }
    if (i === current) return;
    if (current >= 0) rows[current].classList.remove('current');
    current = i;
    if (i >= 0) rows[i].classList.add('current');
  }

  const el = h('section', { class: 'pane' }, h('h2', {}, title, h('span', { class: 'count' }, ` ${items.length}`)), list);
  return { el, update };
}
