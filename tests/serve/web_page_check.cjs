// The page at / of `prealign serve`, in headless Chromium driven by
// playwright-core (run by test_web_page_browser.cpp, and by
// scripts/page_screenshot.sh for the README's picture). Environment:
//   PLAYWRIGHT_PACKAGE  the playwright-core package folder
//   BASE_URL            the server, e.g. http://127.0.0.1:8080
//   API_KEY             the server's --api-key ("" when it has none)
//   CHROMIUM            the browser (default /usr/bin/chromium, Debian's)
//   PROMPT, SEED, MAX_TOKENS   the generation checked (a flag must fire: see FLAG_THRESHOLD)
//   FLAG_THRESHOLD      the temptation "flag" rule the edited policy adds (default 0: any temptation)
//   EXPECT_CURVES       1: the run has a metrics.jsonl, so the plot must have a curve
//   SCREENSHOT          where to save a picture of the page after the generation ("" = none)
// Prints "ok <check>" or "FAIL <check>: <why>" per check and exits 1 on any failure.
'use strict';
const { chromium } = require(process.env.PLAYWRIGHT_PACKAGE);

const BASE = process.env.BASE_URL;
const KEY = process.env.API_KEY || '';
const PROMPT = process.env.PROMPT || 'def parse(path):\n    ';
const SEED = Number(process.env.SEED || 3);
const MAX_TOKENS = Number(process.env.MAX_TOKENS || 48);
const THRESHOLD = Number(process.env.FLAG_THRESHOLD || 0);

let failures = 0, checks = 0;
function check(name, ok, why) {
  checks++;
  if (ok) {
    console.log(`ok ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}: ${why}`);
  }
}

const sse = (events) => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');
const status = (page) => page.$eval('#status', (s) => ({ state: s.dataset.state, text: s.textContent }));
const notice = (page) => page.$eval('#notice', (n) => (n.hidden ? '' : n.textContent));
const buttons = (page) => page.evaluate(() => ({ go: document.getElementById('go').disabled,
                                                 stop: document.getElementById('stop').disabled }));

async function clickAndSettle(page) {
  await page.click('#go');
  await page.waitForFunction(() => ['done', 'error', 'stopped'].includes(document.getElementById('status').dataset.state),
                             null, { timeout: 60000 });
}

// Without a key a keyed server answers 401: the page says to enter it; with it, the picker fills.
async function apiKey(page) {
  if (KEY) {
    await page.waitForFunction(() => !document.getElementById('notice').hidden, null, { timeout: 10000 });
    const text = await notice(page);
    check('without the key the page says a key is needed', /401/.test(text) && /API key/.test(text), text);
    await page.fill('#key', KEY);
    await page.dispatchEvent('#key', 'change');
    const stored = await page.evaluate(() => [sessionStorage.getItem('prealign.apiKey'), localStorage.length]);
    check('the key is kept in sessionStorage only', stored[0] === KEY && stored[1] === 0, JSON.stringify(stored));
  }
  await page.waitForFunction(() => document.querySelectorAll('#policy-pick option').length > 1, null,
                             { timeout: 10000 });
  const options = await page.$$eval('#policy-pick option', (os) => os.map((o) => o.value));
  check('the picker offers the deployment\'s policy and the shipped ones',
        options[0] === '' && options.includes('none'), JSON.stringify(options));
  check('no error is left once the key is given', (await notice(page)) === '', await notice(page));
}

// Failures end the run with a message and give the button back.
async function failurePaths(page) {
  await page.fill('#max-tokens', String(MAX_TOKENS));
  await page.route('**/v1/completions', (route) => route.abort('connectionfailed'));
  await clickAndSettle(page);
  let s = await status(page), b = await buttons(page), n = await notice(page);
  check('a network failure is an error, and Generate comes back', s.state === 'error' && /network error/.test(n) &&
        !b.go && b.stop, `${JSON.stringify(s)} ${JSON.stringify(b)} ${n}`);
  await page.unroute('**/v1/completions');

  await page.route('**/v1/completions', () => {});  // never answered
  await page.click('#go');
  await page.waitForFunction(() => document.getElementById('go').disabled, null, { timeout: 5000 });
  b = await buttons(page);
  check('while a request runs Generate is disabled and Stop enabled', b.go && !b.stop, JSON.stringify(b));
  await page.click('#stop');
  await page.waitForFunction(() => document.getElementById('status').dataset.state === 'stopped', null,
                             { timeout: 5000 });
  b = await buttons(page);
  check('Stop aborts the request and gives Generate back', !b.go && b.stop, JSON.stringify(b));
  await page.unroute('**/v1/completions');

  const token = { id: 7, tag: false, state: 'good', temptation: { '<|bad|>': 0.2 }, temptation_total: 0.2, flags: [],
                  rules: [{ rule: 'ban-after-bad', action: 'banned <|bad|>' }] };
  const chunk = (text, t) => ({ choices: [{ index: 0, text, finish_reason: null, prealign: { token: t } }] });
  const fake = (body) => page.route('**/v1/completions', (route) =>
    route.fulfill({ status: 200, contentType: 'text/event-stream', body }));
  await fake(sse([chunk('<b>bold</b>', token), chunk(' x', { ...token, rules: [] }),
                  { choices: [{ index: 0, text: '', finish_reason: 'stop', prealign: { finish_reason: 'eos', stopped_by: '',
                                                                                         max_temptation: 0.2,
                                                                                         mean_temptation: 0.2, flags: 0 } }] },
                  '[DONE]']));
  await clickAndSettle(page);
  const fakeOut = await page.evaluate(() => ({
    bold: document.querySelectorAll('#out b').length,
    text: document.getElementById('out').textContent,
    ruled: document.querySelectorAll('#out .ruled').length,
    marker: getComputedStyle(document.querySelector('#out .ruled'), '::after').content,
    title: document.querySelector('#out .ruled').title,
  }));
  s = await status(page);
  check('model text is shown as text, never as HTML', fakeOut.bold === 0 && fakeOut.text.includes('<b>bold</b>'),
        JSON.stringify(fakeOut));
  check('a policy rule that fired ("rules") is marked inline and in the tooltip',
        fakeOut.ruled === 1 && fakeOut.marker !== 'none' && /ban-after-bad/.test(fakeOut.title), JSON.stringify(fakeOut));
  check('the finish reason is shown', s.state === 'done' && /finish_reason stop \(eos\)/.test(s.text), JSON.stringify(s));
  await page.unroute('**/v1/completions');

  await fake(sse([chunk('a', token), { error: { message: 'generation failed: out of memory', type: 'server_error' } },
                  '[DONE]']));
  await clickAndSettle(page);
  s = await status(page);
  n = await notice(page);
  check('an error event in the stream is shown', s.state === 'error' && /out of memory/.test(n), `${s.state} ${n}`);
  await page.unroute('**/v1/completions');
  await fake(sse([chunk('a', token)]));  // cut before [DONE]
  await clickAndSettle(page);
  n = await notice(page);
  check('a stream cut short is an error', (await status(page)).state === 'error' && /DONE/.test(n), n);
  await page.unroute('**/v1/completions');

  // The server's own refusal: a policy naming a tag the model does not have.
  await page.fill('#policy-json', JSON.stringify({ initial_state: 's', states: { s: { allow: { '<nope>': 's' } } } }));
  await clickAndSettle(page);
  n = await notice(page);
  check('a 400 shows the server\'s message', /HTTP 400/.test(n) && /policy/.test(n) && /<nope>/.test(n), n);
  await page.fill('#policy-json', '{');
  await page.click('#go');
  n = await notice(page);
  check('a policy that does not parse is said so before sending', /does not parse/.test(n), n);
}

// The real thing: the deployment's policy edited to flag any temptation above THRESHOLD.
async function generation(page) {
  await page.selectOption('#policy-pick', '');
  await page.dispatchEvent('#policy-pick', 'change');  // back to the deployment's JSON, unedited
  const policy = JSON.parse(await page.inputValue('#policy-json'));
  policy.temptation = [{ tag: 'total', threshold: THRESHOLD, action: 'flag' }];
  await page.fill('#policy-json', JSON.stringify(policy, null, 2));
  await page.fill('#prompt', PROMPT);
  await page.fill('#seed', String(SEED));
  await page.fill('#max-tokens', String(MAX_TOKENS));
  // At each token added: was Generate disabled and Stop enabled?
  await page.evaluate(() => {
    window.duringRun = [];
    window.runObserver = new MutationObserver(() => window.duringRun.push(document.getElementById('go').disabled &&
                                                                          !document.getElementById('stop').disabled));
    window.runObserver.observe(document.getElementById('out'), { childList: true });
  });
  const sent = page.waitForRequest('**/v1/completions');
  await clickAndSettle(page);
  const request = (await sent).postDataJSON();
  const s = await status(page);
  check('the generation finishes', s.state === 'done', `${JSON.stringify(s)} ${await notice(page)}`);
  check('the request streams and sends the edited policy', request.stream === true &&
        JSON.stringify(request.policy) === JSON.stringify(policy), JSON.stringify(request));

  const seen = await page.evaluate(() => {
    window.runObserver.disconnect();
    const out = document.getElementById('out');
    const toks = [...out.querySelectorAll('.tok')];
    const text = toks.filter((t) => !t.classList.contains('tag')).map((t) => t.textContent).join('');
    const flagged = out.querySelector('.flagged');
    // A tag badge beside text of as many characters: same font, same size, same width.
    const probe = document.createElement('span');
    probe.className = 'tok tag';
    probe.textContent = '<|good|>';
    const plain = document.createElement('span');
    plain.textContent = 'abcdefgh';
    out.append(probe, plain);
    const a = getComputedStyle(probe), b = getComputedStyle(plain);
    const fonts = { tag: [a.fontSize, a.fontFamily, probe.getBoundingClientRect().width],
                    text: [b.fontSize, b.fontFamily, plain.getBoundingClientRect().width] };
    probe.remove();
    plain.remove();
    return {
      prompt: out.querySelector('.prompt') ? out.querySelector('.prompt').textContent : null,
      promptColor: out.querySelector('.prompt') ? getComputedStyle(out.querySelector('.prompt')).color : '',
      tokens: toks.filter((t) => t.dataset.index !== undefined).length,
      shaded: toks.filter((t) => !['rgba(0, 0, 0, 0)', 'transparent'].includes(getComputedStyle(t).backgroundColor)).length,
      text,
      flagged: out.querySelectorAll('.flagged').length,
      marker: flagged ? getComputedStyle(flagged, '::before').content : 'none',
      firstTitle: toks.length ? toks.find((t) => t.dataset.index === '0').title : '',
      fonts,
      during: window.duringRun,
      go: document.getElementById('go').disabled,
      stop: document.getElementById('stop').disabled,
      legend: document.querySelectorAll('#legend .scale span').length,
    };
  });
  check('the prompt is shown, dimmed, before the generated text',
        seen.prompt === PROMPT && seen.promptColor !== 'rgb(0, 0, 0)', `${JSON.stringify(seen.prompt)} ${seen.promptColor}`);
  check('tokens are shaded by temptation', seen.tokens > 0 && seen.shaded > 0, `${seen.shaded} of ${seen.tokens}`);
  check('a fired flag is marked inline', seen.flagged > 0 && seen.marker !== 'none', `${seen.flagged} ${seen.marker}`);
  check('the shading has a legend', seen.legend >= 5, `${seen.legend} swatches`);
  check('tags keep the text\'s font, size and width', JSON.stringify(seen.fonts.tag) === JSON.stringify(seen.fonts.text),
        JSON.stringify(seen.fonts));
  check('Generate was disabled while tokens arrived, and is back after',
        seen.during.length > 0 && seen.during.every(Boolean) && !seen.go && seen.stop,
        `${JSON.stringify(seen.during)} go disabled ${seen.go}`);

  // The same request unstreamed (same seed): the same text, and the tooltips say what its tokens say.
  const headers = { 'Content-Type': 'application/json' };
  if (KEY) headers.Authorization = `Bearer ${KEY}`;
  const res = await fetch(`${BASE}/v1/completions`, { method: 'POST', headers,
                                                      body: JSON.stringify({ ...request, stream: false }) });
  const whole = await res.json();
  const c = whole.choices && whole.choices[0];
  check('the streamed text is the unstreamed text for the same seed', c && c.text === seen.text,
        `${JSON.stringify(seen.text)} vs ${JSON.stringify(c && c.text)}`);
  if (c) {
    const first = c.prealign.tokens[0];
    const banned = Object.keys(first.temptation);
    check('hovering a token shows its state and each banned tag\'s raw probability',
          seen.firstTitle.includes(`state: ${first.state}`) && banned.length > 0 &&
          banned.every((tag) => seen.firstTitle.includes(`${tag}: `)), `${JSON.stringify(seen.firstTitle)} ${banned}`);
    check('the run\'s flags match the server\'s', seen.flagged === c.prealign.tokens.filter((t) => t.flags.length).length,
          `${seen.flagged} marked, ${c.prealign.flags} flags`);
  }
}

async function curves(page) {
  const plot = await page.evaluate(() => ({
    paths: [...document.querySelectorAll('#curves path.curve')].map((p) => p.getAttribute('d').length),
    note: document.getElementById('curves-note').textContent,
  }));
  if (process.env.EXPECT_CURVES === '1')
    check('the training curves are plotted', plot.paths.length > 0 && plot.paths.every((n) => n > 10), JSON.stringify(plot));
  else check('without metrics the page says there are no curves', /no training curves/.test(plot.note), plot.note);
}

(async () => {
  const launch = { executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
                   args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [] };
  const browser = await chromium.launch(launch);
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${BASE}/`);
    check('the page loads', /prealign/.test(await page.title()), await page.title());
    for (const part of [apiKey, failurePaths, generation, curves]) {
      try {
        await part(page);
      } catch (e) {
        check(part.name, false, `threw ${e.constructor.name}: ${e.message}`);
      }
    }
    check('no script error on the page', errors.length === 0, errors.join('; '));
    if (process.env.SCREENSHOT) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
      console.log(`screenshot ${process.env.SCREENSHOT}`);
    }
  } finally {
    await browser.close();
  }
  console.log(`${checks} checks, ${failures} failed`);
  process.exit(failures ? 1 : 0);
})().catch((e) => {
  console.log(`FAIL the browser: ${e.message}`);
  process.exit(1);
});
