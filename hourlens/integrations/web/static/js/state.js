// Shared state: the video list, cached video details and the open player.
import { api } from './api.js';

let videos = [];
const details = new Map();
let player = null; // {id, seek(t, play)} of the open video page
let pendingSeek = null; // {id, t, play} for the page about to open

/** Reload the list of videos (GET /videos). */
export async function loadVideos() {
  videos = await api('/videos');
  return videos;
}

export function allVideos() {
  return videos;
}

/** The video record for an id, path or file name (null if unknown). */
export function videoOf(ref) {
  const s = String(ref);
  return (
    videos.find((v) => String(v.id) === s) ||
    videos.find((v) => v.path === s) ||
    videos.find((v) => v.path.split(/[\\/]/).pop() === s) ||
    null
  );
}

/** GET /videos/{id} once per page load (segments, chapters, keyframes). */
export async function detailOf(id) {
  if (!details.has(id)) details.set(id, api(`/videos/${encodeURIComponent(id)}`));
  try {
    return await details.get(id);
  } catch (e) {
    details.delete(id);
    throw e;
  }
}

export function forgetDetails() {
  details.clear();
}

/** The number of the keyframe nearest to t (or null without keyframes). */
export function keyframeNear(detail, t) {
  let best = null;
  for (const k of detail.keyframes || []) {
    if (best === null || Math.abs(k.t - t) < Math.abs(best.t - t)) best = k;
  }
  return best ? best.n : null;
}

/** The keyframe of the segment that contains t (else the nearest one), or null. */
export function keyframeAt(detail, t) {
  const seg = (detail.segments || []).find((s) => t >= s.start && t < s.end);
  const inside = seg && (detail.keyframes || []).find((k) => k.t >= seg.start && k.t < seg.end);
  return inside ? inside.n : keyframeNear(detail, t);
}

export function keyframeUrl(id, n) {
  return `/videos/${encodeURIComponent(id)}/keyframes/${n}.jpg`;
}

export function setPlayer(p) {
  player = p;
}

export function currentPlayer() {
  return player;
}

/**
 * Open video `id` at `t` seconds (and play it when `play`): seeks the open player when it
 * shows that video, otherwise navigates to its page (#/v/{id}?t=...).
 */
export function openAt(id, t, play = true) {
  const time = Math.max(0, Number(t) || 0);
  const target = `#/v/${encodeURIComponent(id)}?t=${Math.round(time * 10) / 10}`;
  if (player && String(player.id) === String(id)) {
    window.history.replaceState(null, '', target);
    player.seek(time, play);
    return;
  }
  pendingSeek = { id: String(id), t: time, play };
  window.location.hash = target;
}

/** The seek requested for video id by openAt (taken once). */
export function takePendingSeek(id) {
  const p = pendingSeek;
  pendingSeek = null;
  return p && p.id === String(id) ? p : null;
}
