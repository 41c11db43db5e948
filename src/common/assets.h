// Where Cadenza's installed assets are (bundled models today, a studio's web files later), found relative to the
// running executable so that any install prefix works:
//
//   $CADENZA_<NAME>_DIR                      an explicit override (NAME upper-cased, '-' -> '_'), taken as is
//   <exe dir>/../share/cadenza/<name>        `cadenza` installed in PREFIX/bin
//   <exe dir>/../../share/cadenza/<name>     `cadenza-engine` installed in PREFIX/libexec/cadenza
//   <source tree>/<name>                     only for executables inside the build tree they were built in
//
// The install layout (bin, libexec/cadenza, share/cadenza) is the one the top-level CMakeLists.txt installs.
#pragma once

#include <string>
#include <vector>

namespace cadenza {

// The absolute path of the running executable (/proc/self/exe), or "" if it cannot be read.
std::string executable_path();

// The candidate folders for asset NAME, in the order they are tried (the override alone when it is set).
std::vector<std::string> asset_search_path(const std::string& name);

// The first candidate of asset_search_path(name) that is a folder; when none is, the first candidate (so that a
// message built from it names where the asset was expected).
std::string asset_dir(const std::string& name);

}  // namespace cadenza
