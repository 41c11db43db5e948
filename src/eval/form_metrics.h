// Form metrics of a melody: does a piece repeat its phrases, stay in a key, keep to the beat grid and end at home?
// Per piece, from a Score; torch-free. docs/metrics.md has the definitions with examples.
//
// The melody: one track of the score, made monophonic by the skyline rule of extract_melody() (where notes overlap
// the highest sounds). By default the first non-drum track with notes (the melody track of a Nottingham file, the
// only track of a generated melody); FormOptions::track picks another. Only that track is measured: a chord track
// is not part of "the tune".
//
// Bars follow the score's time signatures (score/operations.h bars(): 4/4 when it has none), so a 6/8 jig has bars
// of six eighths. FormOptions::bars > 0 measures only the first that many bars (the clip() of them).
//
// The metrics (NaN where the denominator is empty: no notes, too few bars):
//   recurring_2bar_patterns  share of the 2-bar windows starting on each bar (bars b, b + 1; b = 0 .. B - 2) that
//                            hold a note onset and whose exact content also occurs in another window b' != b of
//                            the piece. Content = the window's length in ticks and the list of (onset offset from
//                            the window start in ticks, pitch) of the melody notes starting in it: the same
//                            rhythm and the same absolute pitches (a transposed sequence does not count);
//                            durations do not count (articulation varies). Windows without onsets are left out.
//   self_similarity_4bar     mean similarity of bar b and bar b + 4 over the bar pairs of equal length in which
//   self_similarity_8bar     at least one bar holds a note (and at 8 bars). A bar is read at each sixteenth note
//                            (step k at bar start + round(k * tpq / 4)) as the pitch sounding there and whether it
//                            starts in that step (or a rest); similarity = steps whose states agree / steps where at
//                            least one of the two bars sounds.
//   looped_bars              share of the bars that belong to a loop: a figure played at least 3 times in a row,
//                            (nearly) verbatim. Each bar of the replays sounds and is the bar 4 (or 8) before it
//                            again: the two agree on at least 80% of the steps where either sounds (the similarity
//                            above; an eighth note changed in a 4/4 bar of sixteenths still repeats it, a quarter
//                            does not). So a 4-bar figure (or a 1- or 2-bar one, which also recurs every 4 bars)
//                            over at least 12 bars, or an 8-bar one over at least 24. Real tunes restate a phrase
//                            once (AABB), so they have few; a model that plays one phrase over and over has most of
//                            its bars looped.
//   notes_in_key             share of melody notes whose pitch class lies in the key's scale (major, or natural
//                            minor as musical_metrics' pitch_in_scale_rate). The key: the score's first key
//                            signature when it has one, otherwise estimated (estimate_key()).
//   offgrid_onsets           share of onsets not on the eighth-note grid of their bar: (onset - bar start) is not a
//                            multiple of tpq / 2 (exact ticks: triplets and odd sixteenths are off the grid).
//   odd_sixteenth_onsets     share of onsets on an odd sixteenth of their bar: (onset - bar start) is an odd
//                            multiple of tpq / 4.
//   ends_on_tonic            1 when the last melody note (latest onset) has the pitch class of the key's tonic,
//                            else 0; its mean over pieces is the share of pieces that end at home.
//   pitch_class_entropy      musical_metrics' pitch_class_entropy of the melody (bits).
//   pitch_range              musical_metrics' pitch_range of the melody (semitones; NaN without notes).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "data/shard.h"
#include "eval/musical_metrics.h"
#include "score/score.h"

namespace cadenza::eval {

struct FormOptions {
  int track = -1;    // score track index of the melody; -1 = the first non-drum track with notes
  int64_t bars = 0;  // > 0: measure only the first `bars` bars
};

// The names compute_form_metrics() returns, in order (those listed above).
const std::vector<std::string>& form_metric_names();

// The first `bars` bars of the score's meter (clip() of [0, end of bar `bars`)); the score itself when it has no
// more bars than that or bars <= 0.
Score first_bars(const Score& score, int64_t bars);

// The melody the metrics read (one monophonic track with the score's meter and key signatures), clipped to the
// first options.bars bars. Throws Error naming score.source when the track index is out of range or names a drum
// track; a score without a non-drum track gives an empty melody.
Score melody_line(const Score& score, const FormOptions& options = {});

// Key finding: score/key.h (estimate_key, tune_key).
using ::cadenza::estimate_key;
using ::cadenza::tune_key;

// The metrics above, each on a melody (melody_line() output, or any one-track score).
double recurring_pattern_rate(const Score& melody, int pattern_bars = 2);
double self_similarity(const Score& melody, int lag_bars);
// A loop of any of the figure lengths counts; a bar repeats the one `figure` bars before when their similarity is at
// least min_similarity (1 = verbatim). NaN without notes. Throws Error when figure_bars is empty or holds a length
// < 1, plays < 2, or min_similarity is outside (0, 1].
double looped_bar_share(const Score& melody, const std::vector<int>& figure_bars = {4, 8}, int plays = 3,
                        double min_similarity = 0.8);
double offgrid_onset_rate(const Score& melody);
double odd_sixteenth_onset_rate(const Score& melody);
// 1 or 0; NaN without notes. Throws Error if the root is outside 0..11.
double ends_on_tonic(const Score& melody, const Key& key);

// All of them, in form_metric_names() order, on melody_line(score, options).
MetricSet compute_form_metrics(const Score& score, const FormOptions& options = {});

// The real pieces to compare generated ones with: the first `count` pieces (0 = all) of one split of a shard, decoded
// with the shard's encoding (token or piano roll). Each Score's source reads "SHARD#INDEX (SOURCE PATH)". Throws
// Error when the split has no piece.
std::vector<Score> decode_split(const Shard& shard, Split split, int64_t count = 0);

}  // namespace cadenza::eval
