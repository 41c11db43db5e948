// The studio page's files (web/: index.html, the ES modules, the style sheet and the npm packages it plays sound with)
// and the SoundFont the browser plays takes with.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace cadenza::studio {

// THE lookup of the page's folder (one function, so that an installed layout can replace it): the first folder with
// an index.html among $CADENZA_WEB_DIR, <exe dir>/../share/cadenza/web (installed), <exe dir>/../web (a build tree
// beside the sources), <exe dir>/../../web, and the source tree's web/ compiled in. `executable` is the running
// binary's path ("" to skip the executable-relative places). Returns "" when none has the page.
std::string find_web_assets(const std::string& executable);

// The SoundFont the page plays with: `configured` when given (an Error naming it if it is not a file), else the
// first existing of $CADENZA_BROWSER_SOUNDFONT and the General MIDI fonts of Debian's packages, smallest first
// (timgm6mb-soundfont 6 MB, musescore-general-soundfont-small, fluid-soundfont-gm 140 MB). "" when none is installed.
std::string find_browser_soundfont(const std::string& configured);

// The files the page loads from npm packages: URL path under /vendor/ -> path inside the web folder.
struct VendorFile {
  std::string url;       // "/vendor/spessasynth_lib.js"
  std::string relative;  // "node_modules/spessasynth_lib/dist/index.js"
};
const std::vector<VendorFile>& vendor_files();

// `relative` (a URL path below root, without query) resolved inside `root`: nullopt when it is empty, has a ".." or
// empty segment, a backslash or NUL, or resolves (symbolic links followed) to something that is not a regular file
// inside root.
std::optional<std::filesystem::path> resolve_inside(const std::filesystem::path& root, const std::string& relative);

// "text/javascript; charset=utf-8" etc. by extension; application/octet-stream for unknown ones.
std::string content_type_for(const std::filesystem::path& path);

}  // namespace cadenza::studio
