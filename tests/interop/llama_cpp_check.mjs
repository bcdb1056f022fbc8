// Loads a GGUF file in llama.cpp through node-llama-cpp and reports what the
// GGUF test (test_gguf_llama_cpp.cpp) compares with prealign: greedy decoding
// from given token ids with every next-token distribution, llama.cpp's own
// tokenization of some texts, and the attributes of some tokens.
//   node llama_cpp_check.mjs NODE_LLAMA_CPP_DIR REQUEST.json > RESULT.json
// REQUEST: {model, threads, texts: [str], inspect: [id],
//           runs: [{context: [id], max_tokens, ban: [id]}]}
import {readFileSync} from "node:fs";
import {pathToFileURL} from "node:url";

const [installDir, requestPath] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestPath, "utf8"));
const {getLlama, LlamaLogLevel, TokenBias} =
  await import(pathToFileURL(`${installDir}/node_modules/node-llama-cpp/dist/index.js`).href);

// The prebuilt CPU binary only: never build llama.cpp, never touch a GPU.
const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath: request.model, gpuLayers: 0});
const vocabSize = model.fileInfo.metadata.llama.vocab_size;
const trainContext = model.trainContextSize;

// F32 KV cache and no flash attention: llama.cpp's defaults round through F16.
const context = await model.createContext({
  contextSize: trainContext, sequences: 1, threads: request.threads ?? 1, flashAttention: false,
  experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
});
const sequence = context.getSequence();

const runs = [];
for (const run of request.runs) {
  await sequence.clearHistory();
  const bias = new TokenBias(model.tokenizer);
  for (const id of run.ban ?? []) bias.set(id, "never");
  const tokens = [], probs = [];
  const steps = sequence.evaluateWithMetadata(run.context, {probabilities: true},
                                              {temperature: 0, tokenBias: bias});
  for await (const out of steps) {
    const dense = new Array(vocabSize).fill(0);
    for (const [id, p] of out.probabilities) dense[id] = p;
    tokens.push(out.token);
    probs.push(dense);
    if (out.token === model.tokens.eos || tokens.length >= run.max_tokens) break;
  }
  runs.push({tokens, probs});
}

const attributes = {};
for (const id of request.inspect ?? []) {
  const a = model.getTokenAttributes(id);
  attributes[id] = {control: a.control, normal: a.normal, byte: a.byte, unknown: a.unknown,
                    userDefined: a.userDefined, text: model.detokenize([id], false),
                    specialText: model.detokenize([id], true)};
}

const meta = model.fileInfo.metadata;
const result = {
  vocab_size: vocabSize,
  train_context: trainContext,
  bos: model.tokens.bos, eos: model.tokens.eos,
  prealign: meta.prealign ?? null,
  add_space_prefix: meta.tokenizer?.ggml?.add_space_prefix ?? null,
  tokenized: (request.texts ?? []).map((t) => model.tokenize(t, false)),
  tokenized_special: (request.texts ?? []).map((t) => model.tokenize(t, true)),
  attributes,
  runs,
};
process.stdout.write(JSON.stringify(result) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
