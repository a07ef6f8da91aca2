// Embedders: text → fixed-dimension, L2-normalised float vectors, used by the
// vector leg. Two ship:
//
//  * hash: a built-in, deterministic character-n-gram + word feature-hashing
//    embedder. No model files; good at fuzzy matching of names and short
//    strings ("Jon Smyth" lands close to "John Smith"), useless for semantic
//    similarity ("bank" vs "lender").
//  * http: any server speaking the OpenAI-compatible `POST /v1/embeddings` API
//    (Ollama, Hugging Face TEI, vLLM, OpenAI). No model weights can be had
//    from Debian or npm, so tandem's own tests run it against a small local
//    server implementing that API, never against a real model.
//
//   HashEmbedderOptions o;               // 256 dimensions by default
//   std::unique_ptr<Embedder> e = NewHashEmbedder(o).value();
//   std::vector<float> out;
//   std::vector<std::string_view> texts = {"John Smith", "Jon Smyth"};
//   TANDEM_RETURN_IF_ERROR(e->Embed(texts, &out));  // out.size() == 2 * 256
//
// Errors are classified by code so a leg can route them:
//   transient (retry, count towards the breaker): kUnavailable (server down,
//     breaker open, HTTP 429/5xx), kIOError (connection reset), kBusy;
//   permanent (dead-letter the events): kInvalidArgument (a text the embedder
//     refuses, HTTP 400), kFailedPrecondition (the server's vectors have the
//     wrong dimension: "dimension: expected 256, server returned 384"),
//     kTooLarge (a text over the configured limit).
//
// Thread safety: Embed may be called concurrently from several threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tandem/env.h"
#include "tandem/status.h"

namespace tandem {

class Embedder {
 public:
  Embedder() = default;
  Embedder(const Embedder&) = delete;
  Embedder& operator=(const Embedder&) = delete;
  virtual ~Embedder() = default;

  // Dimension of every vector this embedder returns (fixed for its life).
  virtual size_t dimension() const = 0;

  // A stable description of the model, part of what a vector store records so
  // that vectors of different models are never mixed. It names every option
  // that changes the vectors: "hash:d=256:n=2-2:w=0.5:s=0:v1",
  // "http:<model>:d=<dimension>".
  virtual std::string model_id() const = 0;

  // Embeds `texts` into `out` (resized to texts.size() * dimension(); vector
  // i at out[i * dimension()]), each L2-normalised (a text with no features,
  // e.g. empty or only punctuation, gives the zero vector). All or nothing:
  // on error `out` is unspecified. An empty `texts` is OK and leaves `out` empty.
  virtual Status Embed(std::span<const std::string_view> texts, std::vector<float>* out) = 0;
};

// ---- hash ------------------------------------------------------------------

struct HashEmbedderOptions {
  // Output dimension (default 256; 8..4096). More: fewer hash collisions
  // (better ranking of near-duplicates), more memory and slower index inserts.
  size_t dimension = 256;
  // Character n-gram lengths taken from each word padded with boundary marks
  // ("^jon$": "^j","jo","on","n$"), default 2..2 (1..5 allowed). Measured on
  // misspelled names (bench/embed_bench, src/embed/README.md): bigrams rank
  // the intended name first more often than 2..3 or 2..4; adding unigrams
  // ranks better still but lifts the cosine of unrelated names from ~0.1 to
  // ~0.3, blurring thresholds and the vector index.
  uint32_t min_ngram = 2;
  uint32_t max_ngram = 2;
  // Weight of a whole-word feature relative to one n-gram (default 0.5; 0 =
  // n-grams only). Words make exact tokens count; n-grams make typos
  // forgivable; above 1 a typo in a word costs too much.
  float word_weight = 0.5f;
  // Seed of the feature hash. Changing it changes every vector (and model_id).
  uint64_t seed = 0;
  // Texts longer than this are refused with kTooLarge (default 64 KiB).
  size_t max_text_bytes = size_t{64} << 10;
};

// InvalidArgument naming the field for out-of-range options.
Result<std::unique_ptr<Embedder>> NewHashEmbedder(const HashEmbedderOptions& options);

// ---- http ------------------------------------------------------------------

struct HttpEmbedderOptions {
  // Base URL: "http://127.0.0.1:11434" (Ollama), "http://host:8080" (TEI),
  // "https://api.openai.com". The request goes to <url>/v1/embeddings.
  std::string url;
  // "model" member of the request ("nomic-embed-text", "text-embedding-3-small").
  std::string model;
  // Sent as "Authorization: Bearer <api_key>" when non-empty.
  std::string api_key;
  // Expected dimension; a response with another one is kFailedPrecondition.
  // Required (> 0): a store must know it before the first vector arrives.
  size_t dimension = 0;
  // Texts per request (default 64); Embed splits larger calls.
  size_t max_batch = 64;
  // Per-request timeout, connect + read (default 10 s).
  int64_t timeout_us = 10'000'000;
  // Attempts per request on transient failures (default 3, >= 1), with
  // exponential backoff from initial_backoff_us (default 100 ms) capped at
  // max_backoff_us (default 2 s), ±20% jitter.
  uint32_t max_attempts = 3;
  int64_t initial_backoff_us = 100'000;
  int64_t max_backoff_us = 2'000'000;
  // Circuit breaker: after `breaker_failure_threshold` consecutive failed
  // requests (default 5; 0 = never) calls fail fast with kUnavailable for
  // breaker_open_us (default 10 s), then one trial request decides.
  uint32_t breaker_failure_threshold = 5;
  int64_t breaker_open_us = 10'000'000;
  // Texts longer than this are refused with kTooLarge (default 64 KiB).
  size_t max_text_bytes = size_t{64} << 10;
  // Clock for backoff sleeps and the breaker; nullptr = SystemClock().
  Clock* clock = nullptr;
};

// InvalidArgument naming the field for bad options (unparsable url, empty
// model, dimension 0, ...). Does not contact the server.
Result<std::unique_ptr<Embedder>> NewHttpEmbedder(const HttpEmbedderOptions& options);

}  // namespace tandem
