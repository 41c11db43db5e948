#include "data/style_label.h"

#include <regex>

#include "common/error.h"

namespace cadenza {

namespace {

constexpr std::string_view kNamePrefix = "name:";

std::regex compile(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& error) {
    throw Error("style rule 'name:" + pattern + "': the regular expression does not compile (" + error.what() + ")");
  }
}

}  // namespace

StyleRule StyleRule::parse(const std::string& text) {
  StyleRule rule;
  if (text == "folder") {
    rule.source = Source::folder;
    return rule;
  }
  if (text.rfind(kNamePrefix, 0) == 0 && text.size() > kNamePrefix.size()) {
    rule.source = Source::file_name;
    rule.pattern = text.substr(kNamePrefix.size());
    compile(rule.pattern);
    return rule;
  }
  throw Error("style rule '" + text + "': expected 'folder' or 'name:REGEX' (e.g. 'name:^(reels|[a-z]+)')");
}

std::string StyleRule::to_string() const {
  return source == Source::folder ? "folder" : std::string(kNamePrefix) + pattern;
}

std::optional<std::string> style_for_path(const StyleRule& rule, std::string_view relative_path) {
  const size_t slash = relative_path.rfind('/');
  std::string style;
  if (rule.source == StyleRule::Source::folder) {
    if (slash == std::string_view::npos) return std::nullopt;
    const std::string_view folders = relative_path.substr(0, slash);
    const size_t previous = folders.rfind('/');
    style = std::string(previous == std::string_view::npos ? folders : folders.substr(previous + 1));
  } else {
    const std::string file_name(slash == std::string_view::npos ? relative_path : relative_path.substr(slash + 1));
    const std::regex expression = compile(rule.pattern);
    std::smatch match;
    if (!std::regex_search(file_name, match, expression)) return std::nullopt;
    style = match.size() > 1 && match[1].matched ? match[1].str() : match[0].str();
  }
  if (style.empty()) return std::nullopt;
  check_style_name(style);
  return style;
}

void check_style_name(const std::string& name) {
  if (name.empty() || name.size() > 64) throw Error("style name '" + name + "': must have 1 to 64 characters");
  for (const char c : name) {
    const bool allowed =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!allowed)
      throw Error("style name '" + name + "': character '" + std::string(1, c) +
                  "' is not allowed (letters, digits, '-', '_' and '.')");
  }
}

}  // namespace cadenza
