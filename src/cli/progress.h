// A one-line progress display on stderr for long client work (produce,
// generate --send): "  12,000 events  8,950/s  45%", redrawn in place with
// '\r' at most every `redraw_interval_us`, erased by Finish().
//
// It draws only when enabled, and ProgressLine::ShouldDraw() enables it only
// when stderr is a terminal and --no-progress was not given: pipes, files and
// tests see clean output.
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "tandem/env.h"

namespace tandem::cli {

class ProgressLine {
 public:
  struct Options {
    bool enabled = false;
    // Denominator of the percentage in the caller's units (input bytes for
    // produce, events for generate); 0: unknown, no percentage shown.
    uint64_t total = 0;
    int64_t redraw_interval_us = 100'000;
    std::FILE* out = stderr;
  };

  // True when stderr is a terminal and `no_progress` is false.
  static bool ShouldDraw(bool no_progress);

  // `clock` must outlive the line.
  ProgressLine(Options options, Clock& clock);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // `events` sent so far; `done` in the units of Options::total.
  void Update(uint64_t events, uint64_t done);
  // Erases the line (idempotent; also from the destructor).
  void Finish();

  bool enabled() const { return options_.enabled; }
  // The text of the line for these numbers (exposed for tests).
  static std::string Format(uint64_t events, double seconds, uint64_t done, uint64_t total);

 private:
  const Options options_;
  Clock& clock_;
  const int64_t started_ns_;
  int64_t last_draw_ns_ = 0;
  bool drawn_ = false;
};

// 1234567 → "1,234,567".
std::string WithThousands(uint64_t n);

}  // namespace tandem::cli
