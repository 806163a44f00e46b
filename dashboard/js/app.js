// The Coconut dashboard: plain ES modules, no build step. Routes live in the hash so that any
// static host can serve the page: #/ overview, #/deployments/ID, #/history, #/metrics.
import { setApiBase } from './api.js';
import { currentUser, initAuth } from './auth.js';
import { clear, h } from './dom.js';
import { openDeployment } from './views/deployment.js';
import { historyView } from './views/history.js';
import { metricsView } from './views/metrics.js';
import { overview } from './views/overview.js';
import { errorBox, main, stopViews } from './views/view.js';

async function router() {
  stopViews();
  const route = (location.hash || '#/').split('?')[0];
  for (const a of document.querySelectorAll('nav a')) a.setAttribute('aria-current', String(route === a.getAttribute('href')));
  try {
    if (route.startsWith('#/deployments/')) await openDeployment(decodeURIComponent(route.slice('#/deployments/'.length)));
    else if (route === '#/history') await historyView();
    else if (route === '#/metrics') await metricsView();
    else await overview();
  } catch (error) {
    clear(main).append(errorBox(error));
  }
}

async function start() {
  let config = { apiBase: '', auth: null };
  try {
    const res = await fetch('config.json', { cache: 'no-store' });
    if (res.ok) config = await res.json();
  } catch {
    // no config.json: the API is on this origin, without sign-in (the local runtime)
  }
  setApiBase(config.apiBase);
  try {
    const auth = await initAuth(config.auth);
    document.getElementById('who').textContent = auth.local ? 'local runtime' : `signed in as ${currentUser() ?? 'you'}`;
  } catch (error) {
    clear(main).append(h('div.error', { role: 'alert' }, error.message));
    return;
  }
  window.addEventListener('hashchange', router);
  await router();
}

start();
