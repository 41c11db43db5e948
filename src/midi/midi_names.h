// Human-readable names for MIDI numbers: General MIDI instruments and key signatures.
#pragma once

#include <string>

#include "score/score.h"

namespace cadenza {

// General MIDI Level 1 instrument name of program 0..127 ("Acoustic Grand Piano"); "" outside that range.
const char* gm_program_name(int program);

// "G major", "E minor", "Bb major" (flats and sharps in ASCII); "" when sharps is outside -7..7.
std::string key_signature_name(int sharps, bool minor);
inline std::string key_signature_name(const KeySignature& key) {
  return key_signature_name(key.sharps, key.minor);
}

}  // namespace cadenza
