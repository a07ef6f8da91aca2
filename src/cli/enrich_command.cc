// `tandem enrich backfill --type person --rate 100/s`: queues enrichment for
// the entities of a type that lack it, by driving POST /v1/enrich/backfill
// page by page (the server paces each page at the rate with a token bucket;
// about one second of work per page), with a progress line on a terminal and
// a summary (--json: one JSON object). Exit codes as the client commands.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/progress.h"

namespace tandem::cli {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kMaxPages = uint64_t{1} << 40;  // a bound, never reached in practice

struct BackfillFlags {
  ClientFlags client;
  std::string type;
  std::string rate = "100/s";
  std::string enricher;
  size_t limit = 0;  // 0: the server's default (one second of work)
  bool no_progress = false;
};

// "100", "100/s", "6000/m", "360000/h" → per second. InvalidArgument naming --rate.
Result<double> ParseRate(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string_view number = text.substr(0, slash);
  double n = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  double per = 1;
  if (slash != std::string_view::npos) {
    const std::string_view unit = text.substr(slash + 1);
    per = unit == "s" ? 1 : unit == "m" ? 60 : unit == "h" ? 3600 : 0;
  }
  if (ec != std::errc() || end != number.data() + number.size() || !(n > 0) || !std::isfinite(n) ||
      per == 0) {
    return Status::InvalidArgument(
        fmt::format("--rate: expected N, N/s, N/m or N/h with N > 0, got \"{}\"", text));
  }
  return n / per;
}

struct Totals {
  uint64_t pages = 0, scanned = 0, matched = 0, already_enriched = 0, queued = 0,
           already_queued = 0, deleted = 0, nothing_to_do = 0;
  void Add(const Json& j) {
    ++pages;
    scanned += j.at("scanned").get<uint64_t>();
    matched += j.at("matched").get<uint64_t>();
    already_enriched += j.at("already_enriched").get<uint64_t>();
    queued += j.at("queued").get<uint64_t>();
    already_queued += j.at("already_queued").get<uint64_t>();
    deleted += j.at("deleted").get<uint64_t>();
    nothing_to_do += j.at("nothing_to_do").get<uint64_t>();
  }
};

std::string Target(const BackfillFlags& f, double rate, const std::string& after) {
  std::string t = fmt::format("/v1/enrich/backfill?type={}&rate={}", UrlEncode(f.type), rate);
  if (!after.empty()) t += "&after=" + UrlEncode(after);
  if (!f.enricher.empty()) t += "&enricher=" + UrlEncode(f.enricher);
  if (f.limit > 0) t += fmt::format("&limit={}", f.limit);
  return t;
}

void Print(const BackfillFlags& f, const Totals& t, double rate, double seconds) {
  if (f.client.json) {
    const Json j = {{"type", f.type},       {"rate_per_second", rate},
                    {"pages", t.pages},     {"scanned", t.scanned},
                    {"matched", t.matched}, {"already_enriched", t.already_enriched},
                    {"queued", t.queued},   {"already_queued", t.already_queued},
                    {"deleted", t.deleted}, {"nothing_to_do", t.nothing_to_do},
                    {"seconds", seconds}};
    fmt::print("{}\n", j.dump());
    return;
  }
  fmt::print(
      "backfill {}: {} queued, {} already enriched, {} already queued, {} deleted, {} with nothing "
      "to enrich; {} {} entities seen in {} page{}, {:.1f} s\n",
      f.type, WithThousands(t.queued), WithThousands(t.already_enriched),
      WithThousands(t.already_queued), WithThousands(t.deleted), WithThousands(t.nothing_to_do),
      WithThousands(t.matched), f.type, t.pages, t.pages == 1 ? "" : "s", seconds);
}

Status RunBackfill(const BackfillFlags& f, std::unique_ptr<HttpClient>* client) {
  TANDEM_ASSIGN_OR_RETURN(const double rate, ParseRate(f.rate));
  TANDEM_ASSIGN_OR_RETURN(*client, Connect(f.client));
  const auto started = std::chrono::steady_clock::now();
  std::unique_ptr<ProgressLine> progress;
  Totals totals;
  std::string after;
  for (uint64_t page = 0; page < kMaxPages; ++page) {
    const std::string target = Target(f, rate, after);
    TANDEM_ASSIGN_OR_RETURN(HttpReply r, (*client)->Post(target, "", "application/json"));
    if (!r.ok()) return (*client)->Fail(r, "POST " + target);
    const Json j = Json::parse(r.body, nullptr, false);
    if (!j.is_object()) return Status::Corruption("backfill: the server's reply is not JSON");
    totals.Add(j);
    if (progress == nullptr) {
      ProgressLine::Options o;
      o.enabled = ProgressLine::ShouldDraw(f.no_progress);
      const int64_t total = j.value("total", int64_t{-1});
      o.total = total > 0 ? static_cast<uint64_t>(total) : 0;
      progress = std::make_unique<ProgressLine>(o, SystemClock());
    }
    progress->Update(totals.queued, totals.matched);
    if (j.value("done", false)) break;
    const std::string next = j.value("next_after", std::string());
    if (next.empty() || next == after) {
      return Status::Corruption("backfill: the server did not advance past \"" + after + "\"");
    }
    after = next;
  }
  if (progress != nullptr) progress->Finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  Print(f, totals, rate, seconds);
  return Status::OK();
}

}  // namespace

void RegisterEnrichCommand(CLI::App& app, Action* action, int* exit_code) {
  CLI::App* enrich = app.add_subcommand("enrich", "Enrichment legs of a running tandem serve");
  enrich->require_subcommand(1);
  auto f = std::make_shared<BackfillFlags>();
  CLI::App* cmd = enrich->add_subcommand(
      "backfill",
      "Queue enrichment for the entities of --type that lack it (status not completed), at "
      "--rate; entities already enriched or queued are left alone");
  cmd->add_option("--type", f->type, "Entity type to backfill")->required();
  cmd->add_option("--rate", f->rate, "Jobs queued per second: N, N/s, N/m or N/h")
      ->capture_default_str();
  cmd->add_option("--enricher", f->enricher, "Only this enricher (default: every one of the type)");
  cmd->add_option("--limit", f->limit, "Entities per request (default: one second of work)")
      ->check(CLI::Range(1, 10'000));
  cmd->add_flag("--no-progress", f->no_progress, "No progress line on a terminal");
  AddClientOptions(cmd, &f->client, "Print the summary as one JSON object");
  cmd->callback([=] {
    *action = [=] {
      std::unique_ptr<HttpClient> client;
      Status s;
      try {
        s = RunBackfill(*f, &client);
      } catch (const Json::exception& e) {
        s = Status::Corruption(fmt::format("unexpected reply from the server: {}", e.what()));
      }
      *exit_code = ClientExitCode(s, client.get(), 0);
      return s;
    };
  });
}

}  // namespace tandem::cli
