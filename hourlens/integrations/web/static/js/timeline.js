// The timeline under the player: chapters and segments in proportion to their length,
// with keyframe thumbnails, a playhead, and a strip of keyframes. Hovering a segment
// shows its caption, tags and on-screen text; a click seeks.
import { clock, fill, h, hideTip, showTip, span } from './dom.js';
import { keyframeUrl } from './state.js';

const MIN_LABEL_FRACTION = 0.04;

function pct(x, duration) {
  return `${(100 * Math.max(0, Math.min(duration, x))) / duration}%`;
}

function segmentTip(seg, chapter) {
  const lines = [h('div', { class: 'tip-time' }, `Segment ${seg.index + 1} · ${span(seg.start, seg.end)}`)];
  if (chapter) lines.push(h('div', { class: 'tip-chapter' }, chapter.title));
  if (seg.caption) lines.push(h('div', { class: 'tip-caption' }, seg.caption));
  if (seg.tags && seg.tags.length) {
    lines.push(h('div', { class: 'tip-tags' }, seg.tags.map((t) =>
      h('span', { class: 'tag' }, `${t.label} ${Math.round(t.score * 100)}%`))));
  }
  if (seg.ocr && seg.ocr.length) lines.push(h('div', { class: 'tip-ocr' }, `On screen: ${seg.ocr.join(' · ')}`));
  if (seg.transcript) lines.push(h('div', { class: 'tip-said' }, `“${seg.transcript}”`));
  return lines;
}

/** Keyframe number shown for each segment (the one inside it, else the nearest). */
function thumbs(detail) {
  const frames = detail.keyframes || [];
  return (detail.segments || []).map((s) => {
    const inside = frames.find((k) => k.t >= s.start && k.t < s.end);
    if (inside) return inside.n;
    let best = null;
    for (const k of frames) if (!best || Math.abs(k.t - s.start) < Math.abs(best.t - s.start)) best = k;
    return best ? best.n : null;
  });
}

/**
 * @returns {{el: HTMLElement, update: (t: number) => void}}
 */
export function timeline(detail, duration, onSeek) {
  const id = detail.id;
  const segments = detail.segments || [];
  const chapters = detail.chapters || [];
  const frames = detail.keyframes || [];
  const segThumb = thumbs(detail);
  const chapterOf = (s) => chapters.find((c) => s.start >= c.start && s.start < c.end) || null;
  const dur = Math.max(duration || 0, ...segments.map((s) => s.end), 1);

  const chapterRow = h('div', { class: 'tl-chapters' });
  for (const c of chapters) {
    const title = c.title || `Chapter ${c.index + 1}`;
    // a label only where there is room for a few characters (about 4% of the bar)
    const label = (c.end - c.start) / dur >= MIN_LABEL_FRACTION ? h('span', {}, title) : null;
    const el = h('div', { class: 'tl-chapter', onclick: () => onSeek(c.start) }, label);
    el.style.left = pct(c.start, dur);
    el.style.width = pct(c.end - c.start, dur);
    el.addEventListener('mousemove', (e) => showTip(e, h('div', { class: 'tip-time' }, span(c.start, c.end)),
      h('div', { class: 'tip-chapter' }, c.title || ''), c.summary ? h('div', {}, c.summary) : null));
    el.addEventListener('mouseleave', hideTip);
    chapterRow.append(el);
  }
  const segRow = h('div', { class: 'tl-segments' });
  const segEls = segments.map((s, i) => {
    const img = segThumb[i] === null ? null : h('img', { alt: '', loading: 'lazy', src: keyframeUrl(id, segThumb[i]) });
    const el = h('div', { class: 'tl-seg', dataset: { start: s.start, end: s.end }, onclick: () => onSeek(s.start) }, img);
    el.style.left = pct(s.start, dur);
    el.style.width = pct(s.end - s.start, dur);
    el.addEventListener('mousemove', (e) => showTip(e, ...segmentTip(s, chapterOf(s))));
    el.addEventListener('mouseleave', hideTip);
    return el;
  });
  fill(segRow, segEls);
  const head = h('div', { class: 'tl-playhead' });
  const ticks = h('div', { class: 'tl-ticks' });
  const step = [30, 60, 120, 300, 600, 900, 1800].find((x) => dur / x <= 12) || 3600;
  for (let x = 0; x <= dur; x += step) {
    if (x > 0 && dur - x < step / 2) break; // too close to the end label
    const tick = h('span', {}, clock(x));
    tick.style.left = pct(x, dur);
    ticks.append(tick);
  }
  const endTick = h('span', { class: 'last' }, clock(dur));
  endTick.style.left = '100%';
  ticks.append(endTick);
  const bar = h('div', { class: 'tl-bar' }, chapters.length ? chapterRow : null, segRow, head);
  const el = h('section', { class: 'timeline', 'aria-label': 'Timeline' }, bar, ticks);

  // the keyframe strip
  const strip = h('div', { class: 'strip', id: 'keyframes' });
  const segAt = (t) => segments.find((s) => t >= s.start && t < s.end) || null;
  const stripEls = frames.map((k) => {
    const seg = segAt(k.t);
    const label = seg && seg.tags && seg.tags.length ? seg.tags[0].label : seg && seg.caption ? seg.caption : '';
    const fig = h('figure', { class: 'kf', dataset: { t: k.t }, onclick: () => onSeek(k.t) },
      h('img', { alt: `keyframe at ${clock(k.t)}`, loading: 'lazy', src: keyframeUrl(id, k.n) }),
      h('figcaption', {}, h('span', { class: 'ts' }, clock(k.t)), label ? ` ${label}` : ''));
    if (seg) {
      fig.addEventListener('mousemove', (e) => showTip(e, ...segmentTip(seg, chapterOf(seg))));
      fig.addEventListener('mouseleave', hideTip);
    }
    return fig;
  });
  fill(strip, stripEls.length ? stripEls : h('p', { class: 'muted small' }, 'No keyframes.'));
  el.append(strip);

  let curSeg = -1;
  let curFrame = -1;
  function update(t) {
    head.style.left = pct(t, dur);
    const i = segments.findIndex((s) => t >= s.start && t < s.end);
    if (i !== curSeg) {
      if (curSeg >= 0) segEls[curSeg].classList.remove('current');
      if (i >= 0) segEls[i].classList.add('current');
      curSeg = i;
    }
    // the keyframe of the current segment, else the last one before t
    let j = i >= 0 ? frames.findIndex((k) => k.t >= segments[i].start && k.t < segments[i].end) : -1;
    if (j < 0) for (let n = 0; n < frames.length; n += 1) if (frames[n].t <= t + 0.5) j = n;
    if (j !== curFrame) {
      if (curFrame >= 0) stripEls[curFrame].classList.remove('current');
      curFrame = j;
      if (j >= 0) {
        const fig = stripEls[j];
        fig.classList.add('current');
        const left = fig.offsetLeft - strip.offsetLeft;
        if (left < strip.scrollLeft || left + fig.offsetWidth > strip.scrollLeft + strip.clientWidth) {
          strip.scrollLeft = Math.max(0, left - strip.clientWidth / 3);
        }
      }
    }
  }
  bar.addEventListener('click', (e) => {
    if (e.target !== bar && e.target !== head) return;
    const r = bar.getBoundingClientRect();
    onSeek(((e.clientX - r.left) / r.width) * dur);
  });
  return { el, update };
}
