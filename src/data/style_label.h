// A piece's style label (issue 17: style conditioning, the style classifier): given for an input as a name, or
// read from where a file sits: the folder it is in, or a part of its file name picked by a regular expression.
// `dataset prepare` and `cadenza style-classifier` label files the same way through this one function.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cadenza {

struct StyleRule {
  enum class Source { folder, file_name };
  Source source = Source::folder;
  std::string pattern;  // file_name: an ECMAScript regular expression searched in the file's name

  // "folder" or "name:REGEX" (REGEX's first capture group is the style, else the whole match). Throws Error
  // naming the text when it is neither or the expression does not compile.
  static StyleRule parse(const std::string& text);
  std::string to_string() const;  // the text parse() takes
};

// The style of a file at `relative_path` ('/'-separated, relative to its input): the name of the folder it is in
// (nullopt for a file directly in the input) or what the rule's expression picks from its file name (nullopt when
// it does not match or picks an empty string). The result is checked with check_style_name().
std::optional<std::string> style_for_path(const StyleRule& rule, std::string_view relative_path);

// Style names are used in option values such as `--style jigs=0.7,waltzes=0.3` and `--style-path "jigs@0 ->
// waltzes@16"`: letters, digits, '-', '_' and '.', 1 to 64 characters. Throws Error naming the name otherwise.
void check_style_name(const std::string& name);

}  // namespace cadenza
