# The torch-free sources the fuzz targets reach: readers and parsers of
# everything a user sends or feeds. Both builds use this list: the clang
# build-fuzz (libFuzzer, ASan + UBSan; scripts/fuzz.sh) and the main build's
# replay tests, which run every committed input through the same code.
# The task verifiers (tasks/verifier.hpp) without the generators that need a corpus.
set(PREALIGN_FUZZ_TASKS_SOURCES
  src/tasks/task.cpp src/tasks/answer.cpp src/tasks/verifier.cpp src/tasks/system_rules.cpp
  src/tasks/arithmetic.cpp src/tasks/string_transform.cpp src/tasks/python_function.cpp src/tasks/python_sandbox.cpp)
set(PREALIGN_FUZZ_SOURCES
  src/core/error.cpp src/core/files.cpp src/core/json_io.cpp src/core/lines.cpp src/core/paths.cpp
  src/core/progress.cpp src/core/subprocess.cpp src/core/utf8.cpp
  src/tokenizer/tagset.cpp src/tokenizer/band_tags.cpp src/tokenizer/tokenizer.cpp src/tokenizer/spm_backend.cpp
  src/corpus/document.cpp src/corpus/reader.cpp src/corpus/markup.cpp src/corpus/lint.cpp
  src/data/shard.cpp src/data/tokenize.cpp
  src/decode/policy.cpp src/decode/policy_rules.cpp src/decode/policy_compare.cpp
  src/decode/rule_engine.cpp src/decode/sampler.cpp src/decode/temptation.cpp
  src/serve/openai_request.cpp src/serve/request_policy.cpp
  src/model/safetensors_header.cpp
  ${PREALIGN_FUZZ_TASKS_SOURCES})
list(TRANSFORM PREALIGN_FUZZ_SOURCES PREPEND ${CMAKE_SOURCE_DIR}/)

# One file per target: fuzz/<target>.cpp defines LLVMFuzzerTestOneInput.
set(PREALIGN_FUZZ_TARGETS corpus_record markup policy_json openai_request safetensors_header shard_header task_record)
