// fuzz-areas: common score midi
//
// libFuzzer target for the Standard MIDI File reader. Any input must either parse or throw FormatError; a
// parsed Score must keep the invariants of score.h, write without error, and read back identical
// (read -> write -> read), and writing must be deterministic. Anything else aborts, which libFuzzer reports.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "common/error.h"
#include "midi/midi.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail = "") {
  std::fprintf(stderr, "fuzz_midi_reader: %s %s\n", what, detail.c_str());
  std::abort();
}

template <typename Event>
void check_tick_map(const std::vector<Event>& events, bool needs_tick_zero, const char* what) {
  if (needs_tick_zero && (events.empty() || events.front().tick != 0)) fail(what, "map has no entry at tick 0");
  for (size_t i = 1; i < events.size(); ++i)
    if (events[i].tick <= events[i - 1].tick) fail(what, "map not strictly sorted by tick");
}

void check_invariants(const cadenza::Score& score) {
  if (score.ticks_per_quarter < 1 || score.ticks_per_quarter > 0x7FFF) fail("ticks_per_quarter out of range");
  check_tick_map(score.tempos, true, "tempo");
  check_tick_map(score.time_signatures, true, "time signature");
  check_tick_map(score.key_signatures, false, "key signature");
  for (const auto& tempo : score.tempos)
    if (tempo.microseconds_per_quarter < 1 || tempo.microseconds_per_quarter > 0xFFFFFF) fail("tempo out of range");
  for (const auto& meter : score.time_signatures)
    if (meter.numerator < 1 || meter.denominator < 1 || meter.denominator > 64 ||
        (meter.denominator & (meter.denominator - 1)) != 0)
      fail("bad time signature");
  for (const auto& key : score.key_signatures)
    if (key.sharps < -7 || key.sharps > 7) fail("bad key signature");
  for (const auto& track : score.tracks) {
    if (track.notes.empty()) fail("empty track kept");
    if (track.channel < 0 || track.channel > 15) fail("channel out of range");
    if (track.program < 0 || track.program > 127) fail("program out of range");
    if (track.is_drum != (track.channel == 9)) fail("drum flag does not match channel 10");
    for (size_t i = 0; i < track.notes.size(); ++i) {
      const auto& note = track.notes[i];
      if (note.pitch < 0 || note.pitch > 127 || note.velocity < 1 || note.velocity > 127) fail("note out of range");
      if (note.start_tick < 0 || note.start_tick >= note.end_tick) fail("empty or negative note");
      if (!std::isfinite(note.start_sec) || !std::isfinite(note.end_sec) || note.end_sec < note.start_sec)
        fail("bad note seconds");
      if (i > 0) {
        const auto& previous = track.notes[i - 1];
        if (std::tie(previous.start_tick, previous.pitch, previous.end_tick, previous.velocity) >
            std::tie(note.start_tick, note.pitch, note.end_tick, note.velocity))
          fail("notes not sorted");
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> bytes(data, size);
  for (bool pedal : {false, true}) {
    cadenza::MidiReadOptions options;
    options.apply_sustain_pedal = pedal;
    cadenza::Score score;
    try {
      score = cadenza::read_midi(bytes, "fuzz.mid", options);
    } catch (const cadenza::FormatError& error) {
      if (error.offset() < 0 || static_cast<size_t>(error.offset()) > size) fail("error offset outside the input");
      return 0;  // rejected cleanly; any other exception escapes and libFuzzer reports it
    }
    check_invariants(score);
    const std::vector<uint8_t> written = cadenza::write_midi(score);
    const cadenza::Score again = cadenza::read_midi(written, "rewritten.mid");
    if (!(again == score)) fail("read -> write -> read changed the score:", cadenza::describe_difference(score, again));
    if (cadenza::write_midi(again) != written) fail("writing the same score twice gave different bytes");
  }
  return 0;
}
