// One llama.cpp decode measurement for bench/llama_cpp_decode.sh: loads a GGUF
// file through node-llama-cpp, builds the context prealign's generate builds
// (BOS, the start tags from the prealign.policy.start_tags key, the prompt
// tokenized without special-token parsing), decodes N tokens greedily in B
// sequences at once (one llama_decode per step for all of them), and prints
// {"tok_s": ...} counting the tokens after each sequence's first (the prefill
// stays outside the timed part, as in the shell script's prealign timing).
//   node llama_cpp_decode.mjs NODE_LLAMA_CPP_DIR MODEL.gguf PROMPT N B THREADS
import {pathToFileURL} from "node:url";

const [installDir, modelPath, prompt, nText, bText, threadsText] = process.argv.slice(2);
const n = Number(nText), b = Number(bText), threads = Number(threadsText);
const {getLlama, LlamaLogLevel} =
  await import(pathToFileURL(`${installDir}/node_modules/node-llama-cpp/dist/index.js`).href);

const llama = await getLlama({gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error,
                              maxThreads: threads});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const policy = model.fileInfo.metadata.prealign?.policy ?? {};
if ((policy.start_position ?? "before_prompt") !== "before_prompt")
  throw new Error("this bench puts the start tags before the prompt");
const context = [model.tokens.bos, ...(policy.start_tags ?? []).flatMap((t) => model.tokenize(t, true)),
                 ...model.tokenize(prompt, false)];
// llama.cpp's defaults otherwise (KV cache type, flash attention): what its users get.
const ctx = await model.createContext({contextSize: b * (context.length + n + 8), sequences: b, threads});

const firstAt = [], lastAt = [];
async function decode(sequence, i) {
  let produced = 0;
  // Greedy, and EOS is not special: each sequence runs to n tokens (the prealign
  // side's bench policy forbids EOS for the same reason).
  for await (const token of sequence.evaluate(context, {temperature: 0})) {
    if (++produced === 1) firstAt[i] = performance.now();
    if (produced === n) break;
  }
  lastAt[i] = performance.now();
}
await Promise.all(Array.from({length: b}, (_, i) => decode(ctx.getSequence(), i)));
const seconds = (Math.max(...lastAt) - Math.max(...firstAt)) / 1000;
process.stdout.write(JSON.stringify({tok_s: (b * (n - 1)) / seconds, seconds, context: context.length}) + "\n");
await ctx.dispose();
await model.dispose();
await llama.dispose();
