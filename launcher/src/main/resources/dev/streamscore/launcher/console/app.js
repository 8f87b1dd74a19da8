'use strict';
// The streamscore console: hash routes, JSON from /api, live overview by server-sent events.

const pages = ['overview', 'models', 'drift', 'quality', 'runs', 'dead-letters'];
let refresh = null;
let events = null;

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

function fmt(v, digits) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (digits !== undefined) return v.toFixed(digits);
  return Math.round(v).toLocaleString('en');
}

function time(ms) {
  return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '–';
}

function problem(text) {
  const p = document.getElementById('problem');
  p.hidden = !text;
  p.textContent = text || '';
}

async function get(path) {
  const r = await fetch(path);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function rows(table, data) {
  const body = document.querySelector('#' + table + ' tbody');
  body.replaceChildren(...data.map(cells => el('tr', {}, ...cells.map(c => c instanceof Node ? el('td', {}, c) : el('td', typeof c === 'number' ? {class: 'num'} : {}, typeof c === 'number' ? fmt(c) : c)))));
}

// Overview: live by server-sent events.
function showOverview(o) {
  document.getElementById('rate').textContent = fmt(o.predictionsPerSecond);
  document.getElementById('total').textContent = fmt(o.predictions);
  document.getElementById('p50').textContent = o.latency.p50Ms === null ? '–' : fmt(o.latency.p50Ms, 2) + ' ms';
  document.getElementById('p99').textContent = o.latency.p99Ms === null ? '–' : fmt(o.latency.p99Ms, 2) + ' ms';
  const fresh = o.featureStore.freshnessSeconds;
  document.getElementById('freshness').textContent = fresh === undefined || fresh < 0 ? '–' : fmt(fresh, 1) + ' s';
  const m = o.monitor;
  document.getElementById('monitor').textContent = m.predictionsRead === undefined ? 'off' : fmt(m.predictionsRead) + ' read';
  rows('stages', Object.entries(o.stages).map(([name, s]) => [name, s.state || '?', s.restarts || 0, s.lag === undefined ? '–' : s.lag, s.reason || '']));
  const etl = [];
  for (const [engine, counts] of Object.entries(o.etl)) {
    for (const [name, v] of Object.entries(counts)) etl.push([engine, name, name === 'checkpoint_age_seconds' ? fmt(v, 1) + ' s' : v]);
  }
  rows('etl', etl);
  rows('versions', Object.entries(o.predictionsByVersion).map(([k, v]) => [k, v]));
}

function startEvents() {
  if (events) return;
  events = new EventSource('/api/events');
  const live = document.getElementById('live');
  events.addEventListener('overview', e => { live.classList.add('on'); problem(''); showOverview(JSON.parse(e.data)); });
  events.onerror = () => { live.classList.remove('on'); };
}

// Models: versions, aliases, history and what each node serves.
async function showModels() {
  const data = await get('/api/models');
  const root = document.getElementById('models');
  if (data.models.length === 0) { root.replaceChildren(el('p', {}, 'No model is registered yet: streamscore models register …')); return; }
  root.replaceChildren(...data.models.map(m => el('div', {class: 'model', 'data-model': m.name},
    el('h2', {}, m.name),
    table(['version', 'created', 'by', 'metrics', 'profile', 'sha256'], m.versions.map(v => [
      'v' + v.version, time(v.createdAtMs), v.createdBy,
      Object.entries(v.metrics).map(([k, x]) => k + ' ' + x.toFixed(3)).join(', '), v.profile || 'none', v.sha256.slice(0, 12)])),
    table(['alias', 'serves', 'revision', 'since', 'by'], m.aliases.map(a => [a.alias, a.policy, a.revision, time(a.updatedAtMs), a.updatedBy])),
    el('h3', {}, 'Alias history'),
    table(['revision', 'alias', 'from', 'to', 'at', 'by', 'reason'], m.history.map(c => [c.revision, c.alias, c.from || '–', c.to, time(c.atMs), c.by, c.reason])),
    el('h3', {}, 'Nodes'),
    table(['node', 'alias', 'serving', 'state', 'why a swap was refused', 'reported'], m.nodes.map(n => [n.node, n.alias, n.serving.map(v => 'v' + v).join(', '), n.state, n.error, time(n.reportedAtMs)])))));
}

function table(head, data) {
  return el('table', {}, el('thead', {}, el('tr', {}, ...head.map(h => el('th', {}, h)))),
    el('tbody', {}, ...data.map(r => el('tr', {}, ...r.map(c => el('td', typeof c === 'number' ? {class: 'num'} : {}, c))))));
}

async function modelOptions(selectId) {
  const select = document.getElementById(selectId);
  if (select.options.length > 0) return select.value;
  const data = await get('/api/models');
  select.replaceChildren(...data.models.map(m => el('option', {value: m.name}, m.name)));
  return select.value;
}

// Drift: per column, reference and live shares side by side.
async function showDrift() {
  const model = await modelOptions('drift-model');
  if (!model) return;
  const data = await get('/api/drift?model=' + encodeURIComponent(model));
  const windowSelect = document.getElementById('drift-window');
  const windows = [...new Set(data.columns.map(c => c.window))];
  if (windowSelect.options.length !== windows.length) windowSelect.replaceChildren(...windows.map(w => el('option', {value: w}, w)));
  const columns = data.columns.filter(c => c.window === windowSelect.value);
  rows('drift', columns.map(c => {
    const alert = c.psi !== null && c.psi > data.psiAlert && c.rows >= data.minRows;
    return ['v' + c.version, c.role, c.column, c.rows, fmt(c.psi, 4), fmt(c.ks, 4), fmt(c.js, 4),
      c.defaultedRatio === null ? '–' : (100 * c.defaultedRatio).toFixed(1) + '%', el('span', {class: alert ? 'drift' : ''}, alert ? 'DRIFT' : '')];
  }));
  document.getElementById('histograms').replaceChildren(...columns.map(c => histogram(c)));
}

function shares(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map(c => total === 0 ? 0 : c / total);
}

// Two series per bin: shares of their counts, or (raw) values in [0, 1] as they are.
function histogram(c, raw, names) {
  const ref = raw ? c.reference : shares(c.reference), live = raw ? c.live : shares(c.live);
  const w = 260, h = 90, n = ref.length, bar = w / n / 2.2;
  const max = raw ? 1 : Math.max(...ref, ...live, 1e-9);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', w); svg.setAttribute('height', h);
  for (let i = 0; i < n; i++) {
    for (const [k, share, color] of [[0, ref[i], '#9aa7bd'], [1, live[i], '#5aa0ff']]) {
      const r = document.createElementNS(ns, 'rect');
      const bh = share / max * (h - 4);
      r.setAttribute('x', i * w / n + k * bar); r.setAttribute('y', h - bh);
      r.setAttribute('width', bar); r.setAttribute('height', bh); r.setAttribute('fill', color);
      svg.append(r);
    }
  }
  return el('div', {class: 'histogram'}, el('h3', {}, 'v' + c.version + ' ' + c.column + ' (' + c.kind + ')'), svg,
    el('div', {class: 'legend'}, el('span', {style: 'background:#9aa7bd'}), (names || ['reference'])[0], el('span', {style: 'background:#5aa0ff'}), (names || [0, 'live'])[1]));
}

// Quality: per version and window, with calibration.
async function showQuality() {
  const model = await modelOptions('quality-model');
  if (!model) return;
  const data = await get('/api/quality?model=' + encodeURIComponent(model));
  rows('quality', data.versions.map(v => ['v' + v.version, v.window, v.labelled, v.positives, fmt(v.auc, 3), fmt(v.referenceAuc, 3), fmt(v.logLoss, 3), fmt(v.precision, 3), fmt(v.recall, 3), fmt(v.calibrationError, 3)]));
  document.getElementById('calibration').replaceChildren(...data.versions.filter(v => v.labelled > 0).map(v => {
    const c = {version: v.version, column: 'calibration ' + v.window, kind: '10 score bins',
      reference: v.binPredicted.map(x => x === null ? 0 : x), live: v.binObserved.map(x => x === null ? 0 : x)};
    return histogram(c, true, ['mean score', 'share positive']);
  }));
}

// Runs: every training run, and the ticked ones side by side.
const comparing = new Set();

async function showRuns() {
  const data = await get('/api/runs');
  for (const id of [...comparing]) if (!data.runs.some(r => r.id === id)) comparing.delete(id);
  rows('runs', data.runs.map(r => {
    const box = el('input', {type: 'checkbox', 'data-run': r.id});
    box.checked = comparing.has(r.id);
    box.addEventListener('change', () => {
      if (box.checked) comparing.add(r.id); else comparing.delete(r.id);
      showComparison().catch(e => problem(e.message));
    });
    const m = r.metrics;
    return [box, r.id, r.model, r.algorithm, Object.entries(r.parameters).map(([k, v]) => k + '=' + v).join(' '),
      fmt(m.heldout_auc, 4) + (m.heldout_auc_se === undefined ? '' : ' ± ' + fmt(1.96 * m.heldout_auc_se, 3)),
      fmt(m.baseline_heldout_auc, 4), fmt(m.heldout_pr_auc, 4), r.rows, fmt(r.labelRate, 4), time(r.recordedAtMs),
      fmt(r.durationMs / 1000, 1) + ' s', r.by, r.versions.map(v => 'v' + v).join(', ') || '–'];
  }));
  await showComparison();
}

async function showComparison() {
  const pane = document.getElementById('runs-compare');
  const ids = [...comparing];
  pane.hidden = ids.length < 2;
  if (ids.length < 2) return;
  const data = await get('/api/runs/compare?ids=' + ids.map(encodeURIComponent).join(','));
  const table = document.getElementById('runs-comparison');
  table.querySelector('thead').replaceChildren(el('tr', {}, el('th', {}, ''), ...data.runs.map(id => el('th', {}, id))));
  table.querySelector('tbody').replaceChildren(...data.rows.map(r => el('tr', {}, el('th', {}, r[0]), ...r.slice(1).map(c => el('td', {}, c)))));
}

// Dead letters: counts by reason, the latest letters of one, and a redrive of one.
let browsing = null; // {source, stage, reason} whose letters are listed
let opened = null; // the letter in the detail pane

function button(text, onClick, attrs) {
  const b = el('button', Object.assign({type: 'button'}, attrs || {}), text);
  b.addEventListener('click', onClick);
  return b;
}

async function showDeadLetters() {
  const data = await get('/api/dead-letters');
  document.getElementById('dl-read').textContent = fmt(data.read) + (data.caughtUp ? '' : ' …');
  document.getElementById('dl-redriven').textContent = fmt(data.redrives.length);
  rows('dl-counts', data.counts.map(c => [c.source, c.stage, c.reason, c.count, time(c.lastRejectedAtMs),
    button('browse', () => { browsing = c; showSamples().catch(e => problem(e.message)); }, {'data-reason': c.reason, 'data-source': c.source})]));
  rows('dl-redrives', data.redrives.map(r => [time(r.atMs), r.letter, r.reason, r.target, r.corrected ? 'corrected' : 'as it was', r.by]));
  if (browsing) await showSamples();
}

async function showSamples() {
  const q = 'source=' + encodeURIComponent(browsing.source) + '&stage=' + encodeURIComponent(browsing.stage) + '&reason=' + encodeURIComponent(browsing.reason);
  const data = await get('/api/dead-letters/samples?' + q);
  document.getElementById('dl-browser').hidden = false;
  document.getElementById('dl-title').textContent = 'Latest ' + browsing.reason + ' letters of ' + browsing.source + ' (' + browsing.stage + ')';
  rows('dl-samples', data.letters.map(l => [l.partition + '/' + l.offset, time(l.rejectedAtMs), l.field || '–', l.message, l.valueSize,
    l.redrive ? l.redrive.target : '', button('open', () => openLetter(l), {'data-letter': l.partition + '/' + l.offset})]));
}

function openLetter(l) {
  opened = l;
  document.getElementById('dl-detail').hidden = false;
  document.getElementById('dl-letter').textContent = 'events.dlq ' + l.partition + '/' + l.offset;
  document.getElementById('dl-why').textContent = l.message + ' (from ' + l.sourceTopic + (l.sourcePartition >= 0 ? ' ' + l.sourcePartition + '/' + l.sourceOffset : '') + ')';
  const value = document.getElementById('dl-value');
  const notes = [];
  if (l.value === null) notes.push('The original is not UTF-8 text; shown in base64. Redrive it as it was, or type a corrected value.');
  if (l.truncated) notes.push('Only the first ' + fmt(l.value === null ? 0 : l.value.length) + ' bytes of ' + fmt(l.valueSize) + ' were kept: it can be redriven corrected only.');
  if (l.redrive) notes.push('Already redriven to ' + l.redrive.target + ' at ' + time(l.redrive.atMs) + '.');
  document.getElementById('dl-note').textContent = notes.join(' ');
  value.value = l.value === null ? l.valueBase64 : l.value;
  document.getElementById('dl-redrive-asis').disabled = l.truncated || !!l.redrive;
  document.getElementById('dl-redrive-corrected').disabled = !!l.redrive;
  const result = document.getElementById('dl-result');
  result.textContent = '';
  result.className = '';
}

async function redrive(mode) {
  const l = opened;
  const result = document.getElementById('dl-result');
  const r = await fetch('/api/dead-letters/redrive?partition=' + l.partition + '&offset=' + l.offset + '&mode=' + mode, {
    method: 'POST', headers: {'X-Streamscore-Action': 'redrive', 'Content-Type': 'text/plain; charset=utf-8'},
    body: mode === 'corrected' ? document.getElementById('dl-value').value : ''});
  const body = await r.json();
  if (r.ok) {
    result.textContent = 'sent to ' + body.target + (body.corrected ? ' (corrected)' : ' (as it was)');
    result.className = 'ok';
    document.getElementById('dl-redrive-asis').disabled = true;
    document.getElementById('dl-redrive-corrected').disabled = true;
    await showDeadLetters();
  } else {
    result.textContent = 'refused: ' + (body.error || r.statusText);
    result.className = 'refused';
  }
}

const show = {overview: async () => {}, models: showModels, drift: showDrift, quality: showQuality, runs: showRuns, 'dead-letters': showDeadLetters};

async function route() {
  const page = pages.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'overview';
  for (const p of pages) document.getElementById('page-' + p).hidden = p !== page;
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
  clearInterval(refresh);
  const load = async () => {
    try { await show[page](); if (page !== 'overview') problem(''); } catch (e) { problem(page + ': ' + e.message); }
  };
  await load();
  if (page !== 'overview') refresh = setInterval(load, 5000);
}

document.getElementById('dl-redrive-asis').addEventListener('click', () => redrive('as-is').catch(e => problem(e.message)));
document.getElementById('dl-redrive-corrected').addEventListener('click', () => redrive('corrected').catch(e => problem(e.message)));
document.getElementById('drift-window').addEventListener('change', () => showDrift().catch(e => problem(e.message)));
window.addEventListener('hashchange', route);
startEvents();
route();
