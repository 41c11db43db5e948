// The configuration of an autoregressive model (rnn | lstm | gru | transformer, and any family registered with the
// autoregressive kind): everything needed to rebuild it, stored in checkpoints as JSON. libtorch-free.
//
// The keys, their types and ranges are one field list (model_config_fields()), which reads and writes the JSON and
// tells `cadenza train --set` and `--print-config` what exists. "family" names the registered family
// (src/families/registry.cpp); which families exist is the registry's business, not this file's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/options.h"

namespace cadenza::models {

enum class InputKind { kTokens, kFrames };
std::string input_kind_name(InputKind kind);  // "tokens" | "frames"

struct ModelConfig {
  std::string family = "lstm";
  InputKind input_kind = InputKind::kTokens;
  int64_t vocab_size = 0;      // V: tokens (kTokens) or keys per frame (kFrames)
  int64_t embedding_size = 0;  // token embedding width (0 = same as hidden_size)
  int64_t hidden_size = 256;   // C
  int64_t num_layers = 2;      // L
  double dropout = 0.0;
  bool residual = false;  // recurrent: add each layer's input to its output when shapes allow
  // Transformer only
  int64_t num_heads = 4;         // H
  int64_t feedforward_size = 0;  // 0 = 4 * hidden_size
  int64_t max_sequence_length = 2048;
  bool relative_attention = true;     // Music Transformer relative positions (skewing); false = learned absolute
  int64_t max_relative_distance = 0;  // 0 = max_sequence_length
  // Step context (token models; encoding.h StepContext): what the model reads beside each token about the next.
  // -1 (the presets' value) = as the data allows, resolved by the trainer from the shard's encoding.
  int64_t context_positions = 0;  // > 0: a bar-position embedding of this many positions (the encoding's count)
  // 1..4: embeddings of the tokens 1, 2, 4 and 8 bars before the next token (the first context_lookback of those
  // lags). 3 and 4 reach a repeated 4- or 8-bar phrase: the tokens the tune is most likely to restate.
  int64_t context_lookback = 0;
  // true: embeddings of the tune's METER and KEY tokens (encoding.h StepContext: the header the grammar has read)
  // added at every step, so the model knows the key and the meter in a window that starts mid-tune (a training crop
  // without the header, the end of a tune). Needs an encoding with a header (melody structure). Absent in older
  // checkpoints = false.
  bool context_header = false;
  // true: embeddings of the next token's bar number (encoding.h StepContext bar) as the bar within its 8-bar phrase
  // and the phrase's number (8 each, capped), added at every step: where the tune is in its form (a Nottingham tune
  // is 4 phrases of 8 bars), so that it can restate a phrase and end where tunes end. Needs bar positions (melody
  // structure). Absent in older checkpoints = false.
  bool context_phrase = false;
  // true: an embedding of the bars left in the tune (encoding.h bars_left_value: 1 in the last bar, 0 where END comes
  // next, "further" past 9, "unknown"), added at every step, so that a tune of a planned length ends there (it does;
  // landing on the tonic is not assured, docs/baselines.md). Training reads each tune's own length (a share of rows
  // reads "unknown": train bars_left_unknown_share); generation reads the length asked for (--bars), "unknown"
  // without one; evaluation reads "unknown", so its NLL is that of a model told no length. Needs bar positions and
  // tune ends (melody structure). Absent in older checkpoints = false.
  bool context_bars_left = false;
  // Recurrent only (Magenta's attention_rnn): > 0: at each step, additive attention over the last attention_length
  // outputs of the top layer, added to the output before the head (recurrent.h). 0 = off; absent in checkpoints
  // written before it existed, which therefore load unchanged.
  int64_t attention_length = 0;
  // true: the chord under the next token (12 pitch-class bits, data/shard.h ShardChords) is mapped linearly to the
  // input width and added (sequence_model.h). Needs a shard prepared with --chords-track. Absent in older
  // checkpoints = false.
  bool chord_conditioning = false;
  // true: the piece's style (data/shard.h ShardStyles), a vector of weights over style_names (one-hot in training, a
  // mixture summing to 1 for blends), is mapped linearly to the input width and added (sequence_model.h). Needs a
  // shard prepared with --style-from / --style; the trainer fills style_names from it. Absent in older checkpoints =
  // false, no names.
  bool style_conditioning = false;
  std::vector<std::string> style_names;  // sorted and distinct; the style vector's order

  nlohmann::json to_json() const;
  // Absent keys take the defaults; throws cadenza::Error naming the key on an unknown key, a wrong type, a value out
  // of range, or a model too large for this machine's memory.
  static ModelConfig from_json(const nlohmann::json& json);
  void validate() const;  // the checks from_json makes beyond each key's range (vocab_size set, memory)
  // An upper estimate of the parameter count of any autoregressive backbone with these sizes (for the memory check).
  double approximate_parameters() const;
};

const OptionFields<ModelConfig>& model_config_fields();

}  // namespace cadenza::models
