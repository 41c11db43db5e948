#include "models/family.h"

namespace cadenza::models {

bool Family::fits(bool piano_roll, const std::string& encoding_name, int tracks, std::string* why) const {
  auto refuse = [&](const std::string& reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (piano_roll) {
    if (!data.frames) return refuse("the " + name + " model trains on " + data.needs + ", not on a piano-roll shard");
    if (tracks < data.min_tracks)
      return refuse("the " + name + " model needs a piano-roll shard of at least " + std::to_string(data.min_tracks) +
                    " tracks, this one has " + std::to_string(tracks));
    return true;
  }
  if (!data.tokens) return refuse("the " + name + " model trains on " + data.needs + ", not on token shards");
  if (data.melody_only && encoding_name != "melody")
    return refuse("the " + name + " model trains on " + data.needs + ", not on a \"" + encoding_name + "\" shard");
  return true;
}

}  // namespace cadenza::models
