// The official `openai` npm client against `prealign serve`, run by
// test_openai_client.cpp. Environment: OPENAI_PACKAGE (the package's folder),
// BASE_URL, API_KEY, BIAS_TOKEN (a text token id), AI_TAG (the <AI> tag's id).
// Prints "ok <check>" or "FAIL <check>: <why>" per check and exits 1 on any failure.
'use strict';
const OpenAI = require(process.env.OPENAI_PACKAGE);

const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0 });
let failures = 0;
function check(name, ok, why) {
  if (ok) {
    console.log(`ok ${name}`);
  } else {
    failures++;
    console.log(`FAIL ${name}: ${why}`);
  }
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// logprobs.tokens join to the text and text_offset counts the characters before each token.
function describesText(text, lp) {
  let joined = '';
  for (let i = 0; i < lp.tokens.length; i++) {
    if (lp.text_offset[i] !== Array.from(joined).length) return `text_offset[${i}] = ${lp.text_offset[i]}`;
    joined += lp.tokens[i];
  }
  return joined === text ? '' : `tokens join to ${JSON.stringify(joined)}, text is ${JSON.stringify(text)}`;
}

async function streamedTexts(stream, field) {
  const texts = [];
  let usage = null, events = 0, usageLast = false;
  for await (const chunk of stream) {
    events++;
    usageLast = chunk.choices.length === 0 && chunk.usage != null;
    if (usageLast) usage = chunk.usage;
    for (const c of chunk.choices) texts[c.index] = (texts[c.index] || '') + (field(c) || '');
  }
  return { texts, usage, events, usageLast };
}

async function completions() {
  const params = { model: 'any', prompt: 'The user asks', max_tokens: 24, n: 2, seed: 7, stop: ['\n\n', 'zz'],
                   logprobs: 2 };
  const whole = await client.completions.create(params);
  check('completions: n choices', whole.choices.length === 2, `${whole.choices.length} choices`);
  for (const c of whole.choices) {
    const why = describesText(c.text, c.logprobs);
    check(`completions: logprobs describe choice ${c.index}'s text`, why === '', why);
    // 2 alternatives per token (1 when both render alike: a dict keeps one)
    check(`completions: top_logprobs of choice ${c.index}`,
          c.logprobs.top_logprobs.length === c.logprobs.tokens.length &&
          c.logprobs.top_logprobs.every((t) => [1, 2].includes(Object.keys(t).length) &&
                                               Object.values(t).every((v) => v <= 0)),
          JSON.stringify(c.logprobs.top_logprobs));
  }
  const streamed = await streamedTexts(
      await client.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }),
      (c) => c.text);
  check('completions: streamed text = non-streamed text (same seed)',
        same(streamed.texts, whole.choices.map((c) => c.text)), `${JSON.stringify(streamed.texts)}`);
  check('completions: include_usage sends the usage last', streamed.usageLast && same(streamed.usage, whole.usage),
        `${JSON.stringify(streamed.usage)} vs ${JSON.stringify(whole.usage)}`);
}

async function chat() {
  const params = { model: 'any', messages: [{ role: 'system', content: 'Be brief.' },
                                            { role: 'user', content: [{ type: 'text', text: 'hello' }] }],
                   max_tokens: 20, n: 2, seed: 11, stop: 'zz', logprobs: true, top_logprobs: 3 };
  const whole = await client.chat.completions.create(params);
  const contents = whole.choices.map((c) => c.message.content);
  check('chat: n choices', whole.choices.length === 2, `${whole.choices.length} choices`);
  for (const c of whole.choices) {
    const joined = c.logprobs.content.map((t) => t.token).join('');
    check(`chat: logprobs join to choice ${c.index}'s content`, joined === c.message.content,
          `${JSON.stringify(joined)} vs ${JSON.stringify(c.message.content)}`);
    check(`chat: top_logprobs of choice ${c.index}`, c.logprobs.content.every((t) => t.top_logprobs.length === 3),
          'not 3 alternatives everywhere');
  }
  const streamed = await streamedTexts(
      await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }),
      (c) => c.delta.content);
  check('chat: streamed content = non-streamed content (same seed)', same(streamed.texts, contents),
        `${JSON.stringify(streamed.texts)} vs ${JSON.stringify(contents)}`);
  check('chat: include_usage sends the usage last', streamed.usageLast && same(streamed.usage, whole.usage),
        JSON.stringify(streamed.usage));
  // The helper that accumulates a stream: it needs delta.role in each choice's first chunk.
  const runner = client.chat.completions.stream(params);
  const final = await runner.finalChatCompletion();
  check('chat: stream(...).finalChatCompletion()', same(final.choices.map((c) => c.message.content), contents) &&
        final.choices.every((c) => c.message.role === 'assistant'), JSON.stringify(final.choices.map((c) => c.message)));
  check('chat: finalChatCompletion keeps the logprobs',
        final.choices.every((c, i) => same(c.logprobs.content.map((t) => t.logprob),
                                           whole.choices[i].logprobs.content.map((t) => t.logprob))),
        'logprobs differ');
}

async function control() {
  const base = { model: 'any', prompt: 'The user asks', max_tokens: 8, seed: 3 };
  // Fields outside OpenAI's types go in the body as they are (the client's extra body).
  const favourite = Number(process.env.BIAS_TOKEN);
  const biased = await client.completions.create({ ...base, logit_bias: { [favourite]: 100 } });
  const ids = biased.choices[0].prealign.tokens.map((t) => t.id);
  check('logit_bias is applied', ids.length > 0 && ids.every((id) => id === favourite), JSON.stringify(ids));
  const stopped = await client.completions.create({ ...base,
      temptation: [{ tag: 'total', threshold: 0, action: 'stop' }] });
  check('temptation thresholds are applied', stopped.choices[0].finish_reason === 'content_filter',
        stopped.choices[0].finish_reason);
  const named = await client.completions.create({ ...base, policy: 'ai_mode' });
  check('a policy by name (as strict as the locked deployment)',
        named.choices[0].prealign.context_ids.includes(Number(process.env.AI_TAG)), 'no <AI> in the context');
  try {
    await client.completions.create({ ...base, policy: 'none' });
    check('a looser policy is refused under --lock-policy', false, 'accepted');
  } catch (e) {
    check('a looser policy is refused under --lock-policy', e.status === 403 && e.param === 'policy',
          `${e.status} ${e.message}`);
  }
  try {
    await client.completions.create({ ...base, tools: [] });
    check('an unimplemented field is refused by name', false, 'accepted');
  } catch (e) {
    check('an unimplemented field is refused by name', e.status === 400 && e.param === 'tools', `${e.status} ${e.message}`);
  }
  const wrong = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: 'not-the-key', maxRetries: 0 });
  try {
    await wrong.completions.create(base);
    check('a wrong key gets 401', false, 'accepted');
  } catch (e) {
    check('a wrong key gets 401', e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key',
          `${e.constructor.name} ${e.status} ${e.message}`);
  }
}

(async () => {
  for (const part of [completions, chat, control]) {
    try {
      await part();
    } catch (e) {
      check(part.name, false, `threw ${e.constructor.name}: ${e.message}`);
    }
  }
  process.exit(failures ? 1 : 0);
})();
