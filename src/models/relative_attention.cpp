// Relative position logits: the skewed (fast), naive (reference) and single-row (decoding) forms.
#include "models/relative_attention.h"

#include <algorithm>

namespace cadenza::models {

torch::Tensor relative_keys_by_column(const torch::Tensor& relative_keys, int64_t length) {
  const int64_t farthest = relative_keys.size(1) - 1;
  // Column r of the skew input is distance length-1-r, clipped to the farthest learned embedding.
  auto distance = torch::arange(length - 1, -1, -1, torch::dtype(torch::kLong).device(relative_keys.device()))
                      .clamp_max(farthest);        // (T)
  return relative_keys.index_select(1, distance);  // (H, T, D)
}

torch::Tensor relative_logits(const torch::Tensor& q, const torch::Tensor& relative_keys) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2);
  auto keys = relative_keys_by_column(relative_keys, T);  // (H, T, D)
  auto qe = torch::matmul(q, keys.transpose(-2, -1));     // (B, H, T, T) column r = distance T-1-r
  // Skew: prepend a zero column (T, T+1), reinterpret the same buffer as (T+1, T) and drop the first row; row i,
  // column j then holds q_i . E[distance i-j] for every j <= i (Music Transformer, Section 3.4.1, Figure 1).
  auto padded = torch::nn::functional::pad(qe, torch::nn::functional::PadFuncOptions({1, 0}));  // (B, H, T, T+1)
  return padded.view({B, H, T + 1, T}).slice(2, 1);                                             // (B, H, T, T)
}

torch::Tensor relative_logits_naive(const torch::Tensor& q, const torch::Tensor& relative_keys) {
  const int64_t T = q.size(2);
  const int64_t farthest = relative_keys.size(1) - 1;
  auto position = torch::arange(T, torch::dtype(torch::kLong).device(q.device()));     // (T)
  auto distance = (position.unsqueeze(1) - position.unsqueeze(0)).clamp(0, farthest);  // (T, T), i - j
  auto pair_keys = relative_keys.index_select(1, distance.flatten())
                       .view({relative_keys.size(0), T, T, relative_keys.size(2)});          // (H, T, T, D)
  auto logits = torch::einsum("bhid,hijd->bhij", {q, pair_keys});                            // (B, H, T, T)
  auto future = torch::ones({T, T}, torch::dtype(torch::kBool).device(q.device())).triu(1);  // (T, T)
  return logits.masked_fill(future, 0.0);
}

torch::Tensor relative_logits_last_query(const torch::Tensor& q_last, const torch::Tensor& relative_keys,
                                         int64_t length) {
  const int64_t M = relative_keys.size(1);
  const int64_t used = std::min(length, M);
  // by_distance[..., k] = q . E[k] for k = 0..used-1.
  auto by_distance = torch::matmul(q_last.unsqueeze(2), relative_keys.narrow(1, 0, used).transpose(-2, -1))
                         .squeeze(2);    // (B, H, used)
  auto by_key = by_distance.flip({-1});  // (B, H, used): key j = length-used+j, distance used-1-j
  if (length == used) return by_key;
  // Keys farther back than M-1 all use the farthest embedding.
  auto farthest = by_distance.narrow(-1, M - 1, 1).expand({-1, -1, length - M});  // (B, H, length-M)
  return torch::cat({farthest, by_key}, -1);                                      // (B, H, length)
}

}  // namespace cadenza::models
