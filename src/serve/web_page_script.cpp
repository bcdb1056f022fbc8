// The script of the page at / (web_page.hpp). Read top to bottom: the API
// (key, errors), the shading and the legend, the policy picker, the streamed
// generation, the training curves, then the wiring. Model and server text
// reaches the DOM through textContent and setAttribute only.
#include "serve/web_page.hpp"

namespace prealign {

namespace {

const char* const kScript = R"JS(
'use strict';
const $ = (id) => document.getElementById(id);
const KEY_STORE = 'prealign.apiKey';
const page = { tags: new Map(), policies: new Map(), controller: null };

// ---- the API ---------------------------------------------------------------

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('key').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

// The server's error message of a failed response, said plainly.
async function errorMessage(res) {
  let message = '';
  try {
    const j = await res.json();
    if (j && j.error) message = j.error.message + (j.error.param ? ' (field: ' + j.error.param + ')' : '');
  } catch (e) { /* not JSON */ }
  if (res.status === 401)
    return 'HTTP 401: this server needs an API key (it runs with --api-key): enter it in the "API key" field above.' +
           (message ? '\nThe server says: ' + message : '');
  return 'HTTP ' + res.status + (message ? ': ' + message : '');
}

// fetch's own failures (server down, connection cut) are TypeErrors.
function failureText(e) {
  if (e instanceof TypeError) return 'network error: ' + e.message + ' (is the server still running?)';
  return e && e.message ? e.message : String(e);
}

async function getJson(path) {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw new Error(await errorMessage(res));
  return res.json();
}

function showError(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}

function setStatus(state, text) {
  $('status').dataset.state = state;
  $('status').textContent = text;
}

// ---- shading: a log scale, so 0.001, 0.01, 0.1 and 0.5 look different -------

const FLOOR = 1e-4;  // below it a token is not shaded
function shade(t) {
  if (!(t > FLOOR)) return 'transparent';
  const f = Math.min(1, Math.log10(t / FLOOR) / 4);
  return 'rgba(214, 39, 40, ' + (0.1 + 0.7 * f).toFixed(3) + ')';
}

function number(p) {
  return p >= 1e-3 || p === 0 ? p.toFixed(4) : p.toExponential(2);
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function buildLegend() {
  const legend = $('legend');
  legend.append(element('span', '', 'temptation:'));
  const scale = element('span', 'scale');
  for (const t of [1e-4, 1e-3, 0.01, 0.1, 0.5, 1]) {
    const swatch = element('span', '', t < 1e-3 ? '\u2264' + t : String(t));
    swatch.style.backgroundColor = shade(t);
    scale.append(swatch);
  }
  legend.append(scale, element('span', '', '(log scale)'));
  const flag = element('span', 'tok flagged', 'tok');
  const rule = element('span', 'tok ruled', 'tok');
  const tag = element('span', 'tok tag', '<tag>');
  for (const [sample, what] of [[flag, 'a temptation flag fired'], [rule, 'a policy rule fired'], [tag, 'a tag']]) {
    const item = element('span', 'mono');
    item.append(sample, ' ' + what);
    legend.append(item);
  }
}

// ---- the policy picker ------------------------------------------------------

const pretty = (policy) => JSON.stringify(policy, null, 2);

function option(select, value, label) {
  const o = element('option', '', label);
  o.value = value;
  select.append(o);
  return o;
}

async function loadPolicies() {
  const info = await getJson('/v1/prealign/policy');
  page.tags = new Map(info.tags.map((t) => [t.id, t.name]));
  page.policies = new Map([['', info.policy]]);
  const pick = $('policy-pick');
  pick.replaceChildren();
  option(pick, '', 'this deployment\'s: ' + info.name + (info.locked ? ' (locked)' : ''));
  for (const s of info.shipped) {
    const o = option(pick, s.name, s.name + (s.usable ? '' : ' (refused here)'));
    o.disabled = !s.usable;
    o.title = s.problem || '';
    if (s.policy) page.policies.set(s.name, s.policy);
  }
  pick.value = '';
  showPolicy();
}

function showPolicy() {
  const policy = page.policies.get($('policy-pick').value);
  $('policy-json').value = policy === undefined ? '' : pretty(policy);
  notePolicy();
}

// Unchanged: the request names the policy (or sends none for the deployment's);
// edited: it sends the JSON.
function requestedPolicy() {
  const name = $('policy-pick').value, text = $('policy-json').value.trim();
  const original = page.policies.get(name);
  if (text === '' || (original !== undefined && text === pretty(original))) return name === '' ? undefined : name;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error('the policy JSON does not parse: ' + e.message);
  }
}

function notePolicy() {
  let note;
  try {
    const p = requestedPolicy();
    note = p === undefined ? 'requests use the deployment\'s policy'
         : typeof p === 'string' ? 'requests name the shipped policy "' + p + '"'
         : 'edited: requests send this JSON as their policy';
  } catch (e) {
    note = e.message;
  }
  $('policy-note').textContent = note;
}

// ---- generation, streamed -------------------------------------------------

function requestBody() {
  const body = {
    prompt: $('prompt').value,
    max_tokens: Number($('max-tokens').value),
    temperature: Number($('temperature').value),
    top_p: Number($('top-p').value),
    stream: true,
  };
  if ($('seed').value !== '') body.seed = Number($('seed').value);
  const policy = requestedPolicy();
  if (policy !== undefined) body.policy = policy;
  return body;
}

function setRunning(running) {
  $('go').disabled = running;
  $('stop').disabled = !running;
}

// Calls onData with the data of each server-sent event as it arrives.
async function readEvents(stream, onData) {
  const reader = stream.getReader(), decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
    for (let m = buffer.match(/\r?\n\r?\n/); m; m = buffer.match(/\r?\n\r?\n/)) {
      const event = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      const data = event.split(/\r?\n/).filter((l) => l.startsWith('data:'))
                        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data) onData(data);
    }
    if (done) return;
  }
}

function tagName(id) {
  return page.tags.get(id) || '<tag ' + id + '>';
}

// A rule record of a token ({"rule", "action"}), said in one line.
const ruleText = (r) => (r.rule || '?') + ' \u2192 ' + (r.action || '?');

function describe(t, index) {
  const lines = ['token ' + index + ' \u00b7 id ' + t.id + (t.tag ? ' \u00b7 the tag ' + tagName(t.id) : ''),
                 'state: ' + t.state,
                 'temptation (raw probability of the tags banned here): ' + number(t.temptation_total)];
  const per = Object.entries(t.temptation || {}).sort((a, b) => b[1] - a[1]);
  for (const [tag, p] of per) lines.push('  ' + tag + ': ' + number(p));
  if (per.length === 0) lines.push('  (no tag is banned in this state)');
  if (t.flags && t.flags.length) lines.push('flags fired: ' + t.flags.join(', '));
  for (const r of Array.isArray(t.rules) ? t.rules : []) lines.push('rule fired: ' + ruleText(r));
  return lines.join('\n');
}

const MAX_EVENTS = 200;
function logEvent(run, text) {
  if (++run.events <= MAX_EVENTS) $('events').append(element('li', '', text));
  else if (run.events === MAX_EVENTS + 1) $('events').append(element('li', '', '\u2026 (more not listed)'));
}

function addToken(run, text, t) {
  const index = run.tokens++;
  if (t.tag && text) $('out').append(element('span', 'tok', text));  // text completed just before a tag
  const span = element('span', 'tok' + (t.tag ? ' tag' : ''), t.tag ? tagName(t.id) : text);
  span.style.backgroundColor = shade(t.temptation_total);
  span.title = describe(t, index);
  span.dataset.index = index;
  const shown = JSON.stringify(span.textContent);
  if (t.flags && t.flags.length) {
    span.classList.add('flagged');
    run.flags += t.flags.length;
    logEvent(run, 'token ' + index + ' ' + shown + ': flag ' + t.flags.join(', ') + ' (temptation ' +
                  number(t.temptation_total) + ')');
  }
  if (Array.isArray(t.rules) && t.rules.length) {
    span.classList.add('ruled');
    run.rules += t.rules.length;
    for (const r of t.rules) logEvent(run, 'token ' + index + ' ' + shown + ': rule ' + ruleText(r));
  }
  $('out').append(span);
}

function onEvent(run, data) {
  if (data === '[DONE]') {
    run.done = true;
    return;
  }
  const j = JSON.parse(data);
  if (j.error) {
    run.error = 'the server ended the stream with an error: ' + j.error.message;
    return;
  }
  const c = j.choices && j.choices[0];
  if (!c) return;
  const token = c.prealign && c.prealign.token;
  if (token) addToken(run, c.text || '', token);
  else if (c.text) $('out').append(element('span', 'tok', c.text));  // text held back until final
  if (c.finish_reason) run.final = c;
  setStatus('running', 'generating\u2026 ' + run.tokens + ' tokens');
}

function summary(run) {
  const c = run.final;
  if (!c) return run.tokens + ' tokens (no final event)';
  const p = c.prealign || {};
  return run.tokens + ' tokens \u00b7 finish_reason ' + c.finish_reason + ' (' + p.finish_reason +
         (p.stopped_by ? ', stopped by the rule ' + p.stopped_by : '') + ') \u00b7 max temptation ' +
         number(p.max_temptation || 0) + ' \u00b7 mean ' + number(p.mean_temptation || 0) + ' \u00b7 flags ' +
         run.flags + (run.rules ? ' \u00b7 rules fired ' + run.rules : '');
}

async function generate() {
  showError('');
  let body;
  try {
    body = requestBody();
  } catch (e) {
    showError(e.message);
    return;
  }
  $('out').replaceChildren(element('span', 'prompt', body.prompt));
  $('events').replaceChildren();
  const run = { tokens: 0, flags: 0, rules: 0, events: 0, final: null, error: '', done: false };
  page.controller = new AbortController();
  setRunning(true);
  setStatus('running', 'generating\u2026');
  try {
    const res = await fetch('/v1/completions', { method: 'POST', headers: headers(), body: JSON.stringify(body),
                                                 signal: page.controller.signal });
    if (!res.ok) throw new Error(await errorMessage(res));
    await readEvents(res.body, (data) => onEvent(run, data));
    if (run.error) throw new Error(run.error);
    if (!run.done) throw new Error('the stream ended before "data: [DONE]": the connection was lost');
    setStatus('done', summary(run));
  } catch (e) {
    if (e.name === 'AbortError') {
      setStatus('stopped', 'stopped after ' + run.tokens + ' tokens');
    } else {
      showError(failureText(e));
      setStatus('error', 'failed after ' + run.tokens + ' tokens');
    }
  } finally {
    page.controller = null;
    setRunning(false);
  }
}

// ---- training curves (the run's metrics.jsonl) -----------------------------

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// About n round values covering [lo, hi].
function ticks(lo, hi, n) {
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function drawCurves(m) {
  const plot = $('curves');
  plot.replaceChildren();
  const series = [{ name: 'train loss', points: m.train.points, color: '#1f77b4' },
                  { name: 'held-out loss', points: m.eval.points, color: '#e4572e', dots: true }]
                 .filter((s) => s.points.length);
  if (!series.length) {
    $('curves-note').textContent = 'the run\'s metrics.jsonl has no loss records yet';
    return;
  }
  const all = series.flatMap((s) => s.points);
  let [x0, x1] = [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  const pad = (y1 - y0) * 0.05 || 0.5;
  [y0, y1] = [y0 - pad, y1 + pad];
  const W = 640, H = 240, L = 48, R = 12, T = 10, B = 34;
  const X = (s) => L + (s - x0) / (x1 - x0) * (W - L - R), Y = (v) => T + (1 - (v - y0) / (y1 - y0)) * (H - T - B);
  for (const v of ticks(y0, y1, 5)) {
    plot.append(svg('line', { class: 'grid', x1: L, x2: W - R, y1: Y(v), y2: Y(v) }));
    plot.append(svg('text', { x: L - 5, y: Y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  for (const s of ticks(x0, x1, 6))
    plot.append(svg('text', { x: X(s), y: H - B + 15, 'text-anchor': 'middle' }, String(s)));
  plot.append(svg('line', { class: 'axis', x1: L, x2: L, y1: T, y2: H - B }));
  plot.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  plot.append(svg('text', { x: (L + W - R) / 2, y: H - 4, 'text-anchor': 'middle' }, 'step'));
  series.forEach((s, i) => {
    const d = s.points.map((p, k) => (k ? 'L' : 'M') + X(p[0]).toFixed(1) + ' ' + Y(p[1]).toFixed(1)).join(' ');
    plot.append(svg('path', { class: 'curve', d: d, stroke: s.color }));
    if (s.dots && s.points.length <= 200)
      for (const p of s.points) plot.append(svg('circle', { cx: X(p[0]), cy: Y(p[1]), r: 2.5, fill: s.color }));
    plot.append(svg('line', { x1: W - R - 120, x2: W - R - 100, y1: T + 8 + 16 * i, y2: T + 8 + 16 * i,
                              stroke: s.color, 'stroke-width': 2 }));
    plot.append(svg('text', { x: W - R - 95, y: T + 12 + 16 * i }, s.name));
  });
  const strided = (c) => c.stride > 1 ? ' (every ' + c.stride + 'th plotted)' : '';
  $('curves-note').textContent = m.train.count + ' training steps' + strided(m.train) + ', ' +
      m.eval.count + ' held-out evaluations' + strided(m.eval) +
      (m.skipped_bytes ? '; the log\'s first ' + m.skipped_bytes + ' bytes were not read (too large)' : '');
}

async function loadCurves() {
  try {
    const m = await getJson('/v1/prealign/metrics');
    if (m.available) return drawCurves(m);
    $('curves').replaceChildren();
    $('curves-note').textContent = 'no training curves: ' + m.reason;
  } catch (e) {
    $('curves-note').textContent = 'no training curves: ' + failureText(e);
  }
}

// ---- wiring -----------------------------------------------------------------

async function loadPanels() {
  showError('');
  try {
    await loadPolicies();
  } catch (e) {
    showError(failureText(e));
  }
  await loadCurves();
}

$('key').value = sessionStorage.getItem(KEY_STORE) || '';
$('key').addEventListener('change', () => {
  const key = $('key').value.trim();
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
  loadPanels();
});
$('go').addEventListener('click', generate);
$('stop').addEventListener('click', () => page.controller && page.controller.abort());
$('prompt').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && !$('go').disabled) generate();
});
$('show-tags').addEventListener('change', () => $('out').classList.toggle('hide-tags', !$('show-tags').checked));
$('policy-pick').addEventListener('change', showPolicy);
$('policy-json').addEventListener('input', notePolicy);
$('curves-reload').addEventListener('click', loadCurves);
buildLegend();
loadPanels();
)JS";

}  // namespace

const char* web_page_script() { return kScript; }

}  // namespace prealign
