#include "log/record_batch.h"

#include <gtest/gtest.h>

#include <deque>
#include <limits>
#include <string>
#include <vector>

#include "common/crc32c.h"
#include "log/dedup_index.h"
#include "log/offset_index.h"
#include "tandem/env.h"

namespace tandem::storage {
namespace {

ProduceRecord Make(std::string key, std::string value, std::string id,
                   std::vector<Header> headers = {}) {
  ProduceRecord r;
  r.key = std::move(key);
  r.value = std::move(value);
  r.id = std::move(id);
  r.headers = std::move(headers);
  return r;
}

std::string Encode(Compression c, uint64_t base, const std::vector<ProduceRecord>& records,
                   const std::vector<int64_t>& ts) {
  BatchBuilder b(c);
  std::string out = "prefix";  // the builder appends after existing bytes
  b.Start(base, &out);
  for (size_t i = 0; i < records.size(); ++i) b.Add(records[i], ts[i]);
  EXPECT_TRUE(b.Finish().ok());
  return out.substr(6);
}

std::vector<Record> DecodeAll(std::string_view data, Status* status) {
  std::vector<Record> out;
  BatchProbe p = ProbeBatch(data);
  if (p.outcome != ProbeOutcome::kBatch) {
    *status = Status::Corruption(p.reason);
    return out;
  }
  RecordDecoder d;
  Status conv;
  *status = d.Decode(p.header, data.substr(kBatchHeaderSize, p.header.body_length),
                     [&](const RecordView& v) {
                       out.emplace_back();
                       conv = v.ToRecord(&out.back());
                       return conv.ok();
                     });
  if (status->ok()) *status = conv;
  return out;
}

std::vector<ProduceRecord> SampleRecords() {
  return {Make("person-1", R"({"name":"Ada"})", "evt-1", {{"source", "crm"}, {"", ""}}),
          Make("", "", ""),  // empty key, value and id
          Make("k", std::string(3000, 'x'), "evt-3"),
          Make("person-2", "v", "", {{"h", std::string(200, 'y')}})};
}

class RecordBatchRoundTrip : public ::testing::TestWithParam<Compression> {};

TEST_P(RecordBatchRoundTrip, DecodesWhatWasEncoded) {
  std::vector<ProduceRecord> records = SampleRecords();
  // Timestamps out of order and at the extremes exercise the zigzag deltas.
  std::vector<int64_t> ts = {1'700'000'000'000'000, 5, std::numeric_limits<int64_t>::max(),
                             std::numeric_limits<int64_t>::min() + 1};
  std::string data = Encode(GetParam(), 42, records, ts);
  BatchProbe p = ProbeBatch(data);
  ASSERT_EQ(p.outcome, ProbeOutcome::kBatch) << p.reason;
  EXPECT_EQ(p.header.base_offset, 42u);
  EXPECT_EQ(p.header.record_count, 4u);
  EXPECT_EQ(p.header.size(), data.size());
  EXPECT_EQ(p.header.first_timestamp_us, ts[0]);
  EXPECT_EQ(p.header.max_timestamp_us, std::numeric_limits<int64_t>::max());
  EXPECT_EQ(p.header.compression, GetParam());
  Status s;
  std::vector<Record> out = DecodeAll(data, &s);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(out.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(out[i].offset, 42 + i);
    EXPECT_EQ(out[i].timestamp_us, ts[i]);
    EXPECT_EQ(out[i].key, records[i].key);
    EXPECT_EQ(out[i].value, records[i].value);
    EXPECT_EQ(out[i].id, records[i].id);
    EXPECT_EQ(out[i].headers, records[i].headers);
  }
}

TEST_P(RecordBatchRoundTrip, BuilderIsReusable) {
  BatchBuilder b(GetParam());
  std::string out;
  for (uint64_t base : {0u, 1u, 2u}) {
    b.Start(base, &out);
    b.Add(Make("k", "v" + std::to_string(base), ""), 7);
    ASSERT_TRUE(b.Finish().ok());
  }
  size_t pos = 0;
  for (uint64_t base : {0u, 1u, 2u}) {
    BatchProbe p = ProbeBatch(std::string_view(out).substr(pos));
    ASSERT_EQ(p.outcome, ProbeOutcome::kBatch);
    EXPECT_EQ(p.header.base_offset, base);
    pos += p.header.size();
  }
  EXPECT_EQ(pos, out.size());
}

INSTANTIATE_TEST_SUITE_P(Codecs, RecordBatchRoundTrip,
                         ::testing::Values(Compression::kNone, Compression::kZstd));

TEST(RecordBatch, HeaderIsFiftyTwoBytes) {
  std::string data = Encode(Compression::kNone, 0, {Make("", "", "")}, {0});
  EXPECT_EQ(kBatchHeaderSize, 52u);
  EXPECT_EQ(LoadFixed32(data.data()), kBatchMagic);
  EXPECT_EQ(data.substr(0, 4), "TDB1");
}

TEST(RecordBatch, EmptyBatchIsRefused) {
  BatchBuilder b(Compression::kNone);
  std::string out = "x";
  b.Start(0, &out);
  EXPECT_FALSE(b.Finish().ok());
  EXPECT_EQ(out, "x");  // restored
}

TEST(RecordBatch, ZstdShrinksRepetitiveRecords) {
  std::vector<ProduceRecord> records(50, Make("key", std::string(700, 'a'), "id"));
  std::vector<int64_t> ts(50, 1);
  EXPECT_LT(Encode(Compression::kZstd, 0, records, ts).size(),
            Encode(Compression::kNone, 0, records, ts).size() / 10);
}

// Every single-byte change anywhere in a batch is detected (CRC32C catches
// every burst of up to 32 bits), and never crashes.
TEST(RecordBatchCorruption, EverySingleByteChangeIsDetected) {
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    std::vector<ProduceRecord> records = {Make("a", "hello", "id1", {{"h", "v"}}),
                                          Make("", "", "")};
    std::string good = Encode(c, 7, records, {100, 90});
    for (size_t i = 0; i < good.size(); ++i) {
      for (uint8_t x : {0x01, 0x80, 0xff}) {
        std::string bad = good;
        bad[i] = static_cast<char>(bad[i] ^ x);
        Status s;
        DecodeAll(bad, &s);
        EXPECT_TRUE(s.IsCorruption()) << "byte " << i << " xor " << int(x);
      }
    }
  }
}

TEST(RecordBatchCorruption, TruncationIsTornAndEmptyIsCleanEnd) {
  std::string good = Encode(Compression::kNone, 0, SampleRecords(), {1, 2, 3, 4});
  for (size_t len = 0; len <= good.size(); ++len) {
    BatchProbe p = ProbeBatch(std::string_view(good).substr(0, len));
    if (len == 0) {
      EXPECT_EQ(p.outcome, ProbeOutcome::kEnd);
    } else if (len < good.size()) {
      EXPECT_EQ(p.outcome, ProbeOutcome::kBad) << len;
      EXPECT_TRUE(p.incomplete) << len;
    } else {
      EXPECT_EQ(p.outcome, ProbeOutcome::kBatch);
    }
  }
}

TEST(RecordBatchCorruption, ZeroesAreBadNotIncomplete) {
  std::string zeros(4096, '\0');
  BatchProbe p = ProbeBatch(zeros);
  EXPECT_EQ(p.outcome, ProbeOutcome::kBad);
  EXPECT_FALSE(p.incomplete);
}

// Re-sealing mutated bytes with fresh CRCs reaches the record parser with
// hostile input: it must answer Corruption or OK, never crash or hang.
TEST(RecordBatchCorruption, HostileRecordsWithValidChecksumsNeverCrash) {
  for (Compression c : {Compression::kNone, Compression::kZstd}) {
    std::string good = Encode(c, 0, SampleRecords(), {1, 2, 3, 4});
    BatchHeader h = ProbeBatch(good).header;
    Random rnd(42);
    int corrupt = 0;
    for (int round = 0; round < 3000; ++round) {
      std::string body = good.substr(kBatchHeaderSize);
      int flips = 1 + static_cast<int>(rnd.Uniform(4));
      for (int f = 0; f < flips; ++f) {
        body[rnd.Uniform(body.size())] = static_cast<char>(rnd.Next());
      }
      if (rnd.OneIn(5)) body.resize(rnd.Uniform(body.size() + 1));
      BatchHeader m = h;
      m.body_length = static_cast<uint32_t>(body.size());
      if (c == Compression::kNone) m.uncompressed_length = m.body_length;
      m.body_crc = crc32c::Value(body);
      if (rnd.OneIn(3)) m.record_count = 1 + static_cast<uint32_t>(rnd.Uniform(8));
      std::string data(kBatchHeaderSize, '\0');
      EncodeBatchHeader(m, data.data());
      data += body;
      Status s;
      DecodeAll(data, &s);
      if (!s.ok()) {
        EXPECT_TRUE(s.IsCorruption()) << s.ToString();
        ++corrupt;
      }
    }
    EXPECT_GT(corrupt, 0);
  }
}

TEST(RecordBatchCorruption, ImplausibleHeaderFieldsAreBad) {
  std::string good = Encode(Compression::kNone, 0, {Make("k", "v", "")}, {1});
  BatchHeader h = ProbeBatch(good).header;
  auto probe = [&](BatchHeader m) {
    std::string data = good;
    EncodeBatchHeader(m, data.data());
    return ProbeBatch(data).outcome;
  };
  BatchHeader m = h;
  m.record_count = 0;
  EXPECT_EQ(probe(m), ProbeOutcome::kBad);
  m = h;
  m.body_length = kMaxBatchBodyBytes + 1;
  EXPECT_EQ(probe(m), ProbeOutcome::kBad);
  m = h;
  m.max_timestamp_us = h.first_timestamp_us - 1;
  EXPECT_EQ(probe(m), ProbeOutcome::kBad);
  m = h;
  m.record_count = 1000;
  EXPECT_EQ(probe(m), ProbeOutcome::kBad);
}

// ---- OffsetIndex ----

TEST(OffsetIndex, LookupFindsTheLastEntryAtOrBelow) {
  OffsetIndex idx(100);
  EXPECT_EQ(idx.Lookup(150), 0u);
  idx.Add(110, 4096);
  idx.Add(120, 8192);
  idx.Add(115, 9000);  // not growing: ignored
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.Lookup(99), 0u);
  EXPECT_EQ(idx.Lookup(100), 0u);
  EXPECT_EQ(idx.Lookup(109), 0u);
  EXPECT_EQ(idx.Lookup(110), 4096u);
  EXPECT_EQ(idx.Lookup(119), 4096u);
  EXPECT_EQ(idx.Lookup(500), 8192u);
}

TEST(OffsetIndex, FileRoundTripsAndRejectsDamage) {
  OffsetIndex idx(100);
  idx.Add(110, 4096);
  idx.Add(120, 8192);
  SegmentSummary s{100, 130, 10000, 9000, 777};
  std::string file = idx.EncodeFile(s);
  EXPECT_EQ(file.size(), kIndexHeaderSize + 2 * kIndexEntrySize);
  SegmentSummary s2;
  OffsetIndex idx2;
  ASSERT_TRUE(OffsetIndex::DecodeFile(file, 100, &s2, &idx2).ok());
  EXPECT_EQ(s2, s);
  EXPECT_EQ(idx2.size(), 2u);
  EXPECT_EQ(idx2.Lookup(125), 8192u);
  EXPECT_TRUE(OffsetIndex::DecodeFile(file, 101, &s2, &idx2).IsCorruption());
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] ^= 0x10;
    EXPECT_TRUE(OffsetIndex::DecodeFile(bad, 100, &s2, &idx2).IsCorruption()) << i;
  }
  for (size_t len = 0; len < file.size(); ++len) {
    EXPECT_TRUE(OffsetIndex::DecodeFile(file.substr(0, len), 100, &s2, &idx2).IsCorruption());
  }
}

// ---- DedupIndex ----

TEST(DedupIndex, EvictsOldestBeyondMaxEntries) {
  DedupIndex d(3, 1'000'000);
  d.Insert("a", 0, 10);
  d.Insert("b", 1, 10);
  d.Insert("c", 2, 10);
  d.Insert("d", 3, 10);
  EXPECT_EQ(d.Find("a", 10), nullptr);
  ASSERT_NE(d.Find("b", 10), nullptr);
  EXPECT_EQ(d.Find("d", 10)->offset, 3u);
  EXPECT_EQ(d.size(), 3u);
}

TEST(DedupIndex, ForgetsIdsOlderThanTheWindow) {
  DedupIndex d(100, 1000);
  d.Insert("a", 0, 10'000);
  EXPECT_NE(d.Find("a", 10'500), nullptr);
  EXPECT_EQ(d.Find("a", 11'001), nullptr);
  // Re-inserting an expired id replaces it; the stale FIFO slot must not
  // later evict the new entry.
  d.Insert("a", 5, 11'001);
  d.Expire(11'500);
  ASSERT_NE(d.Find("a", 11'500), nullptr);
  EXPECT_EQ(d.Find("a", 11'500)->offset, 5u);
  d.Expire(20'000);
  EXPECT_EQ(d.size(), 0u);
}

TEST(DedupIndex, EraseFromDropsTheNewestEntries) {
  DedupIndex d(100, 1'000'000);
  d.Insert("a", 0, 1);
  d.Insert("b", 1, 1);
  d.Insert("c", 2, 1);
  d.EraseFrom(1);
  EXPECT_NE(d.Find("a", 1), nullptr);
  EXPECT_EQ(d.Find("b", 1), nullptr);
  EXPECT_EQ(d.Find("c", 1), nullptr);
  d.Insert("b", 1, 1);
  EXPECT_EQ(d.Find("b", 1)->offset, 1u);
}

TEST(DedupIndex, DisabledAndEmptyIdsNeverHit) {
  DedupIndex off(0, 1000);
  off.Insert("a", 0, 1);
  EXPECT_EQ(off.Find("a", 1), nullptr);
  DedupIndex on(10, 1000);
  on.Insert("", 0, 1);
  EXPECT_EQ(on.Find("", 1), nullptr);
  EXPECT_EQ(on.size(), 0u);
}

// The open-addressing table against a plain model: FIFO of (id, offset, ts,
// live) searched linearly, through inserts, evictions, expiry and EraseFrom.
TEST(DedupIndex, MatchesASimpleModelUnderRandomOperations) {
  struct M {
    std::string id;
    uint64_t offset;
    int64_t ts;
    bool live;
  };
  const uint64_t kMax = 50;
  const int64_t kWindow = 1000;
  DedupIndex d(kMax, kWindow);
  std::deque<M> model;
  auto model_find = [&](const std::string& id, int64_t now) -> const M* {
    for (const M& m : model) {
      if (m.live && m.id == id) return m.ts < now - kWindow ? nullptr : &m;
    }
    return nullptr;
  };
  auto model_live = [&] {
    size_t n = 0;
    for (const M& m : model) n += m.live;
    return n;
  };
  Random rnd(7);
  int64_t now = 10'000;
  uint64_t next = 0;
  for (int step = 0; step < 20000; ++step) {
    std::string id = "id" + std::to_string(rnd.Uniform(120));
    uint64_t op = rnd.Uniform(100);
    if (op < 70) {
      int64_t ts = now - static_cast<int64_t>(rnd.Uniform(1500));
      const bool combined = rnd.OneIn(2);
      const DedupIndex::Entry* e =
          combined ? d.FindOrInsert(id, DedupIndex::Hash(id), next, ts, now) : d.Find(id, now);
      const M* m = model_find(id, now);
      ASSERT_EQ(e == nullptr, m == nullptr) << step;
      if (e != nullptr) {
        ASSERT_EQ(e->offset, m->offset);
        continue;
      }
      for (M& old : model) {
        if (old.live && old.id == id) old.live = false;
      }
      model.push_back(M{id, next, ts, true});
      if (!combined) d.Insert(id, next, ts);
      ++next;
      while (model_live() > kMax) model.pop_front();
    } else if (op < 75) {
      uint64_t back = rnd.Uniform(5);
      uint64_t from = next > back ? next - back : 0;
      d.EraseFrom(from);
      while (!model.empty() && !(model.back().live && model.back().offset < from)) {
        model.pop_back();
      }
      next = from;
    } else if (op < 80) {
      d.Expire(now);
      while (!model.empty() && (!model.front().live || model.front().ts < now - kWindow)) {
        model.pop_front();
      }
    } else {
      now += static_cast<int64_t>(rnd.Uniform(50));
    }
    ASSERT_EQ(d.size(), model_live()) << step;
  }
}

}  // namespace
}  // namespace tandem::storage
