// The library page: every video (thumbnail, duration, status, errors), an index form and
// the live progress of indexing jobs (POST /index, polled through GET /jobs/{id}).
import { ApiError, api } from './api.js';
import { basename, clock, fill, h } from './dom.js';
import { forgetDetails, keyframeUrl, loadVideos } from './state.js';

const POLL_MS = 1000; // a running job's progress
const DISCOVER_MS = 5000; // looking for jobs started elsewhere
const ACTIVE = new Set(['queued', 'running']);

function card(v) {
  const thumb = h('img', { class: 'thumb', alt: '', loading: 'lazy', src: keyframeUrl(v.id, 0) });
  thumb.addEventListener('error', () => thumb.classList.add('missing'), { once: true });
  const meta = [clock(v.duration)];
  if (v.width && v.height) meta.push(`${v.width}×${v.height}`);
  return h(
    'a',
    { class: `card status-${v.status}`, href: `#/v/${v.id}`, title: v.path, dataset: { video: v.id } },
    h('div', { class: 'thumb-box' }, thumb, h('span', { class: 'duration' }, clock(v.duration))),
    h('div', { class: 'card-body' },
      h('div', { class: 'card-title' }, basename(v.path)),
      h('div', { class: 'card-meta' },
        h('span', { class: `badge ${v.status}` }, v.status), ' ', meta.slice(1).join(' · ')),
      v.error ? h('div', { class: 'error small' }, v.error) : null),
  );
}

function progressOf(job) {
  const p = job.progress || {};
  const files = p.files ?? '?';
  const parts = [`${job.status}`, `${p.done}/${files} files`];
  if (p.current) parts.push(basename(p.current));
  if (p.stage) parts.push(p.stage);
  let frac = null;
  if (p.files) frac = p.done / p.files;
  if (p.total_frames && p.current) {
    const inFile = Math.min(1, p.frames / p.total_frames);
    parts.push(`${Math.round(inFile * 100)}% of frames`);
    if (p.files) frac = (p.done + inFile) / p.files;
  }
  if (!ACTIVE.has(job.status)) frac = 1;
  const counts = ['indexed', 'skipped', 'failed'].filter((k) => p[k]).map((k) => `${p[k]} ${k}`);
  if (counts.length) parts.push(counts.join(', '));
  return { text: parts.join(' · '), frac };
}

function jobRow(job) {
  const { text, frac } = progressOf(job);
  const bar = h('div', { class: 'bar-fill' });
  bar.style.width = `${Math.round((frac ?? 0) * 100)}%`;
  return h('div', { class: `job ${job.status}`, dataset: { job: job.id } },
    h('div', { class: 'job-paths' }, job.paths.map(basename).join(', ')),
    h('div', { class: 'bar' }, bar),
    h('div', { class: 'job-text' }, text),
    job.error ? h('div', { class: 'error small' }, job.error) : null,
    (job.results || []).filter((r) => r.error).map((r) =>
      h('div', { class: 'error small' }, `${basename(r.video)}: ${r.error}`)));
}

export async function renderLibrary(view, signal) {
  const grid = h('div', { class: 'grid' });
  const jobsBox = h('div', { class: 'jobs' });
  const note = h('p', { class: 'small muted' });
  const formMsg = h('div', { class: 'form-msg' });
  const pathInput = h('input', {
    id: 'index-path', type: 'text', placeholder: 'Folder or file to index (under an index root)',
    autocomplete: 'off', 'aria-label': 'Path to index',
  });
  const force = h('input', { id: 'index-force', type: 'checkbox' });
  const form = h('form', { class: 'index-form' }, pathInput,
    h('label', { class: 'small' }, force, ' re-index'), h('button', { type: 'submit' }, 'Index'));
  fill(view,
    h('section', { class: 'library' },
      h('div', { class: 'section-head' }, h('h1', {}, 'Library'), form), formMsg, note, jobsBox, grid));

  const jobs = new Map();
  const openedAt = Date.now() / 1000 - 1;
  let timer = null;

  async function refreshVideos() {
    const videos = await loadVideos();
    if (signal.aborted) return;
    forgetDetails();
    note.textContent = videos.length
      ? `${videos.length} video${videos.length === 1 ? '' : 's'}`
      : 'No videos yet: run `hourlens index PATH`, or index a folder here when the server has --index-root.';
    fill(grid, videos.map(card));
  }

  function drawJobs() {
    const list = [...jobs.values()].sort((a, b) => a.created_at - b.created_at);
    fill(jobsBox, list.length ? h('h2', {}, 'Indexing') : null, list.map(jobRow));
  }

  async function poll() {
    timer = null;
    if (signal.aborted) return;
    let finished = false;
    for (const job of [...jobs.values()].filter((j) => ACTIVE.has(j.status))) {
      try {
        const now = await api(`/jobs/${encodeURIComponent(job.id)}`, { signal });
        if (!ACTIVE.has(now.status) || now.progress.done !== job.progress.done) finished = true;
        jobs.set(now.id, now);
      } catch (e) {
        if (signal.aborted) return;
        jobs.delete(job.id);
      }
    }
    drawJobs();
    if (finished) await refreshVideos();
    schedule();
  }

  async function discover() {
    // jobs started elsewhere (another tab, curl) show up too
    timer = null;
    if (signal.aborted) return;
    let ended = false;
    try {
      for (const job of await api('/jobs', { signal })) {
        if (jobs.has(job.id)) continue;
        if (ACTIVE.has(job.status)) jobs.set(job.id, job);
        else if ((job.finished_at || 0) >= openedAt) {
          jobs.set(job.id, job); // started and finished between two looks
          ended = true;
        }
      }
    } catch (e) {
      if (signal.aborted) return;
    }
    drawJobs();
    if (ended) await refreshVideos();
    schedule();
  }

  function schedule() {
    if (timer || signal.aborted) return;
    const active = [...jobs.values()].some((j) => ACTIVE.has(j.status));
    timer = active ? setTimeout(poll, POLL_MS) : setTimeout(discover, DISCOVER_MS);
  }

  signal.addEventListener('abort', () => timer && clearTimeout(timer));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const path = pathInput.value.trim();
    if (!path) return;
    fill(formMsg);
    try {
      const job = await api('/index', { method: 'POST', body: { paths: [path], force: force.checked } });
      jobs.set(job.id, job);
      pathInput.value = '';
      drawJobs();
      if (ACTIVE.has(job.status)) {
        clearTimeout(timer); // poll now-ish rather than after the discovery wait
        timer = null;
        schedule();
      } else await refreshVideos(); // it finished before the first poll
    } catch (e) {
      const msg = e instanceof ApiError && e.code === 'path_not_allowed'
        ? `${e.message} (start the server with --index-root FOLDER to index from the page)`
        : e.message;
      fill(formMsg, h('div', { class: 'banner error' }, msg));
    }
  });

  await refreshVideos();
  for (const job of await api('/jobs', { signal })) {
    if (ACTIVE.has(job.status) || Date.now() / 1000 - (job.finished_at || 0) < 600) jobs.set(job.id, job);
  }
  drawJobs();
  schedule();
}
