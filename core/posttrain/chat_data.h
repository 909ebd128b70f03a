// Post-training data that is not tensors yet (torch-free): chat JSONL for SFT, TRL-style
// preference JSONL for reward models and DPO, their tokenization with the chat template, and
// SFT packing.
//
// Chat JSONL, one conversation per line:
//   {"messages": [{"role": "system|user|assistant|tool", "content": "..."}, ...]}
// Preference JSONL (TRL), one pair per line, any of:
//   {"prompt": "text", "chosen": "text", "rejected": "text"}                       standard
//   {"prompt": [messages], "chosen": [messages], "rejected": [messages]}           conversational
//   {"chosen": [whole conversation], "rejected": [whole conversation]}             implicit prompt
//                                         (the prompt is the longest common prefix of messages)
// A string prompt with message-list answers becomes one user message. Other keys are ignored.
// Malformed lines are skipped and reported as "file:line: field '...' ..." (strict: the first
// one is an error).
//
// Tokenization renders the messages with the chat template and encodes it in segments cut at
// the assistant spans (tok::render_with_spans), so every token is either inside an assistant
// turn (content + end marker: what the loss is computed on) or outside it, never both. The
// text before the first reply is therefore encoded exactly as a generation prompt is.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/json.h"
#include "base/status.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace kanana::posttrain {

// ---- reading -------------------------------------------------------------------------

struct ReadOptions {
  bool strict = false;   // the first malformed line is an error instead of a reported skip
};

struct ChatExample {
  std::vector<tok::ChatMessage> messages;
  std::string origin;    // "file:line"
};

struct PreferencePair {
  // Conversational: prompt messages and the reply messages (starting with an assistant turn).
  // Standard (all three strings): conversational = false and the texts below.
  bool conversational = true;
  std::vector<tok::ChatMessage> prompt, chosen, rejected;
  std::string prompt_text, chosen_text, rejected_text;
  std::string origin;    // "file:line"
};

template <typename T>
struct JsonlData {
  std::vector<T> items;
  std::vector<std::string> problems;  // one per skipped line, "file:line: ..."
  uint64_t lines = 0;                 // non-empty lines read
};

Result<JsonlData<ChatExample>> read_chat_jsonl(const std::filesystem::path& file, const ReadOptions& options = {});
Result<JsonlData<PreferencePair>> read_preference_jsonl(const std::filesystem::path& file,
                                                        const ReadOptions& options = {});
// One line's object (origin = "file:line"): the parsers behind the readers.
Result<ChatExample> parse_chat_example(const Json& line, const std::string& origin);
Result<PreferencePair> parse_preference_pair(const Json& line, const std::string& origin);

// Prompts for sampling (online DPO): lines with "prompt" (string or messages) or "messages"
// (a trailing assistant turn is dropped, the rest is the prompt).
Result<JsonlData<ChatExample>> read_prompt_jsonl(const std::filesystem::path& file, const ReadOptions& options = {});

// ---- tokenization --------------------------------------------------------------------

// How text becomes tokens: a chat template, or "raw" (TRL's standard format for base models:
// prompt encoded with BOS, the answer appended with EOS, no template).
struct TextFormat {
  bool raw = false;
  tok::ChatTemplateKind chat = tok::ChatTemplateKind::kChatMl;
};

struct TokenizedChat {
  std::vector<int32_t> ids;
  std::vector<uint8_t> assistant;                    // per token: 1 inside an assistant turn
  std::vector<std::pair<size_t, size_t>> turns;      // [begin, end) token range of each assistant turn
};

// The whole conversation without a generation prompt.
Result<TokenizedChat> tokenize_chat(const tok::Tokenizer& tokenizer, tok::ChatTemplateKind kind,
                                    const std::vector<tok::ChatMessage>& messages);

// A prompt and one reply: prompt ids (what a generation prompt encodes to) and reply ids,
// with a mask over the reply (0 on tool turns between assistant turns). The reply ends with
// the end-of-turn marker (chat) or EOS (raw).
struct PromptReply {
  std::vector<int32_t> prompt;
  std::vector<int32_t> reply;
  std::vector<uint8_t> reply_mask;
};
Result<PromptReply> tokenize_prompt_reply(const tok::Tokenizer& tokenizer, const TextFormat& format,
                                          const std::vector<tok::ChatMessage>& prompt,
                                          const std::vector<tok::ChatMessage>& reply);
Result<PromptReply> tokenize_prompt_reply_text(const tok::Tokenizer& tokenizer, const std::string& prompt,
                                               const std::string& reply);
// The generation prompt alone (chat: rendered with add_generation_prompt; raw: BOS + text).
Result<std::vector<int32_t>> tokenize_prompt(const tok::Tokenizer& tokenizer, const TextFormat& format,
                                             const std::vector<tok::ChatMessage>& prompt);

// A preference pair for DPO / reward training: one prompt, two replies, each reply cut to fit
// `max_length` tokens with the prompt, the prompt left-truncated to `max_prompt_length` first
// when the pair does not fit (TRL's rule).
struct TokenizedPair {
  std::vector<int32_t> prompt;
  PromptReply chosen, rejected;  // prompt fields unused (shared above)
  bool truncated = false;
};
Result<TokenizedPair> tokenize_pair(const tok::Tokenizer& tokenizer, const TextFormat& format,
                                    const PreferencePair& pair, int64_t max_length, int64_t max_prompt_length);

// ---- SFT rows ------------------------------------------------------------------------

// One conversation as a training sequence: input ids and, per position, the id to predict
// there (the next token when that token is in an assistant turn) or -100.
struct SftSequence {
  std::vector<int32_t> input;
  std::vector<int32_t> labels;
  int64_t targets() const;  // labels != -100
};
// Cut to `seq_len` positions (truncated = true when the conversation was longer).
SftSequence make_sft_sequence(const TokenizedChat& chat, int64_t seq_len, bool* truncated = nullptr);

// Rows of seq_len positions. Packing puts several conversations in one row (first-fit
// decreasing by length); each conversation keeps its own positions 0, 1, 2 ... (RoPE sees
// every conversation as starting a sequence) and no label crosses a boundary. Attention is
// causal over the whole row, so a later conversation can attend to an earlier one in the
// same row (the model's forward takes no block-diagonal mask); segment ids make it visible.
// Without packing each conversation is its own row. Padding: input pad_id, label -100,
// segment -1.
struct SftRows {
  int64_t seq_len = 0;
  int64_t rows = 0;
  std::vector<int32_t> input, labels, positions, segments;  // rows × seq_len each
  std::vector<int64_t> targets;                             // per row: labels != -100
};
SftRows pack_sft_sequences(const std::vector<SftSequence>& sequences, int64_t seq_len, bool packing, int32_t pad_id);

// ---- shared helpers ------------------------------------------------------------------

// Deterministic permutation of 0..n-1 for (seed, epoch): the same on every platform.
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed, uint64_t epoch);

// Splits items into train/validation by a hash of their position and seed (val_fraction of
// them, at least one when there are two or more items and val_fraction > 0).
std::vector<uint8_t> validation_split(size_t n, double val_fraction, uint64_t seed);

// The id a padding position gets: the tokenizer's pad, else EOS, else 0.
int32_t padding_id(const tok::Tokenizer& tokenizer);

}  // namespace kanana::posttrain
