// The video page: <video id="player"> streaming the source file (HTTP Range), the
// timeline and keyframe strip, the transcript that follows playback and the on-screen
// text. When the source file is gone, the keyframes stand in for the picture.
import { api } from './api.js';
import { setScopeVideo } from './chat.js';
import { basename, clock, fill, h } from './dom.js';
import { detailOf, keyframeAt, keyframeUrl, loadVideos, setPlayer, takePendingSeek, videoOf } from './state.js';
import { timedList } from './panes.js';
import { timeline } from './timeline.js';

async function whyUnplayable(url) {
  try {
    const res = await fetch(url, { headers: { Range: 'bytes=0-0' }, credentials: 'same-origin' });
    if (res.ok) return 'the browser cannot play this file format; keyframes are shown instead';
    const body = await res.json();
    return body.error.message;
  } catch {
    return 'the source file cannot be loaded; keyframes are shown instead';
  }
}

export async function renderVideo(view, id, t0, signal) {
  const [detail, transcript, ocr] = await Promise.all([
    detailOf(id),
    api(`/videos/${encodeURIComponent(id)}/transcript`, { signal }).catch(() => []),
    api(`/videos/${encodeURIComponent(id)}/ocr`, { signal }).catch(() => []),
  ]);
  if (signal.aborted) return;
  if (!videoOf(detail.id)) await loadVideos().catch(() => null);
  const vid = detail.id;
  const duration = detail.duration || 0;
  const src = `/videos/${encodeURIComponent(vid)}/stream`;

  const player = h('video', { id: 'player', controls: true, preload: 'metadata', playsinline: true });
  const still = h('img', { class: 'still', alt: '', hidden: true });
  const gone = h('div', { class: 'banner warn', hidden: true });
  const clockEl = h('span', { class: 'now' }, clock(t0));
  const state = { gone: false, time: t0 };

  const ctl = {
    id: String(vid),
    seek(t, play) {
      const time = Math.max(0, Math.min(Number(t) || 0, duration || Infinity));
      state.time = time;
      if (state.gone) {
        update(time);
        return;
      }
      const apply = () => {
        player.currentTime = time;
        update(time);
        if (play) player.play().catch(() => {});
      };
      if (player.readyState >= 1) apply();
      else player.addEventListener('loadedmetadata', apply, { once: true });
    },
    time: () => (state.gone ? state.time : player.currentTime),
  };
  const onSeek = (t) => ctl.seek(t, true);

  const tl = timeline(detail, duration, onSeek);
  const speech = timedList(transcript, { id: 'transcript', title: 'Transcript', empty: 'No speech.', onSeek });
  const text = timedList(ocr, { id: 'ocr', title: 'On-screen text', empty: 'No on-screen text.', onSeek });

  function update(t) {
    clockEl.textContent = clock(t);
    tl.update(t);
    speech.update(t);
    text.update(t);
    if (state.gone) {
      const n = keyframeAt(detail, t);
      if (n !== null) still.src = keyframeUrl(vid, n);
    }
  }

  player.addEventListener('timeupdate', () => update(player.currentTime));
  player.addEventListener('seeked', () => update(player.currentTime));
  player.addEventListener('error', async () => {
    if (state.gone) return;
    state.gone = true;
    player.hidden = true;
    still.hidden = false;
    gone.hidden = false;
    gone.textContent = await whyUnplayable(src);
    update(state.time);
  });

  const meta = [clock(duration)];
  if (detail.width && detail.height) meta.push(`${detail.width}×${detail.height}`);
  if (detail.fps) meta.push(`${Math.round(detail.fps * 100) / 100} fps`);
  meta.push(`${(detail.segments || []).length} segments`);
  fill(view,
    h('section', { class: 'video-page', dataset: { video: vid } },
      h('div', { class: 'video-head' },
        h('h1', { title: detail.path }, basename(detail.path)),
        h('span', { class: `badge ${detail.status}` }, detail.status),
        h('span', { class: 'muted small' }, meta.join(' · ')),
        h('span', { class: 'spacer' }),
        clockEl),
      detail.error ? h('div', { class: 'banner error' }, detail.error) : null,
      h('div', { class: 'stage' },
        h('div', { class: 'player-box' }, player, still, gone),
        h('div', { class: 'side' }, speech.el, text.el)),
      tl.el,
      detail.summary ? h('p', { class: 'summary' }, detail.summary) : null));

  setPlayer(ctl);
  setScopeVideo(vid, basename(detail.path));
  const pending = takePendingSeek(vid);
  player.src = src;
  ctl.seek(pending ? pending.t : t0, pending ? pending.play : false);
  if (!pending && !t0) update(0);
}
