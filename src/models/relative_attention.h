// Music Transformer relative position logits (Huang et al. 2018, "Music Transformer: Generating Music with
// Long-Term Structure", Section 3.4.1), as used by the attention of src/models/transformer.h.
//
// Each head h of a layer learns its own embedding per lookback distance: relative_keys (H, M, D), where row k is
// "the key k steps back" (k = i - j for query position i and key position j <= i). The relative logit that is added
// to q_i . k_j before the softmax is
//
//   S_rel[b, h, i, j] = q[b, h, i] . relative_keys[h, min(i - j, M - 1)]
//
// Distances of M or more CLIP to the farthest embedding (as in Shaw et al. 2018), so a model also runs on sequences
// longer than max_relative_distance; the keys are per head (the paper's choice; the skew costs the same either way).
//
// relative_logits() computes S_rel with the paper's "skewing" trick in O(T.D) extra memory: one matrix product
// Q E^T against the T embeddings for distances T-1, ..., 1, 0 (column r is distance T-1-r), then pad one column on
// the left, reshape (T, T+1) -> (T+1, T) and drop the first row; row i now holds distance i - j in column j.
// relative_logits_naive() is the direct O(T^2.D) definition (an explicit gather of an embedding per (i, j) pair),
// kept as the reference the tests compare the skew against.
#pragma once

#include <torch/torch.h>

namespace cadenza::models {

// The embeddings in the order the skew wants: (H, T, D), row r holds distance T-1-r (clipped to M-1).
torch::Tensor relative_keys_by_column(const torch::Tensor& relative_keys, int64_t length);

// q: (B, H, T, D), relative_keys: (H, M, D). Returns S_rel (B, H, T, T). Entries above the diagonal (j > i, the
// future) are unspecified: the caller masks them.
torch::Tensor relative_logits(const torch::Tensor& q, const torch::Tensor& relative_keys);

// The same by definition, O(T^2.D) memory; entries above the diagonal are zero. For tests.
torch::Tensor relative_logits_naive(const torch::Tensor& q, const torch::Tensor& relative_keys);

// One query row for incremental decoding: q_last (B, H, D) is the query at position length-1, attending to keys
// 0..length-1. Returns (B, H, length), column j = q_last . relative_keys[h, min(length-1-j, M-1)]. Computed directly
// (one row needs no skew): one product against the min(length, M) embeddings in use, reversed into key order.
torch::Tensor relative_logits_last_query(const torch::Tensor& q_last, const torch::Tensor& relative_keys,
                                         int64_t length);

}  // namespace cadenza::models
