// Small DOM helpers. Text always goes in as text nodes (never HTML).

/** Create an element: h('a', {class: 'x', href: '#', onclick: fn, dataset: {k: v}}, ...children). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Seconds as m:ss or h:mm:ss, rounded like the CLI's times (hourlens.timefmt). */
export function clock(sec) {
  const s = Math.max(0, Math.round(Number(sec) || 0));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** "a–b" time range. */
export function span(start, end) {
  return `${clock(start)}–${clock(end)}`;
}

/** The last path component of a file path. */
export function basename(path) {
  return String(path || '').split(/[\\/]/).pop();
}

/** Index of the last item with item.start <= t (items sorted by start), or -1. */
export function findAt(items, t) {
  let lo = 0;
  let hi = items.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (items[mid].start <= t) { best = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return best;
}

/** Replace the children of el. */
export function fill(el, ...children) {
  el.replaceChildren();
  for (const c of children.flat(Infinity)) if (c) el.append(c);
  return el;
}

/** The floating tooltip: show lines (strings or nodes) near a mouse event. */
export function showTip(event, ...lines) {
  const tip = document.getElementById('tip');
  fill(tip, ...lines.map((l) => (l instanceof Node ? l : h('div', {}, l))));
  tip.hidden = false;
  const pad = 14;
  const w = tip.offsetWidth;
  const ht = tip.offsetHeight;
  let x = event.clientX + pad;
  let y = event.clientY + pad;
  if (x + w > window.innerWidth - 4) x = event.clientX - w - pad;
  if (y + ht > window.innerHeight - 4) y = event.clientY - ht - pad;
  tip.style.left = `${Math.max(4, x)}px`;
  tip.style.top = `${Math.max(4, y)}px`;
}

export function hideTip() {
  document.getElementById('tip').hidden = true;
}
