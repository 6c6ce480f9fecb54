// Entry point: hash routes, login, the search box and the chat panel.
//   #/                 library
//   #/v/{id}?t=123     a video at a time (deep link)
//   #/search?q=...     search results
import { ApiError, login, loginState, logout, onUnauthorized } from './api.js';
import { initChat, setScopeVideo } from './chat.js';
import { fill, h, hideTip } from './dom.js';
import { renderLibrary } from './library.js';
import { renderSearch } from './search.js';
import { currentPlayer, setPlayer } from './state.js';
import { renderVideo } from './video.js';

const view = document.getElementById('view');
let controller = null; // aborts the previous view's timers and requests
let loginOpen = false;

function parseRoute() {
  const raw = window.location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  const params = new URLSearchParams(query);
  const video = path.match(/^\/v\/([^/]+)$/);
  if (video) {
    const t = Number(params.get('t'));
    return { name: 'video', id: decodeURIComponent(video[1]), t: Number.isFinite(t) ? t : 0 };
  }
  if (path === '/search') return { name: 'search', q: params.get('q') || '' };
  return { name: 'library' };
}

async function route() {
  const r = parseRoute();
  const open = currentPlayer();
  if (r.name === 'video' && open && String(open.id) === r.id) {
    open.seek(r.t, false); // same video: just move the playhead
    return;
  }
  if (controller) controller.abort();
  controller = new AbortController();
  hideTip();
  setPlayer(null);
  setScopeVideo(null);
  const { signal } = controller;
  try {
    if (r.name === 'video') await renderVideo(view, r.id, r.t, signal);
    else if (r.name === 'search') await renderSearch(view, r.q, signal);
    else await renderLibrary(view, signal);
  } catch (e) {
    if (signal.aborted) return;
    if (e instanceof ApiError && e.status === 401) {
      fill(view, h('p', { class: 'hint' }, 'Log in to see the library.'));
      return;
    }
    fill(view, h('div', { class: 'banner error' }, e.message || String(e)));
  }
}

function askLogin() {
  const dialog = document.getElementById('login');
  if (loginOpen) return;
  loginOpen = true;
  document.getElementById('login-error').hidden = true;
  dialog.showModal();
  document.getElementById('token').focus();
}

document.getElementById('login-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = document.getElementById('token');
  const error = document.getElementById('login-error');
  try {
    if (await login(input.value)) {
      input.value = '';
      document.getElementById('login').close();
      loginOpen = false;
      document.getElementById('logout').hidden = false;
      await route();
      return;
    }
    error.textContent = 'Wrong token.';
  } catch (e) {
    error.textContent = e.message || String(e);
  }
  error.hidden = false;
});

document.getElementById('login').addEventListener('cancel', (event) => event.preventDefault());

document.getElementById('logout').addEventListener('click', async () => {
  await logout();
  window.location.reload();
});

document.getElementById('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const q = document.getElementById('search').value.trim();
  if (!q) return;
  const target = `#/search?q=${encodeURIComponent(q)}`;
  if (window.location.hash === target) route();
  else window.location.hash = target;
});

onUnauthorized(askLogin);
initChat();
window.addEventListener('hashchange', route);
loginState()
  .then((state) => {
    document.getElementById('logout').hidden = !(state.auth_required && state.logged_in);
    if (state.auth_required && !state.logged_in) askLogin();
    else route();
  })
  .catch(() => route());
