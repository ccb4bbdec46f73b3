// Learning Match2 with one attention unit (issue 12 item 5): a position-free unit whose query,
// key, value and residual are tables over token values, and whose ψ thresholds the norm of the
// output, trained with LibTorch on seeded samples and exported as a model file of class
// match2-table, so that the certified Match2 checker (the one `check match2 --model` runs, with
// the multiset reduction) judges it over every input of [M]^N.
//
// Torch-free header: the trainer is one source file (match2_trainer_torch.cpp), compiled only
// when LibTorch is found; otherwise match2_trainer_stub.cpp says it is absent.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "learn/qsa_learning.hpp"  // LearningInterrupted, learning_available
#include "modelfile/match2_model.hpp"

namespace attnbounds {

struct Match2LearnConfig {
  static constexpr FieldLimits kN{2, 64}, kM{2, 4096}, kWidth{1, kMatch2TableMaxWidth}, kSamples{1, 1000000};
  int N = 4, M = 8;
  int k = 4, d = 4;                  // query/key width, value width (both <= kMatch2TableMaxWidth)
  bool residual = true;              // a residual table over token values
  std::int64_t samples = 2000;       // training inputs (each has N labelled tokens)
  std::int64_t validation = 500;     // held-out inputs for early stopping
  std::int64_t test = 2000;          // held-out inputs for the reported test error
  std::uint64_t seed = 1;
  int epochs = 300;
  int batch = 64;
  double lr = 0.05;                  // Adam
  int patience = 40;
  int threads = 1;                   // 1: bit-reproducible

  // Throws ConfigError naming the field: N in 2..64, M in 2..4096, k and d in 1..16, samples,
  // validation, test >= 1 (bounded), epochs, batch, patience >= 1, lr in (0, 10], threads >= 1.
  void validate() const;
};

// Inputs x ∈ [M]^N, count × N, row-major, and each token's Match2 label (1 = matched: some j,
// j = i allowed, has x_i + x_j ≡ 0 mod M; tasks.hpp's definition).  Balanced sampler: each
// input is uniform on [M]^N, and with probability 1/2 a match is planted (x_j := −x_i mod M for
// uniform positions i ≠ j), so both classes appear at every N, M.
struct Match2Samples {
  int N = 0, M = 0;
  std::int64_t count = 0;
  std::vector<int> x;
  std::vector<std::uint8_t> label;
  double matched_fraction() const;
};
// stream separates the training, validation and test sets of one seed.
Match2Samples draw_match2_samples(int N, int M, std::int64_t count, std::uint64_t seed, int stream);

// A trained unit: tables row-major over token values (query, key M × k; value, residual M × d;
// residual empty without one) and ψ = 1[‖out‖ < threshold].
struct TrainedMatch2 {
  int N = 0, M = 0, k = 0, d = 0;
  std::vector<double> query, key, value, residual;
  double threshold = 0;
};

struct Match2LearnEpoch {
  int epoch = 0;
  double train_loss = 0, validation_loss = 0;
};

struct Match2LearnResult {
  Match2LearnConfig config;
  std::vector<Match2LearnEpoch> history;
  int best_epoch = 0;
  bool stopped_early = false;
  std::int64_t parameters = 0;
  double train_matched_fraction = 0;
  TrainedMatch2 unit;
  double seconds = 0;
};

// Trains one unit (logistic loss on β(τ² − ‖out_i‖²), β learned, per token).  Throws
// ConfigError for a bad configuration, std::runtime_error without LibTorch, LearningInterrupted
// when `stop` becomes true.
Match2LearnResult train_match2(const Match2LearnConfig& config, const std::atomic<bool>* stop = nullptr);

// The unit as a match2-table model: every double stored exactly, ψ = norm, matched below.
Match2TableModel trained_match2_model(const TrainedMatch2& u);
// Plain double forward pass of a match2-table model without positional tables (entries taken
// to the nearest double): ψ's decision (1 = matched) for every token of x.  Independent of the
// certified checker; used for test errors and to re-check witnesses.
std::vector<int> match2_table_decisions_double(const Match2TableModel& m, const std::vector<int>& x);

struct Match2TestError {
  std::int64_t tokens = 0, wrong_tokens = 0, inputs = 0, wrong_inputs = 0;
};
// The double forward pass on every input of a sample set, against its labels.
Match2TestError match2_test_error(const Match2TableModel& m, const Match2Samples& s);

// Certifying a trained unit: the model file's bytes are parsed back and checked by
// check_match2_table under exact semantics (multiset reduction, every input of [M]^N), as
// `check match2 --model` does.  For a failing model the witness is re-run through the double
// forward pass as well.
struct Match2Certification {
  Match2TableCheckResult check;
  std::optional<bool> witness_wrong_double;  // failing model: the double pass is wrong on the witness token
};
std::vector<unsigned char> trained_match2_file_bytes(const TrainedMatch2& u, const std::map<std::string, std::string>& metadata,
                                                     const std::string& file_name);
Match2Certification certify_match2_model_bytes(const std::vector<unsigned char>& bytes, const std::string& file_name,
                                               unsigned threads);

}  // namespace attnbounds
