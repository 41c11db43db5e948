#include "studio/assets.h"

#include <algorithm>
#include <cstdlib>

#include "common/assets.h"
#include "common/error.h"

namespace cadenza::studio {

namespace fs = std::filesystem;

namespace {

bool has_page(const fs::path& dir) {
  std::error_code error;
  return !dir.empty() && fs::is_regular_file(dir / "index.html", error);
}

}  // namespace

std::string find_web_assets(const std::string& executable) {
  // The same places as every installed asset (common/assets.h): $CADENZA_WEB_DIR, PREFIX/share/cadenza/web next to
  // `cadenza` or `cadenza-engine`, or the source tree's web/ for executables in their build tree.
  (void)executable;
  for (const std::string& candidate : asset_search_path("web")) {
    if (!has_page(candidate)) continue;
    std::error_code error;
    const fs::path canonical = fs::canonical(candidate, error);
    return error ? candidate : canonical.string();
  }
  return "";
}

std::string find_browser_soundfont(const std::string& configured) {
  std::error_code error;
  if (!configured.empty()) {
    if (!fs::is_regular_file(configured, error))
      throw Error("--soundfont " + configured + ": no such file (give an .sf2 or .sf3 SoundFont)");
    return configured;
  }
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("CADENZA_BROWSER_SOUNDFONT"); env != nullptr && *env != '\0')
    candidates.emplace_back(env);
  for (const char* path : {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
                           "/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2"})
    candidates.emplace_back(path);
  for (const std::string& candidate : candidates)
    if (fs::is_regular_file(candidate, error)) return candidate;
  return "";
}

const std::vector<VendorFile>& vendor_files() {
  static const std::vector<VendorFile> files = {
      {"/vendor/spessasynth_lib.js", "node_modules/spessasynth_lib/dist/index.js"},
      {"/vendor/spessasynth_processor.js", "node_modules/spessasynth_lib/dist/spessasynth_processor.min.js"},
      {"/vendor/spessasynth_core.js", "node_modules/spessasynth_core/dist/index.js"},
      {"/vendor/stb-vorbis.js", "node_modules/stb-vorbis/dist/index.js"},
  };
  return files;
}

std::optional<fs::path> resolve_inside(const fs::path& root, const std::string& relative) {
  if (relative.empty() || relative.size() > 1024) return std::nullopt;
  if (relative.find('\\') != std::string::npos || relative.find('\0') != std::string::npos) return std::nullopt;
  // Segment by segment: no "", ".", ".." (a leading '/' is the only empty segment allowed).
  size_t start = relative[0] == '/' ? 1 : 0;
  if (start >= relative.size()) return std::nullopt;
  for (;;) {
    const size_t slash = relative.find('/', start);
    const std::string segment = relative.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return std::nullopt;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::error_code error;
  const fs::path canonical_root = fs::canonical(root, error);
  if (error) return std::nullopt;
  const fs::path target = fs::canonical(canonical_root / relative.substr(relative[0] == '/' ? 1 : 0), error);
  if (error || !fs::is_regular_file(target, error)) return std::nullopt;
  // Still inside root once links are resolved.
  const auto [root_end, unused] =
      std::mismatch(canonical_root.begin(), canonical_root.end(), target.begin(), target.end());
  if (root_end != canonical_root.end()) return std::nullopt;
  return target;
}

std::string content_type_for(const fs::path& path) {
  const std::string ext = path.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".json") return "application/json";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".md") return "text/markdown; charset=utf-8";
  if (ext == ".mid" || ext == ".midi") return "audio/midi";
  if (ext == ".wav") return "audio/wav";
  if (ext == ".sf2" || ext == ".sf3") return "application/octet-stream";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace cadenza::studio
