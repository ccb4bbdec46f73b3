// Learning qSA from samples (the experiment of the paper's Appendix D): three model families
// trained with LibTorch on random qSA instances, and the export of a trained attention unit as a
// model file of class qsa-table, so that the certified checker can judge it over every input.
//
// This header is free of Torch: the trainer lives in qsa_trainer_torch.cpp, part of the plugin
// libattnbounds_torch.so that is built only when LibTorch is found and loaded on first use
// (torch_plugin.hpp); without it the calls below say that it is absent.
#pragma once
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "learn/learn_common.hpp"
#include "modelfile/qsa_model.hpp"

namespace attnbounds {

enum class LearnFamily { Attention, FullyConnected, Lstm };
// "attention" | "fc" | "lstm"; throws ConfigError("family") for anything else.
LearnFamily learn_family_of(const std::string& name);
const char* learn_family_name(LearnFamily f);

struct QsaLearnConfig {
  LearnFamily family = LearnFamily::Attention;
  static constexpr FieldLimits kN{2, 1024}, kD{1, 256}, kK{0, 4096}, kSamples{1, 10000000}, kWidth{1, 16384},
      kDepth{1, 64}, kHidden{1, 4096};  // q in 1..N
  int N = 8, q = 2, d = 2;
  // Attention: embedding width k of queries and keys (0 = N), and whether a learned scalar
  // multiplies the query (the temperature).
  int k = 0;
  bool learn_scale = true;
  // Fully connected: hidden layers and their width.  LSTM: hidden size of each direction.
  int width = 256, depth = 2;
  int hidden = 64;
  bool sphere = false;             // z_i uniform on the unit sphere instead of the unit ball
  std::int64_t samples = 1000;     // training set size
  std::int64_t validation = 500;   // held-out set for early stopping
  std::int64_t test = 1000;        // held-out set for the reported test error
  std::uint64_t seed = 1;          // data and initialisation
  int epochs = 200;                // upper bound on passes over the training set
  int batch = 64;
  double lr = 0.01;                // Adam's learning rate
  int patience = 20;               // stop after this many epochs without a better validation loss
  int threads = 1;                 // intra-op threads (1: bit-reproducible)
  bool float64 = true;             // train in double (attention default) or float
  int pattern_tokens = 4;          // tokens of the first test input whose attention is reported

  // Throws ConfigError naming the field: N >= 2, 1 <= q <= N, d >= 1, k >= 0, samples >= 1,
  // validation >= 1, test >= 1, epochs >= 1, batch >= 1, lr > 0 (finite), patience >= 1,
  // width, depth, hidden >= 1, threads >= 1, and bounds that keep one run within memory.
  void validate() const;
  int key_width() const { return k > 0 ? k : N; }
};

// A trained attention unit: q_i = scale · Σ_{s ∈ y_i} W_Q[:, s], k_j = W_K[:, j], V = ψ = I.
struct TrainedAttention {
  int N = 0, q = 0, d = 0, k = 0;
  std::vector<double> query_weights;  // k × N, row-major: W_Q(r, s) at r·N + s
  std::vector<double> key_weights;    // k × N, row-major
  double scale = 1;
};

struct LearnEpoch {
  int epoch = 0;              // 1-based
  double train_loss = 0;      // mean over the epoch's batches
  double validation_loss = 0;
  double off_support_mass = -1;  // attention: mean over validation tokens of Σ_{j ∉ y_i} a_ij; -1 otherwise
};

struct AttentionPatternRow {
  int token = 0;              // 0-based
  std::vector<int> subset;    // y_i, 0-based sorted
  std::vector<double> weights;  // a_ij over j
};

struct QsaLearnResult {
  QsaLearnConfig config;
  std::vector<LearnEpoch> history;
  int best_epoch = 0;          // the epoch whose parameters were kept
  bool stopped_early = false;
  double test_mean_error = 0;  // mean over test tokens of ‖f(X)_i − qSA(X)_i‖
  double test_max_error = 0;   // max over test tokens
  double test_loss = 0;        // mean over test tokens of the squared error
  std::int64_t parameters = 0;
  std::optional<TrainedAttention> attention;
  std::vector<AttentionPatternRow> pattern;  // attention only
  double seconds = 0;
};

// Whether the trainer plugin (LibTorch) was built and loads (torch_plugin.hpp).
bool learning_available();
// Trains one model.  Throws ConfigError for a bad configuration, std::runtime_error when the
// build has no LibTorch.  `stop` (may be null) is polled between batches; when it becomes true
// the run throws LearningInterrupted and returns nothing.
struct LearningInterrupted : std::runtime_error {
  using std::runtime_error::runtime_error;
};
QsaLearnResult train_qsa(const QsaLearnConfig& config, const std::atomic<bool>* stop = nullptr);

// The data the trainer draws, reproducible from the seed alone (no Torch): for sample b,
// token i: z (d values) and y (q sorted 0-based indices).
struct QsaSamples {
  int N = 0, q = 0, d = 0;
  std::int64_t count = 0;
  std::vector<double> z;  // count × N × d
  std::vector<int> y;     // count × N × q
};
// stream separates the training, validation and test sets of one seed.
QsaSamples draw_qsa_samples(int N, int q, int d, std::int64_t count, bool sphere, std::uint64_t seed, int stream);

// The exact table of a trained unit: query_table[r(S)] = scale · Σ_{s∈S} W_Q[:, s] (each entry
// the double computed in s order, then taken exactly), key_table[j] = W_K[:, j], V = ψ = I.
QsaTableModel trained_attention_model(const TrainedAttention& a);
// The unit's attention row of a token with subset S (double forward pass of the table), and
// ‖f(X)_i − qSA(X)_i‖ for each token of one input.
std::vector<double> table_attention_row(const QsaTableModel& m, const std::vector<int>& S);
std::vector<double> table_token_errors(const QsaTableModel& m, const std::vector<double>& z,
                                       const std::vector<std::vector<int>>& y);

}  // namespace attnbounds
