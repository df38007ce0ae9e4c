// The "Game day" tab of `stampede run --ui`: fault timeline, invariants so far, Halt.
// Locust draws the tab itself (extended_tabs); this script draws the panel under the tabs
// while that tab is selected, from /gameday/state once a second.
(() => {
  const css = `
    #stampede-gameday{padding:16px 24px;font-family:Roboto,Helvetica,Arial,sans-serif}
    #stampede-gameday table{border-collapse:collapse;margin:8px 0 20px;width:100%}
    #stampede-gameday th,#stampede-gameday td{border-bottom:1px solid #8884;padding:6px 10px;text-align:left}
    #stampede-gameday .state-active{color:#fff;background:#c62828;font-weight:bold}
    #stampede-gameday .state-done{color:#2e7d32}
    #stampede-gameday .state-failed{color:#fff;background:#6a1b9a}
    #stampede-gameday .pass{color:#2e7d32;font-weight:bold}
    #stampede-gameday .fail{color:#c62828;font-weight:bold}
    #stampede-halt{font-size:16px;padding:8px 28px;background:#c62828;color:#fff;border:0;border-radius:4px;cursor:pointer}
    #stampede-halt:disabled{background:#888;cursor:default}
    #stampede-status{margin:8px 0 16px;font-size:15px}`;
  const panel = document.createElement('div');
  panel.id = 'stampede-gameday';
  panel.style.display = 'none';
  panel.innerHTML = `<style>${css}</style>
    <button id="stampede-halt" title="stop the load and roll back every fault">Halt</button>
    <div id="stampede-status">waiting for the run…</div>
    <h3>Fault timeline</h3>
    <table id="stampede-faults"><thead><tr><th>fault</th><th>type</th><th>proxy</th>
      <th>planned</th><th>applied</th><th>healed</th><th>state</th></tr></thead><tbody></tbody></table>
    <h3>Invariants so far <small>(judged on the data collected up to now)</small></h3>
    <table id="stampede-verdicts"><thead><tr><th>invariant</th><th>window</th><th>measured</th>
      <th>bound</th><th>result</th><th>reason</th></tr></thead><tbody></tbody></table>`;
  const $ = (sel) => panel.querySelector(sel);
  const esc = (v) => String(v ?? '–').replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  const sec = (v) => (v === null || v === undefined ? '–' : `${Number(v).toFixed(1)}s`);

  $('#stampede-halt').addEventListener('click', async () => {
    if (!confirmHalt()) return;
    $('#stampede-halt').disabled = true;
    const r = await fetch('gameday/halt', {method: 'POST'});
    $('#stampede-status').textContent = (await r.json()).message;
  });
  // a game day is stopped on purpose; in tests (navigator.webdriver) there is nobody to ask
  const confirmHalt = () => navigator.webdriver || window.confirm('Halt: stop the load and roll back every fault?');

  function selected() {
    const tab = [...document.querySelectorAll('[role=tab]')].find((t) => t.textContent.trim().toLowerCase() === 'game day');
    return tab && tab.getAttribute('aria-selected') === 'true' ? tab : null;
  }

  function place(tab) {
    // right under the tab bar, as Locust's own tab panels are
    let host = tab.closest('.MuiTabs-root') || tab.closest('[role=tablist]');
    while (host.parentElement && host.parentElement.children.length === 1) host = host.parentElement;
    if (host.nextElementSibling !== panel) host.after(panel);
  }

  function render(s) {
    if (s.paused) { location.reload(); return; }  // a suite's pause page took over the port
    const left = s.duration && s.t !== null ? ` of ${sec(s.duration)}` : '';
    let status = `<b>${esc(s.name)}</b> · ${esc(s.status)} · t=${sec(s.t)}${left} · phase ${esc(s.phase)}`;
    if (s.halts.length) status += ` · <b class="fail">halted: ${esc(s.halts.join('; '))}</b>`;
    else if (s.halt_requested) status += ` · <b class="fail">halt requested</b>`;
    if (s.workers_lost.length) status += ` · workers lost: ${esc(s.workers_lost.join(', '))}`;
    $('#stampede-status').innerHTML = status;
    $('#stampede-halt').disabled = Boolean(s.halt_requested || s.halts.length);
    $('#stampede-faults tbody').innerHTML = s.faults.map((f) => `<tr data-fault="${esc(f.name)}" data-state="${f.state}">
      <td>${esc(f.name)}</td><td>${esc(f.type)}</td><td>${esc(f.proxy)}</td>
      <td>${sec(f.planned_start)}–${sec(f.planned_end)}</td><td>${sec(f.applied_t)}</td>
      <td>${sec(f.healed_t)}${f.interrupted ? ' (rolled back early)' : ''}</td>
      <td class="state-${f.state}">${esc(f.state)}${f.error ? ': ' + esc(f.error) : ''}</td></tr>`).join('')
      || '<tr><td colspan="7">no faults in this experiment</td></tr>';
    $('#stampede-verdicts tbody').innerHTML = s.verdicts.map((v) => `<tr data-invariant="${esc(v.id)}">
      <td>${esc(v.id)}</td><td>${esc(v.window)}</td><td>${esc(v.measured_text)}</td><td>${esc(v.bound_text)}</td>
      <td class="${v.passed ? 'pass' : 'fail'}">${v.passed ? 'pass' : 'FAIL'}</td><td>${esc(v.reason)}</td></tr>`).join('')
      || `<tr><td colspan="6">${esc(s.judge_error || 'no invariants judged yet')}</td></tr>`;
  }

  async function tick() {
    const tab = selected();
    if (!tab) { panel.style.display = 'none'; return; }
    place(tab);
    panel.style.display = '';
    try {
      const r = await fetch('gameday/state', {cache: 'no-store'});
      render(await r.json());
    } catch (e) {
      $('#stampede-status').textContent = 'the run has ended (the Locust master is gone); this page reloads when the live view is back';
      $('#stampede-halt').disabled = true;
      fetch('gameday/state', {cache: 'no-store'}).then((r) => r.ok && location.reload()).catch(() => {});
    }
  }
  setInterval(tick, 1000);

  // Opened before the workers joined, Locust shows its start form and never polls again:
  // reload once the load has started, so the tabs (and this one) appear by themselves.
  if (window.templateArgs && window.templateArgs.state === 'ready') {
    const poll = setInterval(async () => {
      try {
        const s = await (await fetch('gameday/state', {cache: 'no-store'})).json();
        if (s.t !== null) { clearInterval(poll); location.reload(); }
      } catch (e) { /* not up yet */ }
    }, 1000);
  }
})();
