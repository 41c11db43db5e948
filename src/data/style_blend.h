// Style vectors for generation with a style-conditioned model (issue 17, "Styles and blends"; docs/conditioning.md):
// `cadenza generate --style jigs`, a mixture `--style jigs=0.7,waltzes=0.3`, and a transition over the piece
// `--style-path "jigs@0 -> waltzes@16"`. A style vector holds one weight per style of the model (its style_names, in
// that order), each >= 0, summing to 1. libtorch-free: the parsing is shared by the CLI and tested on its own.
#pragma once

#include <string>
#include <vector>

namespace cadenza {

// "jigs" (weight 1) or "jigs=0.7,waltzes=0.3" (weights >= 0, normalised to sum 1; a style given without "=W" has
// weight 1; spaces around names and weights are ignored) -> a style vector over `names`. Throws Error naming the
// problem: an unknown style (listing the known ones), a style named twice, a weight that is not a non-negative
// number, all weights zero, an empty item.
std::vector<double> parse_style_mixture(const std::string& text, const std::vector<std::string>& names);

// A style vector that moves over the piece, bar by bar: anchors at bars (ascending); at bar b the vector is the
// linear interpolation between the anchors around b, the first anchor's before it and the last anchor's after it.
struct StylePath {
  struct Anchor {
    double bar = 0;
    std::vector<double> weights;  // a style vector
  };
  std::vector<Anchor> anchors;  // at least one, bars strictly ascending

  std::vector<double> at_bar(double bar) const;
  bool constant() const { return anchors.size() == 1; }
};

// "jigs@0 -> waltzes@16": anchors "MIXTURE@BAR" (MIXTURE as parse_style_mixture, BAR a non-negative number of bars
// from the start of the piece, a primer's bars included) separated by "->", bars strictly ascending. Throws Error
// naming the anchor (1-based) and the problem.
StylePath parse_style_path(const std::string& text, const std::vector<std::string>& names);

// The even mixture of `count` styles (what a style model reads when no style is given).
std::vector<double> even_style_mixture(size_t count);

// "jigs=0.70, waltzes=0.30" (weights > 0 only, in the names' order) for messages and logs.
std::string describe_style_vector(const std::vector<double>& weights, const std::vector<std::string>& names);

}  // namespace cadenza
