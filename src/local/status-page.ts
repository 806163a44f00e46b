/**
 * A minimal status page for the local runtime: it reads /api/status and /api/deployments in the
 * browser and refreshes every two seconds. (The full dashboard lives in dashboard/.)
 */
export function statusPage(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coconut — local</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.3rem .6rem;text-align:left}
.SUCCEEDED{color:#137333}.ROLLED_BACK,.FAILED,.ROLLBACK_FAILED,.REJECTED,.INTERRUPTED{color:#b3261e}
.DEPLOYING,.BAKING,.ROLLING_BACK,.AWAITING_APPROVAL{color:#8a5a00}.rehearsal{background:#fff4ce}
code{background:#f3f3f3;padding:0 .2rem}
</style></head>
<body><h1>Coconut <small>(local runtime)</small></h1>
<h2>Services</h2><div id="services">loading…</div>
<h2>Waiting for approval</h2><div id="approvals"></div>
<h2>Recent deployments</h2><div id="deployments"></div>
<script>
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function refresh() {
  const [status, deps] = await Promise.all([fetch('/api/status').then(r => r.json()), fetch('/api/deployments?limit=20').then(r => r.json())]);
  document.getElementById('services').innerHTML = '<table><tr><th>service</th><th>environment</th><th>running</th><th>last known-good</th><th>latest</th></tr>' +
    status.services.flatMap(s => s.environments.map(e => '<tr><td>' + esc(s.service) + '</td><td>' + esc(e.name) + '</td><td>' + esc(e.current?.version ?? '—') +
    '</td><td>' + esc(e.lastKnownGood?.version ?? '—') + '</td><td class="' + esc(e.latest?.state) + (e.latest?.rehearsal ? ' rehearsal' : '') + '">' +
    esc(e.latest ? e.latest.version + ' ' + e.latest.state + (e.latest.rehearsal ? ' (rehearsal: PLANNED)' : '') + (e.latest.reason ? ' — ' + e.latest.reason : '') : '—') + '</td></tr>')).join('') + '</table>';
  document.getElementById('approvals').innerHTML = status.approvals.length ? '<table>' + status.approvals.map(a => '<tr><td>' + esc(a.service) + ' ' + esc(a.fromVersion ?? '—') + ' → ' + esc(a.version) + ' on ' + esc(a.environment) +
    '</td><td><code>npx coconut approve ' + esc(a.approvalId) + '</code></td></tr>').join('') + '</table>' : '<p>none</p>';
  document.getElementById('deployments').innerHTML = '<table><tr><th>deployment</th><th>version</th><th>state</th><th>stages</th></tr>' +
    deps.deployments.map(d => '<tr><td>' + esc(d.deploymentId) + '</td><td>' + esc(d.version) + '</td><td class="' + esc(d.state) + '">' + esc(d.state) + '</td><td>' +
    d.stages.map(s => esc(s.environment) + ': <span class="' + esc(s.state) + '">' + esc(s.state) + (s.rehearsal ? ' (rehearsal)' : '') + '</span>').join(', ') + '</td></tr>').join('') + '</table>';
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
}
