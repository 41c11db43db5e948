#include "generate/style_schedule.h"

#include <cmath>

#include "encoding/melody.h"
#include "models/sequence_model.h"
#include "score/operations.h"

namespace cadenza {

double bars_before(const Score& score, int64_t tick) {
  const auto bar_ticks = [&](const TimeSignature& meter) {
    return quarters_per_bar(meter.numerator, meter.denominator) * score.ticks_per_quarter;
  };
  double bars = 0;
  int64_t at = 0;
  TimeSignature meter;  // 4/4
  for (const TimeSignature& signature : score.time_signatures) {
    if (signature.tick >= tick) break;
    bars += static_cast<double>(signature.tick - at) / bar_ticks(meter);
    at = signature.tick, meter = signature;
  }
  return bars + static_cast<double>(tick - at) / bar_ticks(meter);
}

std::function<std::vector<int64_t>(std::span<const Token>)> style_schedule(StylePath path,
                                                                           const TokenEncoding& encoding) {
  if (path.constant()) {
    const std::vector<int64_t> column = models::style_weights_column(path.anchors.front().weights);
    return [column](std::span<const Token>) { return column; };
  }
  const auto* melody = dynamic_cast<const MelodyEncoding*>(&encoding);
  return [path = std::move(path), &encoding, melody](std::span<const Token> before) {
    const Score decoded = encoding.decode(std::vector<Token>(before.begin(), before.end()));
    int64_t now = decoded.end_tick();
    if (melody) {
      int64_t steps = 0;  // the next token's grid step
      for (const Token token : before) steps += melody->is_step_token(token) ? 1 : 0;
      now = steps * melody->melody_spec().ticks_per_step();
    }
    // The small tolerance keeps a bar line that floating point puts a hair early in the bar it starts.
    return models::style_weights_column(path.at_bar(std::floor(bars_before(decoded, now) + 1e-9)));
  };
}

}  // namespace cadenza
