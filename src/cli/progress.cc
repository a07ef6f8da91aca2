#include "cli/progress.h"

#include <unistd.h>

#include <string>

namespace tandem::cli {

std::string WithThousands(uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

bool ProgressLine::ShouldDraw(bool no_progress) { return !no_progress && isatty(2) == 1; }

ProgressLine::ProgressLine(Options options, Clock& clock)
    : options_(options), clock_(clock), started_ns_(clock.MonotonicNanos()) {}

ProgressLine::~ProgressLine() { Finish(); }

std::string ProgressLine::Format(uint64_t events, double seconds, uint64_t done, uint64_t total) {
  std::string line = "  " + WithThousands(events) + " events";
  if (seconds > 0) {
    line += "  " + WithThousands(static_cast<uint64_t>(static_cast<double>(events) / seconds)) +
            " events/s";
  }
  if (total > 0) {
    const uint64_t percent = done >= total ? 100 : done * 100 / total;
    line += "  " + std::to_string(percent) + "%";
  }
  return line;
}

void ProgressLine::Update(uint64_t events, uint64_t done) {
  if (!options_.enabled) return;
  const int64_t now = clock_.MonotonicNanos();
  if (drawn_ && now - last_draw_ns_ < options_.redraw_interval_us * 1000) return;
  last_draw_ns_ = now;
  drawn_ = true;
  const double seconds = static_cast<double>(now - started_ns_) / 1e9;
  // \033[K clears what a longer previous line left behind.
  std::fprintf(options_.out, "\r%s\033[K", Format(events, seconds, done, options_.total).c_str());
  std::fflush(options_.out);
}

void ProgressLine::Finish() {
  if (!drawn_) return;
  drawn_ = false;
  std::fprintf(options_.out, "\r\033[K");
  std::fflush(options_.out);
}

}  // namespace tandem::cli
