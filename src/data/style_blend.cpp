#include "data/style_blend.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/error.h"

namespace cadenza {

namespace {

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const size_t last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split_on(const std::string& text, const std::string& separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t at = text.find(separator); at != std::string::npos; at = text.find(separator, start)) {
    parts.push_back(text.substr(start, at - start));
    start = at + separator.size();
  }
  parts.push_back(text.substr(start));
  return parts;
}

// A non-negative finite number spelled in full ("0.7", "1e-2"), else nullopt-like false.
bool parse_number(const std::string& text, double& value) {
  if (text.empty()) return false;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size() && std::isfinite(value);
}

std::string known_styles(const std::vector<std::string>& names) {
  std::string list;
  for (const auto& name : names) list += (list.empty() ? "" : ", ") + name;
  return list;
}

}  // namespace

std::vector<double> parse_style_mixture(const std::string& text, const std::vector<std::string>& names) {
  if (names.empty()) throw Error("style '" + text + "': the model has no styles");
  const std::string what = "style '" + text + "'";
  std::vector<double> weights(names.size(), 0.0);
  std::vector<bool> given(names.size(), false);
  for (const std::string& raw : split_on(text, ",")) {
    const std::string item = trimmed(raw);
    if (item.empty()) throw Error(what + ": an empty item (expected NAME or NAME=WEIGHT, separated by ',')");
    const size_t equals = item.find('=');
    const std::string name = trimmed(item.substr(0, equals));
    double weight = 1.0;
    if (equals != std::string::npos) {
      const std::string number = trimmed(item.substr(equals + 1));
      if (!parse_number(number, weight) || weight < 0)
        throw Error(what + ": the weight of '" + name + "' must be a non-negative number, got '" + number + "'");
    }
    const auto found = std::find(names.begin(), names.end(), name);
    if (found == names.end())
      throw Error(what + ": unknown style '" + name + "'; the model knows " + known_styles(names));
    const size_t index = static_cast<size_t>(found - names.begin());
    if (given[index]) throw Error(what + ": style '" + name + "' is given twice");
    given[index] = true;
    weights[index] = weight;
  }
  double sum = 0;
  for (const double weight : weights) sum += weight;
  if (!(sum > 0)) throw Error(what + ": the weights sum to 0 (at least one must be positive)");
  for (double& weight : weights) weight /= sum;
  return weights;
}

StylePath parse_style_path(const std::string& text, const std::vector<std::string>& names) {
  StylePath path;
  const std::vector<std::string> parts = split_on(text, "->");
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string anchor = trimmed(parts[i]);
    const std::string what = "style path '" + text + "', anchor " + std::to_string(i + 1) + " ('" + anchor + "')";
    const size_t at = anchor.rfind('@');
    if (anchor.empty() || at == std::string::npos)
      throw Error(what + ": expected STYLE@BAR, e.g. \"jigs@0 -> waltzes@16\"");
    StylePath::Anchor parsed;
    const std::string bar = trimmed(anchor.substr(at + 1));
    if (!parse_number(bar, parsed.bar) || parsed.bar < 0)
      throw Error(what + ": the bar must be a non-negative number, got '" + bar + "'");
    try {
      parsed.weights = parse_style_mixture(trimmed(anchor.substr(0, at)), names);
    } catch (const Error& e) {
      throw Error(what + ": " + e.what());
    }
    if (!path.anchors.empty() && !(parsed.bar > path.anchors.back().bar)) {
      char previous[32];
      std::snprintf(previous, sizeof previous, "%g", path.anchors.back().bar);
      throw Error(what + ": the bars must ascend, and " + bar + " does not come after " + previous);
    }
    path.anchors.push_back(std::move(parsed));
  }
  return path;
}

std::vector<double> StylePath::at_bar(double bar) const {
  if (anchors.empty()) throw Error("style path: no anchors");
  if (bar <= anchors.front().bar) return anchors.front().weights;
  if (bar >= anchors.back().bar) return anchors.back().weights;
  size_t next = 1;
  while (anchors[next].bar < bar) ++next;
  const Anchor &from = anchors[next - 1], &to = anchors[next];
  const double share = (bar - from.bar) / (to.bar - from.bar);  // 0 at `from`, 1 at `to`
  std::vector<double> weights(from.weights.size());
  for (size_t s = 0; s < weights.size(); ++s) weights[s] = (1 - share) * from.weights[s] + share * to.weights[s];
  return weights;
}

std::vector<double> even_style_mixture(size_t count) {
  return std::vector<double>(count, count == 0 ? 0.0 : 1.0 / static_cast<double>(count));
}

std::string describe_style_vector(const std::vector<double>& weights, const std::vector<std::string>& names) {
  std::string text;
  for (size_t s = 0; s < weights.size() && s < names.size(); ++s) {
    if (weights[s] <= 0) continue;
    char weight[32];
    std::snprintf(weight, sizeof weight, "%.2f", weights[s]);
    text += (text.empty() ? "" : ", ") + names[s] + "=" + weight;
  }
  return text;
}

}  // namespace cadenza
