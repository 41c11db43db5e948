// The NADE head, read top to bottom: construction, teacher-forced scoring (vectorised over keys), ancestral sampling,
// the frame-mean loss, the hybrids' shared interface, and the config reader both hybrids' configs use.
#include "models/nade.h"

#include <cmath>
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

bool all_binary(const torch::Tensor& frames) {
  return (frames.eq(0) | frames.eq(1)).all().item<bool>();
}

// The teacher-forced decoder terms of every key, d_i = w_dec[i] . h_i with h_i = sigmoid(b_enc + sum_{j < i} v_j
// w_enc[j]), as one autograd node with a hand-written backward. The (N, K, U) tensors are the largest of the training
// path: autograd through the plain expression makes several more of them in the backward pass (cumsum's backward
// alone flips twice) than this backward's two, and the head's forward + backward takes about 30% less time for it
// (docs/nade.md). The forward keeps only h. Not twice differentiable.
class NadeDecoderTerms : public torch::autograd::Function<NadeDecoderTerms> {
 public:
  // v (N, K) {0, 1}, b_enc (N, U), w_enc (K, U), w_dec (K, U) -> (N, K)
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& v,
                               const torch::Tensor& b_enc, const torch::Tensor& w_enc, const torch::Tensor& w_dec) {
    const int64_t N = v.size(0), K = v.size(1), U = w_enc.size(1);
    // a_i for every i at once: shift the keys and the rows of w_enc down by one (a zero in front), so that an
    // inclusive cumulative sum over keys of the shifted products is the exclusive sum wanted. Shifting the two small
    // factors costs (N, K) + (K, U) instead of a copy of the (N, K, U) product.
    auto v_before = torch::cat({torch::zeros({N, 1}, v.options()), v.narrow(1, 0, K - 1)}, 1);          // (N, K)
    auto w_before = torch::cat({torch::zeros({1, U}, w_enc.options()), w_enc.narrow(0, 0, K - 1)}, 0);  // (K, U)
    auto h = (v_before.unsqueeze(-1) * w_before).cumsum(1);  // (N, K, U): sum_{j < i} v_j w_enc[j]
    h.add_(b_enc.unsqueeze(1)).sigmoid_();                   // (N, K, U): h_i = sigmoid(a_i)
    ctx->save_for_backward({v, h, w_dec});
    return torch::einsum("nku,ku->nk", {h, w_dec});  // (N, K)
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto &v = saved[0], &h = saved[1], &w_dec = saved[2];
    const int64_t K = v.size(1);
    auto grad = grad_outputs[0].contiguous();                  // (N, K): dL/dd_i
    auto grad_w_dec = torch::einsum("nk,nku->ku", {grad, h});  // (K, U)
    // dL/da_i = dL/dd_i w_dec[i] h_i (1 - h_i)
    auto grad_a = torch::rsub(h, 1.0).mul_(h).mul_(w_dec).mul_(grad.unsqueeze(-1));  // (N, K, U)
    // a_i = b_enc + sum_{j < i} v_j w_enc[j], so dL/db_enc = sum_i dL/da_i and dL/dw_enc[j] = sum_n v_nj
    // sum_{i > j} dL/da_i: the total minus an inclusive cumulative sum. The total is the cumulative sum's last entry,
    // so that the last key's sum over nothing is exactly 0 (w_enc[K-1] feeds no key; a round-off there would become an
    // Adam step of ~lr).
    auto later = grad_a.cumsum(1);                              // (N, K, U): inclusive, for now
    auto grad_b_enc = later.select(1, K - 1).clone();           // (N, U)
    later.neg_().add_(grad_b_enc.unsqueeze(1));                 // (N, K, U): sum_{i > j} dL/da_i
    auto grad_w_enc = torch::einsum("nj,nju->ju", {v, later});  // (K, U)
    return {torch::Tensor(), grad_b_enc, grad_w_enc, grad_w_dec};
  }
};

}  // namespace

// ---- construction -------------------------------------------------------------------------------------------

NadeImpl::NadeImpl(int64_t num_keys, int64_t hidden_size, int64_t condition_size)
    : num_keys_(num_keys), hidden_size_(hidden_size), condition_size_(condition_size) {
  if (num_keys <= 0 || hidden_size <= 0 || condition_size <= 0) {
    throw Error("nade: num_keys, hidden_size and condition_size must be positive, got " + std::to_string(num_keys) +
                ", " + std::to_string(hidden_size) + ", " + std::to_string(condition_size));
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(num_keys));  // Magenta's 1/sqrt(K)
  w_enc = register_parameter("w_enc", torch::randn({num_keys, hidden_size}) * scale);
  w_dec = register_parameter("w_dec", torch::randn({num_keys, hidden_size}) * scale);
  to_b_enc = register_module("to_b_enc", torch::nn::Linear(condition_size, hidden_size));
  to_b_dec = register_module("to_b_dec", torch::nn::Linear(condition_size, num_keys));
}

void NadeImpl::check_condition(const torch::Tensor& condition, const char* who) const {
  if (!condition.defined() || condition.dim() < 1 || condition.size(-1) != condition_size_ ||
      !condition.is_floating_point()) {
    throw Error(std::string("nade ") + who + ": expects floating-point conditions (..., " +
                std::to_string(condition_size_) + "), got " + describe(condition));
  }
}

// ---- teacher-forced scoring ---------------------------------------------------------------------------------

torch::Tensor NadeImpl::key_logits(const torch::Tensor& condition, const torch::Tensor& frames) {
  check_condition(condition, "key_logits");
  const int64_t K = num_keys_;
  if (!frames.defined() || frames.dim() != condition.dim() || frames.size(-1) != K ||
      frames.sizes().slice(0, frames.dim() - 1) != condition.sizes().slice(0, condition.dim() - 1)) {
    throw Error("nade key_logits: frames must be (..., " + std::to_string(K) +
                ") with the leading dimensions of the conditions " + describe(condition) + ", got " + describe(frames));
  }
  if (!all_binary(frames)) throw Error("nade key_logits: frame keys must be 0 or 1");

  auto x = condition.reshape({-1, condition_size_});                      // (N, C)
  auto v = frames.reshape({-1, K}).to(w_enc.scalar_type());               // (N, K)
  auto b_enc = to_b_enc(x);                                               // (N, U)
  auto b_dec = to_b_dec(x);                                               // (N, K)
  auto logits = b_dec + NadeDecoderTerms::apply(v, b_enc, w_enc, w_dec);  // (N, K)
  return logits.view(frames.sizes());                                     // (..., K)
}

torch::Tensor NadeImpl::log_prob(const torch::Tensor& condition, const torch::Tensor& frames) {
  auto logits = key_logits(condition, frames);  // (..., K)
  // log p(v_i | v_<i) = v_i log sigmoid(l_i) + (1 - v_i) log sigmoid(-l_i) = -BCE-with-logits(l_i, v_i)
  auto nll = torch::binary_cross_entropy_with_logits(logits, frames.to(logits.scalar_type()), {}, {},
                                                     at::Reduction::None);  // (..., K)
  return -nll.sum(-1);                                                      // (...)
}

// ---- ancestral sampling -------------------------------------------------------------------------------------

torch::Tensor NadeImpl::sample(const torch::Tensor& condition, double temperature, const torch::Tensor& uniforms) {
  check_condition(condition, "sample");
  if (condition.dim() != 2 || condition.size(0) == 0)
    throw Error("nade sample: expects conditions (N, " + std::to_string(condition_size_) + "), got " +
                describe(condition));
  if (!(temperature >= 0.0 && std::isfinite(temperature)))
    throw Error("nade sample: temperature must be finite and >= 0, got " + std::to_string(temperature));
  const int64_t N = condition.size(0), K = num_keys_;
  torch::Tensor u;  // (N, K)
  if (temperature > 0.0) {
    if (!uniforms.defined() || uniforms.dim() != 2 || uniforms.size(0) != N || uniforms.size(1) != K)
      throw Error("nade sample: uniforms must be (" + std::to_string(N) + ", " + std::to_string(K) + "), got " +
                  describe(uniforms));
    u = uniforms.to(condition.device(), w_enc.scalar_type());
  }
  torch::NoGradGuard no_grad;

  auto x = condition.to(w_enc.scalar_type());
  auto a = to_b_enc(x);                    // (N, U)
  auto b_dec = to_b_dec(x);                // (N, K)
  auto frames = torch::zeros_like(b_dec);  // (N, K)
  auto logits = torch::empty_like(b_dec);  // (N, K), kept for the finiteness check
  for (int64_t i = 0; i < K; ++i) {
    auto logit = b_dec.select(1, i) + torch::mv(torch::sigmoid(a), w_dec[i]);  // (N)
    logits.select(1, i).copy_(logit);
    auto on = temperature > 0.0 ? u.select(1, i).lt(torch::sigmoid(logit / temperature)) : logit.gt(0.0);  // (N)
    auto v = on.to(a.scalar_type());                                                                       // (N)
    frames.select(1, i).copy_(v);
    if (i + 1 < K) a.addr_(v, w_enc[i]);  // a_{i+1} = a_i + v_i w_enc[i]: (N, U)
  }
  if (!torch::isfinite(logits).all().item<bool>()) throw Error("nade sample: non-finite logits");
  return frames;
}

torch::Tensor NadeImpl::sample(const torch::Tensor& condition, double temperature, std::mt19937_64& rng) {
  check_condition(condition, "sample");
  if (condition.dim() != 2 || condition.size(0) == 0)
    throw Error("nade sample: expects conditions (N, " + std::to_string(condition_size_) + "), got " +
                describe(condition));
  torch::Tensor uniforms;
  if (temperature > 0.0) {
    const int64_t N = condition.size(0), K = num_keys_;
    uniforms = torch::empty({N, K}, torch::kFloat64);  // drawn on the CPU, in row-major order
    double* cells = uniforms.data_ptr<double>();
    for (int64_t i = 0; i < N * K; ++i) cells[i] = static_cast<double>(rng() >> 11) * 0x1.0p-53;
  }
  return sample(condition, temperature, uniforms);
}

// ---- the loss -----------------------------------------------------------------------------------------------

torch::Tensor mean_frame_nll(const torch::Tensor& log_probs, const torch::Tensor& frame_mask) {
  if (!log_probs.defined() || log_probs.dim() != 2)
    throw Error("mean_frame_nll: log_probs must be (B, T-1), got " + describe(log_probs));
  if (!frame_mask.defined()) {
    if (log_probs.numel() == 0) return torch::zeros({}, log_probs.options());
    return -log_probs.mean();
  }
  if (frame_mask.dim() != 2 || frame_mask.size(0) != log_probs.size(0) || frame_mask.size(1) != log_probs.size(1) + 1) {
    throw Error("mean_frame_nll: frame_mask must be (B, T) for log_probs (B, T-1), got " + describe(frame_mask) +
                " and " + describe(log_probs));
  }
  auto weights = frame_mask.narrow(1, 1, log_probs.size(1)).to(log_probs.options());  // (B, T-1)
  return -(log_probs * weights).sum() / weights.sum().clamp_min(1.0);
}

// ---- the hybrids' interface ---------------------------------------------------------------------------------

void NadeSequenceModelImpl::check_frames(const torch::Tensor& frames, bool one_step, const std::string& who) const {
  const int64_t K = num_keys();
  auto fail = [&](const std::string& problem) {
    throw Error(who + ": " + problem + " (frames " + describe(frames) + ")");
  };
  if (!frames.defined()) fail("frames are undefined");
  const int64_t dims = one_step ? 2 : 3;
  if (frames.dim() != dims || frames.size(-1) != K)
    fail(std::string("expects frames of shape ") + (one_step ? "(B, " : "(B, T, ") + std::to_string(K) + ")");
  if (!frames.is_floating_point() && frames.scalar_type() != torch::kBool)
    fail("frames must be floating point or bool");
  if (frames.numel() == 0) fail("empty input");
  if (!all_binary(frames)) fail("frame keys must be 0 or 1");
}

torch::Tensor NadeSequenceModelImpl::log_prob(const torch::Tensor& frames) {
  check_frames(frames, false, "nade model log_prob()");
  const int64_t T = frames.size(1);
  if (T < 2) throw Error("nade model log_prob(): needs at least 2 frames (frame 0 is given), got " + describe(frames));
  auto condition = conditions(frames);                                               // (B, T, C)
  return nade->log_prob(condition.narrow(1, 0, T - 1), frames.narrow(1, 1, T - 1));  // (B, T-1)
}

torch::Tensor NadeSequenceModelImpl::sample_frame(const torch::Tensor& condition, double temperature,
                                                  std::mt19937_64& rng) {
  return nade->sample(condition, temperature, rng);
}

torch::Tensor NadeSequenceModelImpl::frame_log_prob(const torch::Tensor& condition, const torch::Tensor& frame) {
  if (!condition.defined() || condition.dim() != 2)
    throw Error("nade model frame_log_prob(): expects conditions (N, C), got " + describe(condition));
  return nade->log_prob(condition, frame);  // (N)
}

// ---- config reader ------------------------------------------------------------------------------------------


}  // namespace cadenza::models
