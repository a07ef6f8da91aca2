// The client commands: produce, search, entity, topics, subscriptions, dlq.
// Each talks HTTP to a running `tandem serve` (client.h); --json prints the
// server's JSON unchanged (produce: its own summary), otherwise a summary for
// people. Exit codes: client.h (ExitCode) and README.md.
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cli/client.h"
#include "cli/commands.h"
#include "cli/progress.h"

namespace tandem::cli {
namespace {

using Json = nlohmann::json;

constexpr size_t kReadChunk = size_t{1} << 20;
constexpr size_t kListIds = 5;  // ids listed per group in the search context
constexpr size_t kNameWidth = 60;

// --- shared ------------------------------------------------------------------

// A client command in flight: the client once connected and the exit code of
// a partial success. Run() hands the exit code to main().
struct Session {
  std::unique_ptr<HttpClient> client;
  int partial_exit = 0;
};

template <typename Flags, typename Fn>
void SetAction(CLI::App* cmd, Action* action, int* exit_code, std::shared_ptr<Flags> f, Fn run) {
  cmd->callback([=] {
    *action = [=] {
      Session session;
      Status s;
      try {
        s = run(*f, session);
      } catch (const Json::exception& e) {  // a reply whose shape the API does not document
        s = Status::Corruption(fmt::format("unexpected reply from the server: {}", e.what()));
      }
      *exit_code = ClientExitCode(s, session.client.get(), session.partial_exit);
      return s;
    };
  });
}

// GET `target`, decoded; a non-2xx reply fails with the server's message.
Status GetJson(Session& s, const ClientFlags& flags, const std::string& target, std::string* raw,
               Json* out) {
  TANDEM_ASSIGN_OR_RETURN(s.client, Connect(flags));
  TANDEM_ASSIGN_OR_RETURN(HttpReply r, s.client->Get(target));
  const std::string what = "GET " + target;
  if (!r.ok()) return s.client->Fail(r, what);
  *out = Json::parse(r.body, nullptr, false);
  if (!out->is_object()) {
    return Status::Corruption(fmt::format("{}: the server's reply is not a JSON object", what));
  }
  *raw = std::move(r.body);
  return Status::OK();
}

void PrintRaw(const std::string& body) {
  std::fwrite(body.data(), 1, body.size(), stdout);
  if (body.empty() || body.back() != '\n') std::fputc('\n', stdout);
}

// j[key], or null when j is not an object or has no such key (a const
// operator[] on a missing key is undefined behaviour in nlohmann/json).
const Json& At(const Json& j, const char* key) {
  static const Json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

std::string Str(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return "";
  const Json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

uint64_t U64(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>()
                                                                         : 0;
}

std::string Spaced(std::string s) {
  for (char& c : s) c = c == '_' ? ' ' : c;
  return s;
}

// "1 account", "2 companies", "3 sanction entries".
std::string Counted(uint64_t n, const std::string& label) {
  std::string word = Spaced(label);
  if (n != 1) {
    if (!word.empty() && word.back() == 'y') {
      word = word.substr(0, word.size() - 1) + "ies";
    } else if (!word.empty() && word.back() == 's') {
      word += "es";
    } else {
      word += "s";
    }
  }
  return std::to_string(n) + " " + word;
}

std::string IdList(const std::vector<std::string>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size() && i < kListIds; ++i) s += (i ? ", " : "") + ids[i];
  if (ids.size() > kListIds) s += fmt::format(", … (+{})", ids.size() - kListIds);
  return s;
}

std::string Shorten(std::string s, size_t width) {
  for (char& c : s) c = c == '\n' || c == '\t' ? ' ' : c;
  if (s.size() <= width) return s;
  size_t cut = width;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8
  return s.substr(0, cut) + "…";
}

// "person/2@3".
std::string PositionText(const Json& p) {
  if (!p.is_object()) return "-";
  return fmt::format("{}/{}@{}", Str(p, "topic"), U64(p, "partition"), U64(p, "offset"));
}

// --- produce -----------------------------------------------------------------

struct ProduceFlags {
  ClientFlags client;
  SenderFlags sender;
  std::string file = "-";
};

// Reads an fd in large chunks and hands out its lines.
class LineReader {
 public:
  static Result<std::unique_ptr<LineReader>> Open(const std::string& path) {
    int fd = 0;
    if (path != "-") {
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) {
        const std::string m = fmt::format("FILE: cannot open {}: {}", path, std::strerror(errno));
        return errno == ENOENT ? Status::NotFound(m) : Status::IOError(m);
      }
    }
    auto r = std::unique_ptr<LineReader>(new LineReader(fd, path));
    struct stat st {};
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) r->size_ = static_cast<uint64_t>(st.st_size);
    return r;
  }
  ~LineReader() {
    if (fd_ > 0) close(fd_);
  }
  // The next line without '\n' into *line; false at the end.
  Result<bool> Next(std::string* line) {
    while (true) {
      const size_t nl = buffer_.find('\n', at_);
      if (nl != std::string::npos) {
        line->assign(buffer_, at_, nl - at_);
        consumed_ += nl + 1 - at_;
        at_ = nl + 1;
        return true;
      }
      buffer_.erase(0, at_);
      at_ = 0;
      if (eof_) {
        if (buffer_.empty()) return false;
        line->swap(buffer_);
        buffer_.clear();
        consumed_ += line->size();
        return true;
      }
      TANDEM_RETURN_IF_ERROR(Fill());
    }
  }
  uint64_t size() const { return size_; }  // 0: unknown (not a regular file)
  uint64_t consumed() const { return consumed_; }

 private:
  LineReader(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Fill() {
    const size_t old = buffer_.size();
    buffer_.resize(old + kReadChunk);
    ssize_t n;
    do {
      n = read(fd_, buffer_.data() + old, kReadChunk);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      buffer_.resize(old);
      return Status::IOError(fmt::format("FILE: reading {}: {}", path_ == "-" ? "stdin" : path_,
                                         std::strerror(errno)));
    }
    buffer_.resize(old + static_cast<size_t>(n));
    eof_ = n == 0;
    return Status::OK();
  }
  const int fd_;
  const std::string path_;
  std::string buffer_;
  size_t at_ = 0;
  bool eof_ = false;
  uint64_t size_ = 0, consumed_ = 0;
};

Status RunProduce(const ProduceFlags& f, Session& s) {
  TANDEM_ASSIGN_OR_RETURN(std::unique_ptr<LineReader> in, LineReader::Open(f.file));
  TANDEM_ASSIGN_OR_RETURN(s.client, Connect(f.client));
  ProgressLine::Options po;
  po.enabled = ProgressLine::ShouldDraw(f.sender.no_progress);
  po.total = in->size();
  ProgressLine progress(po, SystemClock());
  NdjsonSender sender(*s.client, f.sender.ToOptions(), SystemClock(), PrintRejectedLine, &progress);
  std::string line;
  while (true) {
    TANDEM_ASSIGN_OR_RETURN(bool more, in->Next(&line));
    if (!more) break;
    TANDEM_RETURN_IF_ERROR(sender.Add(line, in->consumed()));
  }
  TANDEM_RETURN_IF_ERROR(sender.Finish());
  const SendSummary& sum = sender.summary();
  if (f.client.json) {
    fmt::print("{}\n", sum.ToJson());
  } else {
    fmt::print("produced to {}: {}\n", s.client->url(), sum.ToText());
  }
  if (sum.rejected > 0) {
    s.partial_exit = kExitPartial;
    return Status::InvalidArgument(
        fmt::format("{} of {} events rejected (listed above); the others were accepted",
                    sum.rejected, sum.accepted + sum.duplicates + sum.rejected));
  }
  return Status::OK();
}

void RegisterProduce(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<ProduceFlags>();
  CLI::App* cmd = app.add_subcommand(
      "produce",
      "Send NDJSON events (one per line) from a file or stdin to POST /v1/events, in batches; "
      "re-running is safe (the server drops duplicates by event_id)");
  cmd->add_option("FILE", f->file, "NDJSON file, '-' for stdin")->capture_default_str();
  AddClientOptions(cmd, &f->client, "Print the summary as one JSON object on stdout");
  AddSenderOptions(cmd, &f->sender);
  SetAction(cmd, action, exit_code, f, RunProduce);
}

// --- search ------------------------------------------------------------------

struct SearchFlags {
  ClientFlags client;
  std::string query;
  int k = 10;
  std::vector<std::string> types;
  std::vector<std::string> filters;
  int enrich = -1;  // -1: the server's default
  bool exact = false;
};

Result<std::string> SearchTarget(const SearchFlags& f) {
  std::string t = "/v1/search?q=" + UrlEncode(f.query) + "&k=" + std::to_string(f.k);
  for (const std::string& type : f.types) t += "&type=" + UrlEncode(type);
  for (const std::string& filter : f.filters) {
    const size_t eq = filter.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument(fmt::format(
          "--filter: must be field=value or field__gte=value (__ne, __lt, __lte, __gt, __gte), "
          "got \"{}\"",
          filter));
    }
    t += "&" + UrlEncode(filter.substr(0, eq)) + "=" + UrlEncode(filter.substr(eq + 1));
  }
  if (f.enrich >= 0) t += "&enrich=" + std::to_string(f.enrich);
  if (f.exact) t += "&exact=true";
  return t;
}

// The hit's display name: payload.name, else its text.
std::string HitName(const Json& hit) {
  std::string name = Str(At(hit, "payload"), "name");
  if (name.empty()) name = Str(hit, "text");
  return Shorten(name, kNameWidth);
}

// The subgraph the server returned around one search hit, summarised:
// DirectLine() from the edges at the hit ("owns 2 accounts: a-1, a-2;
// director of 1 company: c-3"), FurtherLine() from what lies two or more hops
// away (counts by label, and the persons and companies reached —
// "associates" — each with the vertex it was reached by).
class HitGraph {
 public:
  HitGraph(std::string id, const Json& graph) : id_(std::move(id)) {
    for (const Json& v : At(graph, "vertices")) {
      vertices_[Str(v, "id")] = VertexInfo{Str(v, "label"), U64(v, "depth")};
    }
    for (const Json& e : At(graph, "edges")) AddEdge(Str(e, "from"), Str(e, "label"), Str(e, "to"));
  }

  std::string DirectLine() const {
    std::string line;
    for (const auto& [key, ids] : direct_) {
      const auto& [in, label, other] = key;
      if (!line.empty()) line += "; ";
      line +=
          in ? fmt::format("{} {} it: {}", Counted(ids.size(), other), Spaced(label), IdList(ids))
             : fmt::format("{} {}: {}", Spaced(label), Counted(ids.size(), other), IdList(ids));
    }
    return line;
  }

  std::string FurtherLine() const {
    std::map<std::string, uint64_t> counts;
    std::vector<std::string> associates;
    for (const auto& [v, info] : vertices_) {
      if (info.depth < 2) continue;
      ++counts[info.label];
      if (info.label != "person" && info.label != "company") continue;
      auto by = reached_by_.find(v);
      associates.push_back(by == reached_by_.end()
                               ? v
                               : fmt::format("{} (via {} {})", v, LabelOf(by->second), by->second));
    }
    if (counts.empty()) return "";
    std::string line;
    for (const auto& [label, n] : counts) line += (line.empty() ? "" : ", ") + Counted(n, label);
    if (!associates.empty()) line += "; associates: " + IdList(associates);
    return "further: " + line;
  }

 private:
  struct VertexInfo {
    std::string label;
    uint64_t depth = 0;
  };

  std::string LabelOf(const std::string& v) const {
    auto it = vertices_.find(v);
    return it == vertices_.end() ? "vertex" : it->second.label;
  }

  void AddEdge(const std::string& from, const std::string& label, const std::string& to) {
    if (from == id_ || to == id_) {
      const bool in = to == id_ && from != id_;
      const std::string& other = in ? from : to;
      std::vector<std::string>& ids = direct_[{in, label, LabelOf(other)}];
      if (std::find(ids.begin(), ids.end(), other) == ids.end()) ids.push_back(other);
    }
    for (const auto& [a, b] : {std::pair{from, to}, std::pair{to, from}}) {
      auto va = vertices_.find(a), vb = vertices_.find(b);
      if (va != vertices_.end() && vb != vertices_.end() && va->second.depth >= 2 &&
          vb->second.depth + 1 == va->second.depth && !reached_by_.contains(a)) {
        reached_by_[a] = b;
      }
    }
  }

  const std::string id_;
  std::map<std::string, VertexInfo> vertices_;
  // (incoming?, edge label, neighbour label) → neighbour ids; outgoing first.
  std::map<std::tuple<bool, std::string, std::string>, std::vector<std::string>> direct_;
  std::map<std::string, std::string> reached_by_;  // vertex → a vertex one hop closer
};

std::vector<std::string> GraphContext(const std::string& id, const Json& graph) {
  HitGraph g(id, graph);
  std::vector<std::string> lines;
  for (std::string line : {g.DirectLine(), g.FurtherLine()}) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  if (graph.value("truncated", false)) lines.push_back("(graph context truncated)");
  return lines;
}

void PrintSearch(const Json& j) {
  const Json& hits = At(j, "hits");
  fmt::print("search \"{}\": {} hit{} in {:.1f} ms\n", Str(j, "query"), hits.size(),
             hits.size() == 1 ? "" : "s", j.value("took_ms", 0.0));
  size_t rank = 0;
  for (const Json& hit : hits) {
    const std::string id = Str(hit, "entity_id");
    fmt::print("{:>3}. {:.3f}  {}  {}  {}\n", ++rank, hit.value("score", 0.0), id,
               Str(hit, "entity_type"), HitName(hit));
    if (!hit.contains("graph") || At(hit, "graph").is_null()) {
      fmt::print("       (not in the graph)\n");
      continue;
    }
    std::vector<std::string> context = GraphContext(id, At(hit, "graph"));
    if (context.empty()) context.push_back("no connections");
    for (const std::string& line : context) fmt::print("       {}\n", line);
  }
}

Status RunSearch(const SearchFlags& f, Session& s) {
  TANDEM_ASSIGN_OR_RETURN(std::string target, SearchTarget(f));
  std::string raw;
  Json j;
  TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, target, &raw, &j));
  if (f.client.json) {
    PrintRaw(raw);
  } else {
    PrintSearch(j);
  }
  return Status::OK();
}

void RegisterSearch(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<SearchFlags>();
  CLI::App* cmd = app.add_subcommand(
      "search", "Vector search (GET /v1/search), each hit with its graph context");
  cmd->add_option("QUERY", f->query, "Text to search for (a name, misspelled or not)")->required();
  cmd->add_option("-k", f->k, "Hits wanted")->capture_default_str()->check(CLI::Range(1, 1000));
  cmd->add_option("--type", f->types, "Only this entity type (repeatable)");
  cmd->add_option("--filter", f->filters,
                  "Payload filter field=value, or field__ne|__lt|__lte|__gt|__gte=value "
                  "(repeatable)");
  cmd->add_option("--enrich", f->enrich, "Graph context depth 0..3 (server default 1)")
      ->check(CLI::Range(0, 3));
  cmd->add_flag("--exact", f->exact, "Brute-force search instead of the HNSW index");
  AddClientOptions(cmd, &f->client, "Print the server's JSON unchanged");
  SetAction(cmd, action, exit_code, f, RunSearch);
}

// --- entity ------------------------------------------------------------------

struct EntityFlags {
  ClientFlags client;
  std::string id;
};

std::string MarkerText(const Json& m) {
  if (!m.is_object()) return "nothing applied";
  std::string version = At(m, "version").is_null() ? "unversioned" : "v" + Str(m, "version");
  return fmt::format("event {} {} at {}{}", Str(m, "event_id"), version,
                     PositionText(At(m, "position")),
                     m.value("deleted", false) ? " (deleted)" : "");
}

std::string EdgeCounts(const Json& edges) {
  std::string s;
  for (const char* side : {"out", "in"}) {
    std::string part;
    for (const auto& [label, n] : At(edges, side).items()) {
      part += (part.empty() ? "" : ", ") + label + " " + n.dump();
    }
    s += fmt::format("{}{}: {}", s.empty() ? "" : " | ", side, part.empty() ? "none" : part);
  }
  if (edges.value("truncated", false)) s += " (counts truncated)";
  return s;
}

void PrintEntity(const Json& j) {
  const Json& g = At(j, "graph");
  const Json& v = At(j, "vector");
  const Json& pos = At(j, "positions");
  const std::string type = g.is_object() ? Str(g, "label") : Str(v, "entity_type");
  const Json& marker = At(pos, "graph").is_object() ? At(pos, "graph") : At(pos, "vector");
  std::string version =
      marker.is_object() && !At(marker, "version").is_null() ? Str(marker, "version") : "-";
  fmt::print("{}  {}  version {}\n", Str(j, "id"), type, version);
  const Json& props = g.is_object() ? At(g, "properties") : At(v, "payload");
  if (!Str(props, "name").empty()) fmt::print("  name     {}\n", Str(props, "name"));
  if (g.is_object()) {
    fmt::print("  graph    {}{}\n", MarkerText(At(pos, "graph")),
               g.value("placeholder", false) ? " (placeholder: referenced, not yet created)" : "");
    if (g.contains("edges")) fmt::print("           edges {}\n", EdgeCounts(At(g, "edges")));
  } else {
    fmt::print("  graph    not known\n");
  }
  if (v.is_object()) {
    fmt::print("  vector   {}\n           indexed {}\n", MarkerText(At(pos, "vector")),
               v.value("indexed", false) ? "yes" : "no");
  } else {
    fmt::print("  vector   not known\n");
  }
  if (j.value("agree", false)) {
    fmt::print("  stores agree: yes\n");
  } else {
    fmt::print(
        "  STORES DISAGREE: graph has {}, vector has {}\n"
        "  (a leg may still be catching up or have dead-lettered the event: see `tandem "
        "subscriptions` and `tandem dlq`)\n",
        MarkerText(At(pos, "graph")), MarkerText(At(pos, "vector")));
  }
}

Status RunEntity(const EntityFlags& f, Session& s) {
  std::string raw;
  Json j;
  TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, "/v1/entities/" + UrlEncode(f.id), &raw, &j));
  if (f.client.json) {
    PrintRaw(raw);
  } else {
    PrintEntity(j);
  }
  return Status::OK();
}

void RegisterEntity(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<EntityFlags>();
  CLI::App* cmd = app.add_subcommand(
      "entity", "One entity as each store holds it, and whether they agree (exit 4: unknown)");
  cmd->add_option("ID", f->id, "Entity id")->required();
  AddClientOptions(cmd, &f->client, "Print the server's JSON unchanged");
  SetAction(cmd, action, exit_code, f, RunEntity);
}

// --- topics ------------------------------------------------------------------

struct TopicsFlags {
  ClientFlags client;
  std::string name;
  bool peek = false;
  int64_t partition = 0;
  int64_t offset = 0;
  int64_t limit = 20;
};

void PrintTopics(const Json& topics) {
  fmt::print("{:<24} {:>12} {:>14} {:>10}\n", "topic", "records", "bytes", "partitions");
  for (const Json& t : topics) {
    fmt::print("{:<24} {:>12} {:>14} {:>10}\n", Str(t, "name"), WithThousands(U64(t, "records")),
               WithThousands(U64(t, "bytes")), At(t, "partitions").size());
  }
  if (topics.empty()) fmt::print("(no topics yet)\n");
}

void PrintTopic(const Json& t) {
  fmt::print("{}: {} records, {} bytes{}\n", Str(t, "name"), WithThousands(U64(t, "records")),
             WithThousands(U64(t, "bytes")), t.value("dlq", false) ? " (dead letters)" : "");
  fmt::print("{:>9} {:>12} {:>12} {:>12} {:>14} {:>8}\n", "partition", "start", "end", "records",
             "bytes", "segments");
  for (const Json& p : At(t, "partitions")) {
    fmt::print("{:>9} {:>12} {:>12} {:>12} {:>14} {:>8}\n", U64(p, "partition"),
               U64(p, "start_offset"), U64(p, "end_offset"), WithThousands(U64(p, "records")),
               WithThousands(U64(p, "bytes")), U64(p, "segments"));
  }
}

void PrintRecords(const Json& j) {
  fmt::print("{} partition {} (offsets {}..{}): {} record{}\n", Str(j, "topic"),
             U64(j, "partition"), U64(j, "start_offset"), U64(j, "end_offset"),
             At(j, "records").size(), At(j, "records").size() == 1 ? "" : "s");
  for (const Json& r : At(j, "records")) {
    const Json& value = At(r, "value");
    fmt::print("{:>8}  {}  {}  {}\n", U64(r, "offset"), Str(r, "key"), Str(r, "id"),
               value.is_string() ? value.get<std::string>() : value.dump());
  }
}

Status RunTopics(const TopicsFlags& f, Session& s) {
  if (f.peek && f.name.empty()) return Status::InvalidArgument("--peek: needs a topic NAME");
  std::string raw;
  Json j;
  if (f.peek) {
    const std::string target =
        fmt::format("/v1/admin/topics/{}/records?partition={}&offset={}&limit={}",
                    UrlEncode(f.name), f.partition, f.offset, f.limit);
    TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, target, &raw, &j));
    f.client.json ? PrintRaw(raw) : PrintRecords(j);
    return Status::OK();
  }
  TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, "/v1/admin/topics", &raw, &j));
  if (f.name.empty()) {
    f.client.json ? PrintRaw(raw) : PrintTopics(At(j, "topics"));
    return Status::OK();
  }
  for (const Json& t : At(j, "topics")) {
    if (Str(t, "name") != f.name) continue;
    f.client.json ? PrintRaw(t.dump()) : PrintTopic(t);
    return Status::OK();
  }
  return Status::NotFound(
      fmt::format("topic \"{}\": no such topic (`tandem topics` lists them)", f.name));
}

void RegisterTopics(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<TopicsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "topics",
      "The log's topics (records, bytes, partitions); one topic's partitions; or "
      "--peek at its records");
  cmd->add_option("NAME", f->name, "A topic: its partitions, or its records with --peek");
  cmd->add_flag("--peek", f->peek, "Print records of NAME");
  cmd->add_option("--partition", f->partition, "Partition to peek at")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--offset", f->offset, "First offset to peek at")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit", f->limit, "Records to peek at (1..1000)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  AddClientOptions(cmd, &f->client, "Print the server's JSON unchanged (one topic: its object)");
  SetAction(cmd, action, exit_code, f, RunTopics);
}

// --- subscriptions -----------------------------------------------------------

struct SubscriptionsFlags {
  ClientFlags client;
};

void PrintLegs(const Json& legs) {
  for (const Json& leg : legs) {
    const Json& st = At(leg, "stats");
    const std::string breaker = Str(leg, "breaker");
    fmt::print("{} (store {}): breaker {}, lag {}\n", Str(leg, "name"), Str(leg, "store"),
               breaker == "closed" ? breaker : "*** " + breaker + " ***",
               WithThousands(U64(leg, "total_lag")));
    fmt::print(
        "  applied {}, skipped stale {}, skipped duplicate {}, dead-lettered {} (undecodable {}, "
        "permanent {}, retries exhausted {}), retries {}\n",
        WithThousands(U64(st, "applied")), WithThousands(U64(st, "skipped_stale")),
        WithThousands(U64(st, "skipped_duplicate")),
        WithThousands(U64(st, "dead_lettered_undecodable") + U64(st, "dead_lettered_permanent") +
                      U64(st, "dead_lettered_exhausted")),
        U64(st, "dead_lettered_undecodable"), U64(st, "dead_lettered_permanent"),
        U64(st, "dead_lettered_exhausted"), WithThousands(U64(st, "retries")));
    fmt::print("  {:<20} {:>9} {:>12} {:>12} {:>10}\n", "topic", "partition", "committed", "end",
               "lag");
    for (const Json& p : At(leg, "lag")) {
      fmt::print("  {:<20} {:>9} {:>12} {:>12} {:>10}\n", Str(p, "topic"), U64(p, "partition"),
                 U64(p, "committed"), U64(p, "end"), U64(p, "lag"));
    }
  }
  if (legs.empty()) fmt::print("(no legs: both stores are disabled)\n");
}

Status RunSubscriptions(const SubscriptionsFlags& f, Session& s) {
  std::string raw;
  Json j;
  TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, "/v1/admin/legs", &raw, &j));
  f.client.json ? PrintRaw(raw) : PrintLegs(At(j, "legs"));
  return Status::OK();
}

void RegisterSubscriptions(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<SubscriptionsFlags>();
  CLI::App* cmd = app.add_subcommand(
      "subscriptions",
      "Each leg (the log → store subscriptions): breaker, lag per partition, outcome counters");
  AddClientOptions(cmd, &f->client, "Print the server's JSON unchanged");
  SetAction(cmd, action, exit_code, f, RunSubscriptions);
}

// --- dlq ---------------------------------------------------------------------

struct DlqFlags {
  ClientFlags client;
  int64_t limit = 0;  // 0: the server's default
  std::string topic;  // replay: the source topic
  bool new_ids = false;
  bool replay = false;
};

void PrintDlq(const Json& dlq) {
  for (const Json& t : dlq) {
    fmt::print("{} (dead letters of {}): {} record{}\n", Str(t, "topic"), Str(t, "source_topic"),
               U64(t, "records"), U64(t, "records") == 1 ? "" : "s");
    for (const Json& e : At(t, "entries")) {
      const Json& src = At(e, "source");
      fmt::print("  {}@{}  {}  reason {}  leg {}  from {}/{}@{}  deliveries {}\n",
                 U64(e, "partition"), U64(e, "offset"), Str(e, "event_id"), Str(e, "reason"),
                 Str(e, "subscription"), Str(src, "topic"), Str(src, "partition"),
                 Str(src, "offset"), Str(e, "delivery_count"));
    }
  }
  if (dlq.empty()) fmt::print("no dead letters\n");
}

void PrintReplay(const Json& j) {
  fmt::print("replayed {} dead letter{} of {} to {}: {} appended, {} duplicates{}\n",
             U64(j, "replayed"), U64(j, "replayed") == 1 ? "" : "s", Str(j, "dlq"), Str(j, "topic"),
             U64(j, "appended"), U64(j, "duplicates"),
             j.value("new_ids", false) ? " (new ids)" : "");
  for (const Json& u : At(j, "unparsable")) {
    fmt::print("  not replayed: {}@{}: {}\n", U64(u, "partition"), U64(u, "offset"),
               Str(u, "error"));
  }
  if (j.contains("hint")) fmt::print("hint: {}\n", Str(j, "hint"));
}

Status RunDlq(const DlqFlags& f, Session& s) {
  const std::string limit = f.limit > 0 ? fmt::format("limit={}", f.limit) : "";
  std::string raw;
  Json j;
  if (!f.replay) {
    const std::string target = "/v1/admin/dlq" + (limit.empty() ? "" : "?" + limit);
    TANDEM_RETURN_IF_ERROR(GetJson(s, f.client, target, &raw, &j));
    f.client.json ? PrintRaw(raw) : PrintDlq(At(j, "dlq"));
    return Status::OK();
  }
  TANDEM_ASSIGN_OR_RETURN(s.client, Connect(f.client));
  std::string target = fmt::format("/v1/admin/dlq/{}/replay?new_ids={}", UrlEncode(f.topic),
                                   f.new_ids ? "true" : "false");
  if (!limit.empty()) target += "&" + limit;
  TANDEM_ASSIGN_OR_RETURN(HttpReply r, s.client->Post(target, "", "application/json"));
  if (!r.ok()) return s.client->Fail(r, "POST " + target);
  j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("dlq replay: the server's reply is not JSON");
  f.client.json ? PrintRaw(r.body) : PrintReplay(j);
  return Status::OK();
}

void RegisterDlq(CLI::App& app, Action* action, int* exit_code) {
  auto f = std::make_shared<DlqFlags>();
  CLI::App* cmd = app.add_subcommand(
      "dlq", "Dead-letter topics: list them (default) or replay one to its source topic");
  cmd->require_subcommand(0, 1);
  cmd->add_option("--limit", f->limit,
                  "Records at most (list: per topic, 1..10000; replay: "
                  "1..10000)")
      ->check(CLI::Range(1, 10'000));
  AddClientOptions(cmd, &f->client, "Print the server's JSON unchanged");
  CLI::App* list = cmd->add_subcommand("list", "List every <topic>.dlq with its records");
  list->fallthrough();
  CLI::App* replay = cmd->add_subcommand(
      "replay",
      "Re-publish the dead letters of TOPIC.dlq to TOPIC; inside the dedup window they count as "
      "duplicates unless --new-ids");
  replay->fallthrough();
  replay->add_option("TOPIC", f->topic, "The source topic (its .dlq is replayed)")->required();
  replay->add_flag("--new-ids", f->new_ids,
                   "Append under <event_id>#replay-<partition>-<offset> (once per dead letter)");
  replay->callback([f] { f->replay = true; });
  SetAction(cmd, action, exit_code, f, RunDlq);
}

}  // namespace

// --- shared flags (client.h) --------------------------------------------------

SenderOptions SenderFlags::ToOptions() const {
  SenderOptions o;
  o.batch_lines = batch;
  o.max_batch_bytes = max_batch_bytes;
  o.retries = retries;
  return o;
}

void AddClientOptions(CLI::App* cmd, ClientFlags* f, const char* json_help) {
  cmd->add_option("--url", f->url,
                  "Server URL, http:// only (default $TANDEM_URL, else http://127.0.0.1:7400)");
  cmd->add_option("--token", f->token, "Bearer token (default $TANDEM_TOKEN)");
  cmd->add_option("--timeout", f->timeout, "Per request: 30, 30s, 500ms, 2m")
      ->capture_default_str();
  if (json_help != nullptr) cmd->add_flag("--json", f->json, json_help);
}

void AddSenderOptions(CLI::App* cmd, SenderFlags* f) {
  cmd->add_option("--batch", f->batch, "Lines per POST")
      ->capture_default_str()
      ->check(CLI::Range(1, 100'000));
  cmd->add_option("--max-batch-bytes", f->max_batch_bytes,
                  "Bytes per POST at most (keep below the server's max_body)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  cmd->add_option("--retries", f->retries, "Re-posts of a batch answered 429/503 (Retry-After)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  cmd->add_flag("--no-progress", f->no_progress,
                "No progress line (it is drawn only when stderr is a terminal)");
}

Result<std::unique_ptr<HttpClient>> Connect(const ClientFlags& f) {
  ClientOptions o;
  o.url = f.url.empty() ? DefaultUrl() : f.url;
  o.token = f.token;
  if (o.token.empty()) {
    const char* env = std::getenv("TANDEM_TOKEN");
    if (env != nullptr) o.token = env;
  }
  TANDEM_ASSIGN_OR_RETURN(o.timeout_seconds, ParseTimeout(f.timeout));
  return HttpClient::Create(o);
}

void PrintRejectedLine(uint64_t line, const std::string& errors) {
  std::fprintf(stderr, "line %llu: %s\n", static_cast<unsigned long long>(line), errors.c_str());
}

int ClientExitCode(const Status& s, const HttpClient* client, int fallback) {
  if (s.ok()) return kExitOk;
  if (client != nullptr && client->failure_exit_code() != 0) return client->failure_exit_code();
  return fallback;
}

void RegisterClientCommands(CLI::App& app, Action* action, int* exit_code) {
  RegisterProduce(app, action, exit_code);
  RegisterSearch(app, action, exit_code);
  RegisterEntity(app, action, exit_code);
  RegisterTopics(app, action, exit_code);
  RegisterSubscriptions(app, action, exit_code);
  RegisterDlq(app, action, exit_code);
}

}  // namespace tandem::cli
