#!/usr/bin/python3
"""What transformers' (slow) LlamaTokenizer gives for texts, for prealign's export tests.

There is no transformers package here, so this follows its documented logic
(tokenization_llama.py LlamaTokenizer.__init__/tokenize/_tokenize/
build_inputs_with_special_tokens and tokenization_utils.py
PreTrainedTokenizer.tokenize with its added-token Trie), configured only by the
files of the exported directory: tokenizer_config.json (add_bos_token,
add_eos_token, legacy, add_prefix_space, added_tokens_decoder),
special_tokens_map.json and tokenizer.model through Debian's
python3-sentencepiece. It shares no code with prealign.

Only the "legacy": true path is implemented: it is what prealign's export writes
(the non-legacy path rewrites the SentencePiece proto, which needs protobuf) and
the script refuses a directory that asks for the other one.

usage: hf_llama_tokenizer.py MODEL_DIR TEXTS_JSON OUT_JSON
  TEXTS_JSON  a JSON list of strings
  OUT_JSON    written: a JSON list, per text the input_ids of tokenizer(text)
"""
import json
import os
import sys

import sentencepiece as spm

SPIECE_UNDERLINE = "\u2581"


def content(token):
    return token["content"] if isinstance(token, dict) else token


class LlamaTokenizer:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "tokenizer_config.json")) as f:
            cfg = json.load(f)
        with open(os.path.join(model_dir, "special_tokens_map.json")) as f:
            special_map = json.load(f)
        assert cfg["tokenizer_class"] == "LlamaTokenizer", cfg["tokenizer_class"]
        # LlamaTokenizer.__init__: legacy None means True (with a warning).
        self.legacy = True if cfg.get("legacy") is None else cfg["legacy"]
        if not self.legacy:
            raise SystemExit("legacy=false needs the protobuf rewrite of the model; not implemented here")
        self.add_prefix_space = cfg.get("add_prefix_space", True)
        self.add_bos_token = cfg.get("add_bos_token", True)
        self.add_eos_token = cfg.get("add_eos_token", False)
        self.sp_model = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))
        # Added tokens: the decoder's entries, then the special tokens by name.
        self.added_tokens_encoder = {}
        for i, tok in cfg.get("added_tokens_decoder", {}).items():
            self.added_tokens_encoder[content(tok)] = int(i)
            assert not tok.get("lstrip") and not tok.get("rstrip") and not tok.get("single_word"), tok
        for key in ("bos_token", "eos_token", "unk_token", "pad_token"):
            if cfg.get(key) is not None:
                assert content(cfg[key]) in self.added_tokens_encoder, key
                assert content(special_map[key]) == content(cfg[key]), key
        extra = [content(t) for t in special_map.get("additional_special_tokens", [])]
        assert extra == [content(t) for t in cfg.get("additional_special_tokens", [])], "the two files disagree"
        for t in extra:
            assert t in self.added_tokens_encoder, t
        self.bos_token_id = self.added_tokens_encoder[content(cfg["bos_token"])]
        self.eos_token_id = self.added_tokens_encoder[content(cfg["eos_token"])]
        self.unk_token = content(cfg["unk_token"])

    def split_on_added_tokens(self, text):
        # Trie.split: leftmost match, the longest one starting there.
        tokens = sorted(self.added_tokens_encoder, key=len, reverse=True)
        out, start, i = [], 0, 0
        while i < len(text):
            match = next((t for t in tokens if text.startswith(t, i)), None)
            if match is None:
                i += 1
                continue
            out.append(text[start:i])
            out.append(match)
            i += len(match)
            start = i
        out.append(text[start:])
        return out

    def _tokenize(self, text):
        if self.legacy or not text.startswith((SPIECE_UNDERLINE, " ")):
            return self.sp_model.encode(text, out_type=str)
        tokens = self.sp_model.encode(self.unk_token + text, out_type=str)
        unk_token_length = len(self.sp_model.encode(str(self.unk_token)))
        return tokens[unk_token_length:] if len(tokens) >= unk_token_length else tokens

    def tokenize(self, text):
        # LlamaTokenizer.tokenize: legacy (or empty text) goes to PreTrainedTokenizer.tokenize.
        assert self.legacy or len(text) == 0
        tokenized = []
        for chunk in self.split_on_added_tokens(text):
            if not chunk:
                continue
            if chunk in self.added_tokens_encoder:
                tokenized.append(chunk)
            else:
                tokenized.extend(self._tokenize(chunk))
        return tokenized

    def convert_tokens_to_ids(self, tokens):
        return [self.added_tokens_encoder[t] if t in self.added_tokens_encoder else self.sp_model.piece_to_id(t)
                for t in tokens]

    def __call__(self, text):
        ids = self.convert_tokens_to_ids(self.tokenize(text))
        # build_inputs_with_special_tokens
        bos = [self.bos_token_id] if self.add_bos_token else []
        eos = [self.eos_token_id] if self.add_eos_token else []
        return bos + ids + eos


def main():
    model_dir, texts_path, out_path = sys.argv[1:4]
    tokenizer = LlamaTokenizer(model_dir)
    with open(texts_path) as f:
        texts = json.load(f)
    with open(out_path, "w") as f:
        json.dump([tokenizer(t) for t in texts], f)


if __name__ == "__main__":
    main()
