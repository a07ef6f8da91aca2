// Small helpers shared by the benchmarks in bench/: "--name value" flags,
// percentiles, process CPU time, a self-removing temp directory, Markdown
// tables, the process's RSS and load, and the banking workload scaled to a
// size. Header-only; a benchmark links what it uses (tandem_gen for the
// workload helpers, tandem_env for Random).
//
//   TANDEM_ASSIGN_OR_RETURN(Flags f, Flags::Parse(argc, argv, {"events", "dir"}));
//   TANDEM_ASSIGN_OR_RETURN(uint64_t n, f.Uint("events", 100'000, 1, 100'000'000));
//   Table t({"path", "events/s"}, "-r");        // one alignment char per column
//   t.Row({"(a) direct", Fixed(rate, 0)});
//   t.Print();
//
// Thread safety: everything here is either pure or owned by one thread.
#pragma once

#include <malloc.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gen/banking.h"
#include "tandem/event.h"
#include "tandem/status.h"

namespace tandem::bench {

using Steady = std::chrono::steady_clock;

inline double SecondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// The q-quantile (0..1) of `v` by nearest rank (index floor(q * n), as the
// older benchmarks compute it); 0 for an empty sample.
inline double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// CPU seconds of the whole process (every thread): unlike wall time, barely
// moved by other work on a shared machine.
inline double ProcessCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// "--name value" pairs. Unknown names and a missing value are errors, so a
// typo in bench.sh fails loudly instead of measuring the defaults.
class Flags {
 public:
  static Result<Flags> Parse(int argc, char** argv, std::initializer_list<std::string_view> known) {
    const std::set<std::string_view> names(known);
    Flags f;
    for (int i = 1; i < argc; i += 2) {
      const std::string_view arg = argv[i];
      if (arg.substr(0, 2) != "--" || !names.contains(arg.substr(2))) {
        std::string list;
        for (std::string_view n : names) list += " --" + std::string(n);
        return Status::InvalidArgument(std::string(arg) + ": unknown flag; known:" + list);
      }
      if (i + 1 >= argc) return Status::InvalidArgument(std::string(arg) + ": missing value");
      f.values_[std::string(arg.substr(2))] = argv[i + 1];
    }
    return f;
  }

  std::string String(const std::string& name, std::string def) const {
    auto it = values_.find(name);
    return it == values_.end() ? def : it->second;
  }

  // An integer in [min, max]; InvalidArgument naming the flag otherwise.
  Result<uint64_t> Uint(const std::string& name, uint64_t def, uint64_t min, uint64_t max) const {
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    const std::string& v = it->second;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || v[0] == '-' || n < min || n > max) {
      return Status::InvalidArgument("--" + name + ": must be an integer " + std::to_string(min) +
                                     ".." + std::to_string(max) + ", got \"" + v + "\"");
    }
    return static_cast<uint64_t>(n);
  }

  // A comma-separated list of integers in [min, max] ("1,4").
  Result<std::vector<uint64_t>> UintList(const std::string& name, std::vector<uint64_t> def,
                                         uint64_t min, uint64_t max) const {
    auto it = values_.find(name);
    if (it == values_.end()) return def;
    std::vector<uint64_t> out;
    std::string_view rest = it->second;
    while (true) {
      const size_t comma = rest.find(',');
      Flags one;
      one.values_[name] = std::string(rest.substr(0, comma));
      TANDEM_ASSIGN_OR_RETURN(uint64_t n, one.Uint(name, 0, min, max));
      out.push_back(n);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    return out;
  }

 private:
  std::map<std::string, std::string> values_;
};

// A directory made with mkdtemp and removed (recursively) by the destructor.
// Run-time state of a benchmark lives below it, so an early error return
// still cleans up (std::exit would not run destructors: return from main).
class TempDir {
 public:
  static Result<TempDir> Create(std::string_view prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Status::IOError("mkdtemp " + tmpl + ": " + std::strerror(errno));
    }
    return TempDir(tmpl);
  }
  TempDir(TempDir&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempDir& operator=(TempDir&&) = delete;
  TempDir(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Sub(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// A Markdown table: `align` has one char per column, 'l' or 'r'.
class Table {
 public:
  Table(std::vector<std::string> header, std::string align)
      : header_(std::move(header)), align_(std::move(align)) {
    align_.resize(header_.size(), 'r');
  }
  void Row(std::vector<std::string> cells) {
    cells.resize(header_.size());
    rows_.push_back(std::move(cells));
  }
  void Print(FILE* out = stdout) const {
    auto line = [out](const std::vector<std::string>& cells) {
      std::fputs("|", out);
      for (const std::string& c : cells) std::fprintf(out, " %s |", c.c_str());
      std::fputs("\n", out);
    };
    line(header_);
    std::fputs("|", out);
    for (char a : align_) std::fputs(a == 'l' ? "---|" : "---:|", out);
    std::fputs("\n", out);
    for (const auto& r : rows_) line(r);
  }

 private:
  std::vector<std::string> header_;
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

// `v` with `digits` decimals.
inline std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// A field of /proc/self/status in kB ("VmRSS", "VmHWM"); 0 when unreadable.
inline uint64_t ProcStatusKb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > field.size() && line.compare(0, field.size(), field) == 0 &&
        line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

// Returns freed heap to the kernel so that VmRSS shows what is still used.
inline void TrimHeap() { malloc_trim(0); }

// The first three fields of /proc/loadavg ("1.95 1.60 1.40"): the machine is
// shared, so every table says how busy it was.
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// ---- The banking workload ----------------------------------------------------

// The generator's defaults with every count multiplied by `factor` (at
// least 1 each).
inline gen::BankingOptions ScaledBankingOptions(double factor, uint64_t seed) {
  gen::BankingOptions o;
  o.seed = seed;
  auto scale = [factor](size_t n) {
    return std::max<size_t>(1, static_cast<size_t>(static_cast<double>(n) * factor + 0.5));
  };
  o.persons = scale(o.persons);
  o.companies = scale(o.companies);
  o.transactions = scale(o.transactions);
  o.communications = scale(o.communications);
  o.sanctioned_persons = scale(o.sanctioned_persons);
  o.sanctioned_companies = scale(o.sanctioned_companies);
  return o;
}

// A generator scaled so that `measure(counts)` reaches `target` (a few
// percent over): `measure` counts what the caller sizes by (all events, or
// the persons + companies + accounts). Bounded: 4 rescaling rounds.
template <typename Measure>
Result<std::unique_ptr<gen::BankingGenerator>> ScaledBankingGenerator(uint64_t target,
                                                                      uint64_t seed,
                                                                      Measure measure) {
  double factor = 1.0;
  for (int round = 0; round < 4; ++round) {
    TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<gen::BankingGenerator> g,
                            gen::BankingGenerator::Create(ScaledBankingOptions(factor, seed)));
    const double got = static_cast<double>(measure(g->counts()));
    if (got >= static_cast<double>(target) && got <= 1.1 * static_cast<double>(target)) return g;
    factor *= 1.02 * static_cast<double>(target) / std::max(1.0, got);
  }
  return gen::BankingGenerator::Create(ScaledBankingOptions(factor, seed));
}

// The first `n` events of a banking workload scaled to about `n` events.
inline Result<std::vector<EntityEvent>> BankingEvents(uint64_t n, uint64_t seed) {
  TANDEM_ASSIGN_OR_RETURN(
      std::unique_ptr<gen::BankingGenerator> g,
      ScaledBankingGenerator(n, seed, [](const gen::BankingCounts& c) { return c.total; }));
  std::vector<EntityEvent> out;
  out.reserve(n);
  Status s = g->Generate([&](const EntityEvent& e) {
    if (out.size() >= n) return Status::Aborted("enough events");
    out.push_back(e);
    return Status::OK();
  });
  if (!s.ok() && out.size() < n) return s;
  return out;
}

}  // namespace tandem::bench
