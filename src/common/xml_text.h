// Text for XML / HTML / SVG documents: what our pictures and reports print (track names, file names, notes).
#pragma once

#include <string>
#include <string_view>

namespace cadenza {

// Keeps valid UTF-8 and printable characters, replaces anything else with '?' (track names come from MIDI files,
// often in Latin-1 or with control bytes), and escapes XML's special characters (& < > " ').
std::string xml_text(std::string_view raw);

}  // namespace cadenza
