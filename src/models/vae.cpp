// The MusicVAE model, read top to bottom: the config and its JSON, the loss, construction, encoder, the
// teacher-forced decoders on torch's fused LSTMs, the step-by-step decoder with the gate equations written out,
// sampling, and latent interpolation.
#include "models/vae.h"

#include <cmath>
#include <set>
#include <sstream>

#include "common/error.h"

namespace cadenza::models {
namespace {

std::string describe(const torch::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream out;
  out << t.sizes() << " " << t.dtype();
  return out.str();
}

// y = x W^T + b for one step: x (B, in) -> (B, out).
torch::Tensor affine(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  return torch::addmm(bias, x, weight.t());
}

// An initial-state vector (B, 2 L H), laid out [h_0 .. h_{L-1}, c_0 .. c_{L-1}], as two (L, B, H) tensors.
std::pair<torch::Tensor, torch::Tensor> split_state(const torch::Tensor& packed, int64_t layers, int64_t hidden) {
  auto parts = packed.view({packed.size(0), 2, layers, hidden});  // (B, 2, L, H)
  return {parts.select(1, 0).transpose(0, 1).contiguous(),        // (L, B, H)
          parts.select(1, 1).transpose(0, 1).contiguous()};       // (L, B, H)
}

}  // namespace

// ---- loss ---------------------------------------------------------------------------------------------------

VaeLoss elbo_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mu,
                  const torch::Tensor& logvar, double beta, double free_bits) {
  auto fail = [&](const std::string& problem) {
    throw Error("elbo_loss: " + problem + " (logits " + describe(logits) + ", targets " + describe(targets) + ", mu " +
                describe(mu) + ", logvar " + describe(logvar) + ")");
  };
  if (!logits.defined() || logits.dim() != 3) fail("logits must be (B, T, V)");
  const bool frames = targets.defined() && targets.dim() == 3;
  if (!targets.defined() || (!frames && (targets.dim() != 2 || targets.scalar_type() != torch::kLong)) ||
      (frames && !targets.is_floating_point()))
    fail("targets must be (B, T) int64 tokens or (B, T, V) float frames");
  const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  if (targets.size(0) != B || targets.size(1) != T || (frames && targets.size(2) != V))
    fail("targets and logits differ in shape");
  if (!mu.defined() || !logvar.defined() || mu.dim() != 2 || mu.size(0) != B || mu.sizes() != logvar.sizes())
    fail("mu and logvar must both be (B, Z)");
  if (!(beta >= 0.0 && std::isfinite(beta))) fail("beta must be finite and >= 0, got " + std::to_string(beta));
  if (!(free_bits >= 0.0 && std::isfinite(free_bits)))
    fail("free_bits must be finite and >= 0, got " + std::to_string(free_bits));
  torch::Tensor reconstruction;  // (B)
  if (frames) {
    if (targets.numel() > 0 && !(targets.eq(0) | targets.eq(1)).all().item<bool>()) fail("frames must be 0 or 1");
    reconstruction = torch::nn::functional::binary_cross_entropy_with_logits(
                         logits, targets.to(logits.scalar_type()),
                         torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
                         .sum({1, 2});  // (B)
  } else {
    if (targets.numel() > 0) {
      auto [low, high] = torch::aminmax(targets);
      if (low.item<int64_t>() < 0 || high.item<int64_t>() >= V)
        fail("token ids must be in [0, " + std::to_string(V) + "), found " + std::to_string(low.item<int64_t>()) +
             ".." + std::to_string(high.item<int64_t>()));
    }
    reconstruction =
        torch::nn::functional::cross_entropy(logits.reshape({B * T, V}), targets.reshape({B * T}),
                                             torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone))
            .view({B, T})
            .sum(1);  // (B)
  }
  auto kl_per_sequence = 0.5 * (logvar.exp() + mu.square() - 1.0 - logvar).sum(1);    // (B)
  auto kl_cost = torch::clamp_min(kl_per_sequence - free_bits * std::log(2.0), 0.0);  // (B)

  VaeLoss loss;
  loss.reconstruction = reconstruction.mean();
  loss.kl = kl_per_sequence.mean();
  loss.kl_bits = loss.kl / std::log(2.0);
  loss.kl_cost = kl_cost.mean();
  loss.loss = loss.reconstruction + beta * loss.kl_cost;
  return loss;
}

torch::Tensor step_accuracy(const torch::Tensor& logits, const torch::Tensor& targets) {
  const bool frames = targets.defined() && targets.dim() == 3;
  if (!logits.defined() || logits.dim() != 3 || !targets.defined() || (targets.dim() != 2 && !frames) ||
      targets.size(0) != logits.size(0) || targets.size(1) != logits.size(1) ||
      (frames && targets.size(2) != logits.size(2)))
    throw Error("step_accuracy: logits must be (B, T, V) and targets (B, T) tokens or (B, T, V) frames, got " +
                describe(logits) + " and " + describe(targets));
  if (targets.numel() == 0) throw Error("step_accuracy: no steps");
  if (frames) return (logits.gt(0) == targets.gt(0.5)).all(2).to(torch::kFloat64).mean();
  return (logits.argmax(-1) == targets).to(torch::kFloat64).mean();
}

// ---- construction -------------------------------------------------------------------------------------------

MusicVaeImpl::MusicVaeImpl(VaeConfig config) : config_(std::move(config)) {
  config_.validate();
  const VaeConfig& c = config_;
  const bool hierarchical = c.decoder == VaeDecoderKind::kHierarchical;
  auto lstm = [&](int64_t input, int64_t hidden, int64_t layers, bool bidirectional) {
    return torch::nn::LSTM(torch::nn::LSTMOptions(input, hidden)
                               .num_layers(layers)
                               .dropout(layers > 1 ? c.dropout : 0.0)
                               .bidirectional(bidirectional)
                               .batch_first(true));
  };

  // Registration order is the order of named_parameters(), the same as the PyTorch reference's.
  if (c.input_kind == InputKind::kTokens)
    embedding = register_module("embedding", torch::nn::Embedding(c.vocab_size, c.embedding_size));
  else
    input_projection = register_module("input_projection", torch::nn::Linear(c.vocab_size, c.embedding_size));
  encoder = register_module("encoder", lstm(c.embedding_size, c.encoder_hidden, c.encoder_layers, true));
  to_latent = register_module("to_latent", torch::nn::Linear(2 * c.encoder_hidden, 2 * c.latent_size));
  int64_t decoder_condition = c.latent_size;  // what the bottom decoder is conditioned on: z, or e_k
  if (hierarchical) {
    conductor_init = register_module("conductor_init",
                                     torch::nn::Linear(c.latent_size, 2 * c.conductor_layers * c.conductor_hidden));
    conductor = register_module("conductor", lstm(c.latent_size, c.conductor_hidden, c.conductor_layers, false));
    decoder_condition = c.conductor_hidden;
  }
  decoder_init =
      register_module("decoder_init", torch::nn::Linear(decoder_condition, 2 * c.decoder_layers * c.decoder_hidden));
  decoder =
      register_module("decoder", lstm(c.embedding_size + decoder_condition, c.decoder_hidden, c.decoder_layers, false));
  head = register_module("head", torch::nn::Linear(c.decoder_hidden, c.vocab_size));

  // decode_step() works on the modules' own parameter tensors (same storage), so loading or training updates it.
  auto layer_weights = [](torch::nn::LSTM& module, int64_t layers) {
    std::vector<LstmLayerWeights> result;
    auto params = module->named_parameters(/*recurse=*/false);
    for (int64_t i = 0; i < layers; ++i) {
      const std::string suffix = "_l" + std::to_string(i);
      result.push_back({params["weight_ih" + suffix], params["weight_hh" + suffix], params["bias_ih" + suffix],
                        params["bias_hh" + suffix]});
    }
    return result;
  };
  decoder_weights_ = layer_weights(decoder, c.decoder_layers);
  if (hierarchical) conductor_weights_ = layer_weights(conductor, c.conductor_layers);
}

// ---- checks -------------------------------------------------------------------------------------------------

void MusicVaeImpl::check_input(const torch::Tensor& x, const char* who) const {
  const bool frames = config_.input_kind == InputKind::kFrames;
  auto fail = [&](const std::string& problem) {
    throw Error(std::string("music vae ") + who + ": " + problem + " (" + (frames ? "frames " : "tokens ") +
                describe(x) + ")");
  };
  const int64_t V = config_.vocab_size;
  if (frames) {
    if (!x.defined() || x.dim() != 3 || x.size(2) != V)
      fail("expects frames of shape (B, T, " + std::to_string(V) + ")");
    if (!x.is_floating_point()) fail("frames must be floating point");
    if (x.numel() == 0) fail("empty input");
    if (!(x.eq(0) | x.eq(1)).all().item<bool>()) fail("frame keys must be 0 or 1");
    return;
  }
  if (!x.defined() || x.dim() != 2) fail("expects tokens of shape (B, T)");
  if (x.scalar_type() != torch::kLong) fail("tokens must be int64");
  if (x.numel() == 0) fail("empty input");
  auto [low, high] = torch::aminmax(x);
  if (low.item<int64_t>() < 0 || high.item<int64_t>() >= V)
    fail("token ids must be in [0, " + std::to_string(V) + "), found " + std::to_string(low.item<int64_t>()) + ".." +
         std::to_string(high.item<int64_t>()));
}

void MusicVaeImpl::check_latent(const torch::Tensor& z, const char* who) const {
  if (!z.defined() || z.dim() != 2 || z.size(1) != config_.latent_size || z.size(0) == 0 || !z.is_floating_point())
    throw Error(std::string("music vae ") + who + ": expects latents of shape (B, " +
                std::to_string(config_.latent_size) + "), floating point, got " + describe(z));
}

// ---- encoder ------------------------------------------------------------------------------------------------

torch::Tensor MusicVaeImpl::embed(const torch::Tensor& x) {
  if (config_.input_kind == InputKind::kTokens) return embedding->forward(x);      // (B, T, E)
  return input_projection->forward(x.to(input_projection->weight.scalar_type()));  // (B, T, E)
}

std::pair<torch::Tensor, torch::Tensor> MusicVaeImpl::encode(const torch::Tensor& x) {
  check_input(x, "encode");
  auto embedded = embed(x);                                   // (B, T, E)
  auto [unused_outputs, state] = encoder->forward(embedded);  // h_n (2 Le, B, He): layer-major, forward then reverse
  const auto& h_n = std::get<0>(state);
  const int64_t last = 2 * (config_.encoder_layers - 1);
  auto final_states = torch::cat({h_n[last], h_n[last + 1]}, 1);  // (B, 2He)
  auto stats = to_latent->forward(final_states);                  // (B, 2Z)
  auto halves = stats.chunk(2, 1);
  return {halves[0], halves[1]};  // mu (B, Z), logvar (B, Z)
}

torch::Tensor MusicVaeImpl::reparameterize(const torch::Tensor& mu, const torch::Tensor& logvar,
                                           const torch::Tensor& epsilon) const {
  if (!mu.defined() || !logvar.defined() || mu.sizes() != logvar.sizes())
    throw Error("music vae reparameterize: mu and logvar must have the same shape, got " + describe(mu) + " and " +
                describe(logvar));
  if (epsilon.defined() && epsilon.sizes() != mu.sizes())
    throw Error("music vae reparameterize: epsilon must be shaped like mu " + describe(mu) + ", got " +
                describe(epsilon));
  auto noise = epsilon.defined() ? epsilon.to(mu.options()) : torch::randn_like(mu);
  return mu + torch::exp(0.5 * logvar) * noise;  // (B, Z)
}

// ---- teacher-forced decoding on torch's fused LSTMs ---------------------------------------------------------

torch::Tensor MusicVaeImpl::previous_step_inputs(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1);
  auto embedded = embed(x.narrow(1, 0, T - 1));                                       // (B, T-1, E)
  auto start = torch::zeros({B, 1, config_.embedding_size}, head->weight.options());  // (B, 1, E)
  return torch::cat({start, embedded}, 1);                                            // (B, T, E)
}

torch::Tensor MusicVaeImpl::decode_teacher_forced(const torch::Tensor& z, const torch::Tensor& x) {
  check_latent(z, "decode_teacher_forced");
  check_input(x, "decode_teacher_forced");
  const VaeConfig& c = config_;
  const int64_t B = x.size(0), T = x.size(1);
  if (z.size(0) != B)
    throw Error("music vae decode_teacher_forced: " + std::to_string(z.size(0)) + " latents for " + std::to_string(B) +
                " sequences");
  auto previous = previous_step_inputs(x);  // (B, T, E)

  if (c.decoder == VaeDecoderKind::kFlat) {
    auto [h0, c0] = split_state(torch::tanh(decoder_init->forward(z)), c.decoder_layers, c.decoder_hidden);
    auto inputs = torch::cat({previous, z.unsqueeze(1).expand({B, T, c.latent_size})}, 2);  // (B, T, E+Z)
    auto y = std::get<0>(decoder->forward(inputs, std::make_tuple(h0, c0)));                // (B, T, Hd)
    return head->forward(y);                                                                // (B, T, V)
  }

  const int64_t K = c.num_segments;
  if (T % K != 0)
    throw Error("music vae decode_teacher_forced: the hierarchical decoder needs T a multiple of num_segments " +
                std::to_string(K) + ", got T = " + std::to_string(T));
  const int64_t S = T / K;
  // The conductor: K steps fed z, from a state made from z. Its outputs are the segment embeddings.
  auto [ch0, cc0] = split_state(torch::tanh(conductor_init->forward(z)), c.conductor_layers, c.conductor_hidden);
  auto conductor_input = z.unsqueeze(1).expand({B, K, c.latent_size}).contiguous();             // (B, K, Z)
  auto segments = std::get<0>(conductor->forward(conductor_input, std::make_tuple(ch0, cc0)));  // (B, K, Hc)
  // The bottom decoder: every segment is an independent sequence of S steps (row b*K + k), run as one batch.
  auto e = segments.reshape({B * K, c.conductor_hidden});  // (B*K, Hc)
  auto [h0, c0] = split_state(torch::tanh(decoder_init->forward(e)), c.decoder_layers, c.decoder_hidden);
  auto inputs = torch::cat(
      {previous.reshape({B * K, S, c.embedding_size}), e.unsqueeze(1).expand({B * K, S, c.conductor_hidden})},
      2);                                                                   // (B*K, S, E+Hc)
  auto y = std::get<0>(decoder->forward(inputs, std::make_tuple(h0, c0)));  // (B*K, S, Hd)
  return head->forward(y.reshape({B, T, c.decoder_hidden}));                // (B, T, V)
}

VaeOutput MusicVaeImpl::forward(const torch::Tensor& x, const torch::Tensor& epsilon) {
  auto [mu, logvar] = encode(x);
  VaeOutput out;
  out.mu = mu;
  out.logvar = logvar;
  out.z = reparameterize(mu, logvar, epsilon);
  out.logits = decode_teacher_forced(out.z, x);
  return out;
}

// ---- step-by-step decoding: the gate equations on the same weights ------------------------------------------

torch::Tensor MusicVaeImpl::lstm_step(const std::vector<LstmLayerWeights>& layers, torch::Tensor x,
                                      std::vector<torch::Tensor>& h, std::vector<torch::Tensor>& c) {
  for (size_t i = 0; i < layers.size(); ++i) {
    const LstmLayerWeights& w = layers[i];
    const int64_t H = h[i].size(1);
    auto gates = affine(x, w.weight_ih, w.bias_ih) + affine(h[i], w.weight_hh, w.bias_hh);  // (B, 4H)
    auto input_gate = torch::sigmoid(gates.narrow(1, 0, H));                                // (B, H)
    auto forget_gate = torch::sigmoid(gates.narrow(1, H, H));                               // (B, H)
    auto cell_candidate = torch::tanh(gates.narrow(1, 2 * H, H));                           // (B, H)
    auto output_gate = torch::sigmoid(gates.narrow(1, 3 * H, H));                           // (B, H)
    c[i] = forget_gate * c[i] + input_gate * cell_candidate;                                // (B, H)
    h[i] = output_gate * torch::tanh(c[i]);                                                 // (B, H)
    x = h[i];
  }
  return x;  // (B, H) of the top layer
}

VaeDecodeState MusicVaeImpl::initial_decode_state(const torch::Tensor& z, int64_t length) {
  check_latent(z, "initial_decode_state");
  const VaeConfig& c = config_;
  if (length <= 0)
    throw Error("music vae initial_decode_state: length must be positive, got " + std::to_string(length));
  if (c.decoder == VaeDecoderKind::kHierarchical && length % c.num_segments != 0)
    throw Error(
        "music vae initial_decode_state: the hierarchical decoder needs a length that is a multiple of "
        "num_segments " +
        std::to_string(c.num_segments) + ", got " + std::to_string(length));
  torch::NoGradGuard no_grad;
  VaeDecodeState state;
  state.z = z.to(head->weight.options());
  state.length = length;
  if (c.decoder == VaeDecoderKind::kFlat) {
    auto [h0, c0] = split_state(torch::tanh(decoder_init->forward(state.z)), c.decoder_layers, c.decoder_hidden);
    state.h = h0.unbind(0);
    state.c = c0.unbind(0);
  } else {
    auto [h0, c0] = split_state(torch::tanh(conductor_init->forward(state.z)), c.conductor_layers, c.conductor_hidden);
    state.conductor_h = h0.unbind(0);
    state.conductor_c = c0.unbind(0);
  }
  return state;
}

torch::Tensor MusicVaeImpl::decode_step(const torch::Tensor& previous, VaeDecodeState& state) {
  const VaeConfig& c = config_;
  if (!state.z.defined() || state.z.dim() != 2 || state.z.size(1) != c.latent_size)
    throw Error("music vae decode_step: the state was not made by initial_decode_state()");
  const int64_t B = state.z.size(0);
  if (state.position >= state.length)
    throw Error("music vae decode_step: all " + std::to_string(state.length) + " steps of this state are decoded");
  torch::NoGradGuard no_grad;

  torch::Tensor token_input;  // (B, E)
  if (state.position == 0) {
    if (previous.defined())
      throw Error(
          "music vae decode_step: step 0 has no previous step (its input is a zero vector); pass an "
          "undefined tensor");
    token_input = torch::zeros({B, c.embedding_size}, head->weight.options());
  } else if (c.input_kind == InputKind::kFrames) {
    if (!previous.defined() || previous.dim() != 2 || previous.size(0) != B || previous.size(1) != c.vocab_size ||
        !previous.is_floating_point())
      throw Error("music vae decode_step: previous must be (" + std::to_string(B) + ", " +
                  std::to_string(c.vocab_size) + ") float frames, got " + describe(previous));
    const auto& w = input_projection->weight;
    token_input = affine(previous.to(w.options()), w, input_projection->bias);  // (B, E)
  } else {
    if (!previous.defined() || previous.dim() != 1 || previous.size(0) != B || previous.scalar_type() != torch::kLong)
      throw Error("music vae decode_step: previous must be (" + std::to_string(B) + ") int64, got " +
                  describe(previous));
    auto [low, high] = torch::aminmax(previous);
    if (low.item<int64_t>() < 0 || high.item<int64_t>() >= c.vocab_size)
      throw Error("music vae decode_step: token ids must be in [0, " + std::to_string(c.vocab_size) + "), found " +
                  std::to_string(low.item<int64_t>()) + ".." + std::to_string(high.item<int64_t>()));
    token_input = embedding->weight.index_select(0, previous.to(embedding->weight.device()));  // (B, E)
  }

  torch::Tensor condition;  // (B, Z) flat, (B, Hc) hierarchical
  if (c.decoder == VaeDecoderKind::kFlat) {
    condition = state.z;
  } else {
    const int64_t S = state.length / c.num_segments;
    if (state.position % S == 0) {  // a new segment: one conductor step, then a fresh bottom-decoder state
      state.segment_embedding = lstm_step(conductor_weights_, state.z, state.conductor_h, state.conductor_c);
      auto [h0, c0] =
          split_state(torch::tanh(decoder_init->forward(state.segment_embedding)), c.decoder_layers, c.decoder_hidden);
      state.h = h0.unbind(0);
      state.c = c0.unbind(0);
    }
    condition = state.segment_embedding;
  }
  auto top = lstm_step(decoder_weights_, torch::cat({token_input, condition}, 1), state.h, state.c);  // (B, Hd)
  ++state.position;
  return affine(top, head->weight, head->bias);  // (B, V)
}

// ---- sampling -----------------------------------------------------------------------------------------------

torch::Tensor MusicVaeImpl::decode(const torch::Tensor& z, int64_t length, const StepChooser& choose) {
  if (length <= 0) throw Error("music vae decode: length must be positive, got " + std::to_string(length));
  torch::NoGradGuard no_grad;
  auto state = initial_decode_state(z, length);
  const bool frames = config_.input_kind == InputKind::kFrames;
  std::vector<torch::Tensor> steps;
  torch::Tensor previous;
  for (int64_t t = 0; t < length; ++t) {
    auto logits = decode_step(previous, state).to(torch::kCPU, torch::kFloat64).contiguous();  // (B, V)
    if (!torch::isfinite(logits).all().item<bool>())
      throw Error("music vae decode: non-finite logits at step " + std::to_string(t));
    torch::Tensor chosen = choose(logits, t);  // tokens (B) int64 or frames (B, V) float
    const bool shape_ok = frames ? chosen.dim() == 2 && chosen.size(1) == config_.vocab_size
                                 : chosen.dim() == 1 && chosen.scalar_type() == torch::kLong;
    if (!shape_ok || chosen.size(0) != z.size(0))
      throw Error("music vae decode: the step chooser returned " + describe(chosen) + " for a " +
                  (frames ? "frames" : "tokens") + " model");
    steps.push_back(chosen);
    previous = chosen.to(head->weight.device());
  }
  return torch::stack(steps, 1).to(z.device());  // (B, T) or (B, T, V)
}

torch::Tensor MusicVaeImpl::decode_greedy(const torch::Tensor& z, int64_t length) {
  const bool frames = config_.input_kind == InputKind::kFrames;
  return decode(z, length, [frames](const torch::Tensor& logits, int64_t) {
    return frames ? logits.gt(0).to(torch::kFloat) : logits.argmax(1);  // keys above probability 0.5 | argmax
  });
}

// ---- interpolation ------------------------------------------------------------------------------------------

namespace {

void check_pair(const torch::Tensor& a, const torch::Tensor& b, const char* who) {
  if (!a.defined() || !b.defined() || a.sizes() != b.sizes() || (a.dim() != 1 && a.dim() != 2) ||
      !a.is_floating_point() || !b.is_floating_point() || a.size(-1) == 0)
    throw Error(std::string(who) + ": expects two latents of the same shape (Z) or (B, Z), got " + describe(a) +
                " and " + describe(b));
}

}  // namespace

torch::Tensor lerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  check_pair(a, b, "lerp");
  return a + (b - a) * t;
}

torch::Tensor slerp(const torch::Tensor& a, const torch::Tensor& b, double t) {
  check_pair(a, b, "slerp");
  auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
  auto norms = a64.norm(2, -1, true) * b64.norm(2, -1, true);                            // (.., 1)
  auto cosine = ((a64 * b64).sum(-1, true) / norms.clamp_min(1e-300)).clamp(-1.0, 1.0);  // (.., 1)
  auto omega = torch::acos(cosine);                                                      // (.., 1)
  auto sin_omega = torch::sin(omega);
  // Nearly (anti)parallel or a zero vector: the great circle is ill-defined (or sin(omega) ~ 0), so lerp.
  auto degenerate = (cosine.abs() > 1.0 - 1e-6) | (norms == 0.0);  // (.., 1)
  auto safe_sin = torch::where(degenerate, torch::ones_like(sin_omega), sin_omega);
  auto spherical = (torch::sin((1.0 - t) * omega) * a64 + torch::sin(t * omega) * b64) / safe_sin;
  auto linear = a64 + (b64 - a64) * t;
  return torch::where(degenerate, linear, spherical).to(a.scalar_type());
}

torch::Tensor latent_path(const torch::Tensor& a, const torch::Tensor& b, int64_t steps, bool spherical) {
  if (steps < 2) throw Error("latent_path: steps must be at least 2, got " + std::to_string(steps));
  if (!a.defined() || a.dim() != 1)
    throw Error("latent_path: expects latents of shape (Z), got " + describe(a) + " and " + describe(b));
  std::vector<torch::Tensor> points;
  for (int64_t i = 0; i < steps; ++i) {
    const double t = static_cast<double>(i) / static_cast<double>(steps - 1);
    points.push_back(spherical ? slerp(a, b, t) : lerp(a, b, t));
  }
  return torch::stack(points);  // (steps, Z)
}

}  // namespace cadenza::models
