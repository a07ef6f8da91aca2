// `tandem generate`: synthetic banking data (src/gen/banking.h) as NDJSON
// events, one per line, on stdout or into a file, or with --send [URL]
// streamed to a running `tandem serve` through the same NdjsonSender as
// `tandem produce` (no temporary file); --summary/--json print the counts and
// the planted patterns (the answers a demo should find): to stderr when the
// events go to stdout, else to stdout.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "gen/banking.h"
#include "tandem/env.h"

namespace tandem::cli {
namespace {

// Flag values as typed, parsed here so that a bad one gets exit 2 and a
// message naming the flag (CLI11's own conversions exit otherwise).
struct GenerateFlags {
  std::string seed = "1";
  std::string persons, companies, transactions, communications, sanctioned, updates, early;
  std::string out = "-";
  bool summary = false;
  bool json = false;
  // --send [URL]: given (with or without a URL) → events go to the server.
  bool send = false;
  std::string send_url;
  ClientFlags client;
  SenderFlags sender;
};

constexpr uint64_t kMaxCount = 100'000'000;

Result<uint64_t> ParseCount(std::string_view flag, const std::string& text, uint64_t max) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::InvalidArgument(
        fmt::format("{}: must be a non-negative integer, got \"{}\"", flag, text));
  }
  if (v < 0) return Status::InvalidArgument(fmt::format("{}: must be >= 0, got {}", flag, v));
  if (static_cast<uint64_t>(v) > max) {
    return Status::InvalidArgument(fmt::format("{}: must be at most {}, got {}", flag, max, v));
  }
  return static_cast<uint64_t>(v);
}

Result<double> ParseShare(std::string_view flag, const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !(v >= 0.0 && v <= 1.0)) {
    return Status::InvalidArgument(
        fmt::format("{}: must be a share in 0..1, got \"{}\"", flag, text));
  }
  return v;
}

Result<gen::BankingOptions> ToOptions(const GenerateFlags& f) {
  gen::BankingOptions o;
  TANDEM_ASSIGN_OR_RETURN(o.seed, ParseCount("--seed", f.seed, UINT64_MAX >> 1));
  auto count = [](std::string_view flag, const std::string& text, size_t* out) -> Status {
    if (text.empty()) return Status::OK();
    TANDEM_ASSIGN_OR_RETURN(uint64_t v, ParseCount(flag, text, kMaxCount));
    *out = static_cast<size_t>(v);
    return Status::OK();
  };
  TANDEM_RETURN_IF_ERROR(count("--persons", f.persons, &o.persons));
  TANDEM_RETURN_IF_ERROR(count("--companies", f.companies, &o.companies));
  TANDEM_RETURN_IF_ERROR(count("--transactions", f.transactions, &o.transactions));
  TANDEM_RETURN_IF_ERROR(count("--communications", f.communications, &o.communications));
  if (!f.sanctioned.empty()) {
    TANDEM_ASSIGN_OR_RETURN(uint64_t n, ParseCount("--sanctioned", f.sanctioned, kMaxCount));
    o.sanctioned_companies = static_cast<size_t>(n / 5);  // four persons to one company
    o.sanctioned_persons = static_cast<size_t>(n) - o.sanctioned_companies;
  }
  if (!f.updates.empty()) {
    TANDEM_ASSIGN_OR_RETURN(o.updates_share, ParseShare("--updates", f.updates));
  }
  if (!f.early.empty()) {
    TANDEM_ASSIGN_OR_RETURN(o.early_arrival_share, ParseShare("--early", f.early));
  }
  if (o.communications > 0 && o.persons < 2) {
    return Status::InvalidArgument("--communications: needs --persons of at least 2");
  }
  if (o.transactions > 0 && o.persons + o.companies < 2) {
    return Status::InvalidArgument("--transactions: needs at least 2 --persons or --companies");
  }
  return o;
}

// Buffers lines and writes them in large blocks to stdout or a file.
class Output {
 public:
  static Result<std::unique_ptr<Output>> Open(const std::string& path, FileSystem& fs) {
    auto out = std::unique_ptr<Output>(new Output(path));
    if (path != "-") {
      Result<std::unique_ptr<WritableFile>> f = fs.NewWritableFile(path);
      if (!f.ok()) return Status(f.status().code(), "--out: " + f.status().message());
      out->file_ = *std::move(f);
    }
    return out;
  }
  Status Write(std::string_view line) {
    buffer_.append(line);
    return buffer_.size() >= (size_t{1} << 20) ? Flush() : Status::OK();
  }
  Status Finish() {
    TANDEM_RETURN_IF_ERROR(Flush());
    if (!file_)
      return std::fflush(stdout) == 0 ? Status::OK() : Status::IOError("stdout: write failed");
    TANDEM_RETURN_IF_ERROR(file_->Sync());
    return file_->Close();
  }

 private:
  explicit Output(std::string path) : path_(std::move(path)) {}
  Status Flush() {
    if (buffer_.empty()) return Status::OK();
    if (file_) {
      TANDEM_RETURN_IF_ERROR(file_->Append(buffer_));
    } else if (std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size()) {
      return Status::IOError("stdout: write failed");
    }
    buffer_.clear();
    return Status::OK();
  }
  std::string path_;
  std::unique_ptr<WritableFile> file_;
  std::string buffer_;
};

std::string Join(const std::vector<std::string>& ids, size_t max) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < max; ++i) s += (i ? ", " : "") + ids[i];
  if (ids.size() > max) s += fmt::format(", … ({} in all)", ids.size());
  return s;
}

void PrintSummary(const gen::BankingGenerator& g, std::FILE* to) {
  const gen::BankingCounts& c = g.counts();
  fmt::print(to, "generated {} events (seed {})\n", c.total, g.options().seed);
  for (const auto& [type, n] : c.creates) fmt::print(to, "  {:<15} {:>9}\n", type, n);
  fmt::print(to,
             "  updates {}, deletes {}, early arrivals {} (transactions before their account)\n",
             c.updates, c.deletes, c.early_arrivals);
  const gen::PlantedPatterns& p = g.planted();
  fmt::print(to, "planted patterns (the expected answers):\n");
  if (p.director_id.empty()) {
    fmt::print(to,
               "  sanctioned director: not planted (too few persons, companies or sanctioned)\n");
  } else {
    fmt::print(to, "  sanctioned director: {} \"{}\" (list entry {}) directs and owns {}\n",
               p.director_id, p.director_name, p.director_entry, p.company_id);
    fmt::print(to, "    its accounts {} paid {} transfers just under 10,000 to {}\n",
               Join(p.company_accounts, 3), p.flow_transactions.size(), Join(p.flow_recipients, 4));
  }
  if (p.mule_account.empty()) {
    fmt::print(to, "  fan-in: not planted\n");
  } else {
    fmt::print(
        to, "  fan-in: mule account {} (owner {}) receives {} small transfers from {} accounts\n",
        p.mule_account, p.mule_owner, p.fan_in_transactions.size(), p.fan_in_senders.size());
  }
  if (p.chain_accounts.empty()) {
    fmt::print(to, "  chain: not planted\n");
  } else {
    std::string chain;
    for (size_t i = 0; i < p.chain_accounts.size(); ++i)
      chain += (i ? " → " : "") + p.chain_accounts[i];
    fmt::print(to, "  chain: {} ({})\n", chain, Join(p.chain_transactions, 10));
  }
  const std::vector<gen::SanctionedName>& names = g.SanctionedNames();
  fmt::print(to, "screening queries (misspelled name → expected match), {} list entries in all:\n",
             names.size());
  for (size_t i = 0; i < names.size() && i < 5; ++i) {
    const gen::SanctionedName& s = names[i];
    fmt::print(to, "  \"{}\" → {} \"{}\" (listed as \"{}\" on {})\n", s.query, s.entity_id,
               s.customer_name, s.listed_name, s.list);
  }
}

// Progress on a terminal's stderr for long runs (percent of the events).
ProgressLine::Options ProgressFor(const gen::BankingGenerator& g, bool no_progress) {
  ProgressLine::Options o;
  o.enabled = g.counts().total >= 20'000 && ProgressLine::ShouldDraw(no_progress);
  o.total = g.counts().total;
  return o;
}

Status RunGenerate(const GenerateFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(gen::BankingOptions options, ToOptions(f));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<gen::BankingGenerator> g,
                          gen::BankingGenerator::Create(options));
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Output> out, Output::Open(f.out, *fs));
  ProgressLine progress(ProgressFor(*g, f.sender.no_progress), SystemClock());
  uint64_t done = 0;
  Status s = g->GenerateNdjson([&](std::string_view line) {
    ++done;
    progress.Update(done, done);
    return out->Write(line);
  });
  progress.Finish();
  TANDEM_RETURN_IF_ERROR(s);
  TANDEM_RETURN_IF_ERROR(out->Finish());
  std::FILE* to = f.out == "-" ? stderr : stdout;
  if (f.json) {
    fmt::print(to, "{}\n", g->SummaryJson());
  } else if (f.summary) {
    PrintSummary(*g, to);
  }
  return Status::OK();
}

// --send: the generated lines go through the NdjsonSender (as `tandem
// produce`), a batch at a time; nothing is written to stdout but the
// summaries.
Status RunGenerateSend(const GenerateFlags& f, std::unique_ptr<HttpClient>* client,
                       int* partial_exit) {
  if (f.out != "-") return Status::InvalidArgument("--out: cannot be combined with --send");
  TANDEM_ASSIGN_OR_RETURN(gen::BankingOptions options, ToOptions(f));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<gen::BankingGenerator> g,
                          gen::BankingGenerator::Create(options));
  ClientFlags cf = f.client;
  if (!f.send_url.empty()) cf.url = f.send_url;
  TANDEM_ASSIGN_OR_RETURN(*client, Connect(cf));
  ProgressLine progress(ProgressFor(*g, f.sender.no_progress), SystemClock());
  NdjsonSender sender(**client, f.sender.ToOptions(), SystemClock(), PrintRejectedLine, &progress);
  uint64_t done = 0;
  TANDEM_RETURN_IF_ERROR(
      g->GenerateNdjson([&](std::string_view line) { return sender.Add(line, ++done); }));
  TANDEM_RETURN_IF_ERROR(sender.Finish());
  const SendSummary& sum = sender.summary();
  if (f.json) {
    fmt::print("{{\"sent\":{},\"generated\":{}}}\n", sum.ToJson(), g->SummaryJson());
  } else {
    fmt::print("sent {} generated events (seed {}) to {}: {}\n", WithThousands(g->counts().total),
               g->options().seed, (*client)->url(), sum.ToText());
    if (f.summary) PrintSummary(*g, stdout);
  }
  if (sum.rejected > 0) {
    *partial_exit = kExitPartial;
    return Status::InvalidArgument(
        fmt::format("{} of {} events rejected (listed above); the others were accepted",
                    sum.rejected, sum.accepted + sum.duplicates + sum.rejected));
  }
  return Status::OK();
}

}  // namespace

void RegisterGenerateCommand(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<GenerateFlags>();
  const gen::BankingOptions d;
  CLI::App* cmd = app.add_subcommand(
      "generate",
      "Synthetic banking data (persons, companies, accounts, transactions, communications, a "
      "sanctions list) as NDJSON events; the same --seed gives the same bytes");
  cmd->add_option("--seed", f->seed, "Seed of every draw")->capture_default_str();
  cmd->add_option("--persons", f->persons, fmt::format("Persons (default {})", d.persons));
  cmd->add_option("--companies", f->companies, fmt::format("Companies (default {})", d.companies));
  cmd->add_option("--transactions", f->transactions,
                  fmt::format("Transactions (default {})", d.transactions));
  cmd->add_option("--communications", f->communications,
                  fmt::format("Communications (default {})", d.communications));
  cmd->add_option(
      "--sanctioned", f->sanctioned,
      fmt::format("Customers on the sanctions list, 4 persons to 1 company (default {})",
                  d.sanctioned_persons + d.sanctioned_companies));
  cmd->add_option("--updates", f->updates,
                  fmt::format("Share 0..1 of persons, companies and accounts updated later; a "
                              "fifth of it of communications deleted (default {})",
                              d.updates_share));
  cmd->add_option("--early", f->early,
                  fmt::format("Share 0..1 of transactions sent before their account exists "
                              "(default {})",
                              d.early_arrival_share));
  cmd->add_option("--out", f->out, "File to write, '-' for stdout")->capture_default_str();
  cmd->add_flag("--summary", f->summary,
                "Print counts, planted patterns and screening queries (stderr when --out is '-', "
                "else stdout)");
  cmd->add_flag("--json", f->json,
                "Print the summary as one JSON object instead (with --send, on stdout: "
                "{\"sent\": the send summary, \"generated\": the summary})");
  CLI::Option* send =
      cmd->add_option("--send", f->send_url,
                      "Stream the events to a running `tandem serve` (POST /v1/events, as "
                      "`tandem produce`) instead of printing them; URL defaults to --url")
          ->expected(0, 1);
  AddClientOptions(cmd, &f->client, nullptr);
  AddSenderOptions(cmd, &f->sender);
  cmd->callback([f, action, exit_code, send] {
    f->send = send->count() > 0;
    *action = [f, exit_code] {
      if (!f->send) return RunGenerate(*f);
      std::unique_ptr<HttpClient> client;
      int partial_exit = 0;
      Status s = RunGenerateSend(*f, &client, &partial_exit);
      *exit_code = ClientExitCode(s, client.get(), partial_exit);
      return s;
    };
  });
}

}  // namespace tandem::cli
