// `tandem log …`: work directly on an embedded log directory (no server).
//   append  --dir D [--file F]        NDJSON events → topics by entity_type
//   read    --dir D --topic T [--partition P] [--from O] [--max N]
//   consume --dir D --subscription S  drain every topic through a subscription, ack, commit
//   stats   --dir D [--json]
//   verify  --dir D [--json]          CRC walk of every batch; exit 1 on damage
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "tandem/producer.h"
#include "tandem/env.h"
#include "tandem/log.h"

namespace tandem::cli {
namespace {

struct LogFlags {
  std::string dir;
  std::string file = "-";
  std::string topic;
  int64_t partition = -1;
  uint64_t from = 0;
  uint64_t max = 20;
  uint32_t partitions = 8;
  bool json = false;
  std::string subscription = "cli";
};

Result<std::unique_ptr<Log>> OpenLog(const LogFlags& f) {
  LogOptions o;
  o.dir = f.dir;
  o.default_partitions = f.partitions;
  return Log::Open(o);
}

Status Append(const LogFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenLog(f));
  std::ifstream file;
  std::istream* in = &std::cin;
  if (f.file != "-") {
    file.open(f.file);
    if (!file) return Status::NotFound("--file: cannot open " + f.file);
    in = &file;
  }
  TANDEM_ASSIGN_OR_RETURN(IngestSummary sum, IngestNdjson(*log, *in));
  std::printf("appended %llu events (%llu duplicates acknowledged with their original offset, "
              "%llu rejected)\n",
              static_cast<unsigned long long>(sum.appended),
              static_cast<unsigned long long>(sum.duplicates),
              static_cast<unsigned long long>(sum.rejected.size()));
  for (const std::string& r : sum.rejected) std::printf("  rejected %s\n", r.c_str());
  TANDEM_RETURN_IF_ERROR(log->Close());
  return sum.rejected.empty() ? Status::OK()
                              : Status::InvalidArgument("some events were rejected");
}

void PrintRecord(const Record& r, bool json) {
  if (json) {
    std::printf("%s\n", r.value.c_str());
    return;
  }
  std::printf("  @%-6llu key=%-14s id=%-22s %s\n", static_cast<unsigned long long>(r.offset),
              r.key.c_str(), r.id.c_str(),
              r.value.size() > 100 ? (r.value.substr(0, 97) + "...").c_str() : r.value.c_str());
}

Status Read(const LogFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenLog(f));
  TANDEM_ASSIGN_OR_RETURN(TopicStats st, log->Stats(f.topic));
  for (const PartitionStats& ps : st.partitions) {
    if (f.partition >= 0 && ps.partition != static_cast<uint32_t>(f.partition)) continue;
    if (!f.json) std::printf("%s/%u:\n", f.topic.c_str(), ps.partition);
    std::vector<Record> recs;
    TANDEM_RETURN_IF_ERROR(log->Read(f.topic, ps.partition, f.from, 1 << 20, &recs));
    for (size_t i = 0; i < recs.size() && i < f.max; ++i) PrintRecord(recs[i], f.json);
  }
  return log->Close();
}

// Drains every non-internal topic through subscription `f.subscription`,
// acknowledging each message, then commits and prints the lag left.
Status Consume(const LogFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenLog(f));
  SubscriptionOptions so;
  so.name = f.subscription;
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Subscription> sub, log->Subscribe(so));
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Consumer> consumer, sub->AddConsumer("cli"));
  std::map<std::string, uint64_t> per_topic;
  for (int idle = 0; idle < 3;) {  // stop after three empty polls of 50 ms
    TANDEM_ASSIGN_OR_RETURN(std::vector<Message> msgs, consumer->Poll(1024, 50'000));
    idle = msgs.empty() ? idle + 1 : 0;
    for (const Message& m : msgs) {
      ++per_topic[m.id.topic];
      TANDEM_RETURN_IF_ERROR(consumer->Ack(m.id));
    }
  }
  TANDEM_RETURN_IF_ERROR(sub->Commit());
  std::printf("subscription '%s' consumed:\n", f.subscription.c_str());
  for (const auto& [topic, n] : per_topic) {
    std::printf("  %-16s %llu\n", topic.c_str(), static_cast<unsigned long long>(n));
  }
  uint64_t lag = 0;
  for (const PartitionLag& l : sub->Lag()) lag += l.lag();
  std::printf("lag after commit: %llu\n", static_cast<unsigned long long>(lag));
  consumer.reset();
  sub.reset();
  return log->Close();
}

Status Stats(const LogFlags& f) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<Log> log, OpenLog(f));
  if (!f.json) {
    std::printf("%-24s %10s %12s %12s %9s\n", "topic", "partitions", "records", "bytes",
                "segments");
  }
  std::string sep;
  if (f.json) std::printf("[");
  for (const std::string& topic : log->ListTopics()) {
    TANDEM_ASSIGN_OR_RETURN(TopicStats st, log->Stats(topic));
    uint32_t segments = 0;
    for (const PartitionStats& ps : st.partitions) segments += ps.segments;
    if (f.json) {
      std::printf("%s{\"topic\":\"%s\",\"partitions\":%zu,\"records\":%llu,\"bytes\":%llu}",
                  sep.c_str(), topic.c_str(), st.partitions.size(),
                  static_cast<unsigned long long>(st.records()),
                  static_cast<unsigned long long>(st.bytes()));
      sep = ",";
    } else {
      std::printf("%-24s %10zu %12llu %12llu %9u\n", topic.c_str(), st.partitions.size(),
                  static_cast<unsigned long long>(st.records()),
                  static_cast<unsigned long long>(st.bytes()), segments);
    }
  }
  if (f.json) std::printf("]\n");
  return log->Close();
}

Status Verify(const LogFlags& f) {
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  VerifyReport report;
  TANDEM_RETURN_IF_ERROR(VerifyLogDir(*fs, f.dir, &report));
  if (f.json) {
    std::printf("{\"segments\":%llu,\"batches\":%llu,\"records\":%llu,\"issues\":[",
                static_cast<unsigned long long>(report.segments),
                static_cast<unsigned long long>(report.batches),
                static_cast<unsigned long long>(report.records));
    for (size_t i = 0; i < report.issues.size(); ++i) {
      const VerifyIssue& is = report.issues[i];
      std::printf("%s{\"file\":\"%s\",\"offset\":%llu,\"problem\":\"%s\"}", i ? "," : "",
                  is.file.c_str(), static_cast<unsigned long long>(is.file_offset),
                  is.problem.c_str());
    }
    std::printf("]}\n");
  } else {
    std::printf("verified %llu segments, %llu batches, %llu records: %s\n",
                static_cast<unsigned long long>(report.segments),
                static_cast<unsigned long long>(report.batches),
                static_cast<unsigned long long>(report.records),
                report.issues.empty() ? "OK" : "DAMAGED");
    for (const VerifyIssue& is : report.issues) {
      std::printf("  %s at byte %llu: %s\n", is.file.c_str(),
                  static_cast<unsigned long long>(is.file_offset), is.problem.c_str());
    }
  }
  if (report.issues.empty()) return Status::OK();
  return Status::Corruption(fmt::format("{} problem(s) found in {}", report.issues.size(), f.dir));
}

}  // namespace

void RegisterLogCommands(CLI::App& app, Action* action) {
  auto flags = std::make_shared<LogFlags>();
  CLI::App* log = app.add_subcommand("log", "Work directly on an embedded log directory");
  log->require_subcommand(1);
  auto add_dir = [&](CLI::App* c) {
    c->add_option("--dir", flags->dir, "Log directory")->required();
  };
  CLI::App* append = log->add_subcommand("append", "Append NDJSON events (topic = entity_type)");
  add_dir(append);
  append->add_option("--file", flags->file, "NDJSON file, '-' for stdin");
  append->add_option("--partitions", flags->partitions, "Partitions of new topics");
  append->callback([=] { *action = [=] { return Append(*flags); }; });

  CLI::App* read = log->add_subcommand("read", "Print records of a topic");
  add_dir(read);
  read->add_option("--topic", flags->topic, "Topic")->required();
  read->add_option("--partition", flags->partition, "Only this partition");
  read->add_option("--from", flags->from, "First offset");
  read->add_option("--max", flags->max, "Records per partition");
  read->add_flag("--json", flags->json, "Print the raw values");
  read->callback([=] { *action = [=] { return Read(*flags); }; });

  CLI::App* consume = log->add_subcommand("consume", "Drain all topics through a subscription");
  add_dir(consume);
  consume->add_option("--subscription", flags->subscription, "Subscription name");
  consume->callback([=] { *action = [=] { return Consume(*flags); }; });

  CLI::App* stats = log->add_subcommand("stats", "Per-topic record counts and sizes");
  add_dir(stats);
  stats->add_flag("--json", flags->json, "JSON output");
  stats->callback([=] { *action = [=] { return Stats(*flags); }; });

  CLI::App* verify = log->add_subcommand("verify", "Check every batch's CRC and offsets");
  add_dir(verify);
  verify->add_flag("--json", flags->json, "JSON output");
  verify->callback([=] { *action = [=] { return Verify(*flags); }; });
}

}  // namespace tandem::cli
