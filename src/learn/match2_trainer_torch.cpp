// The Match2 trainer: with qsa_trainer_torch.cpp, the only translation units that include Torch.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "learn/torch_common.hpp"
#include "learn/match2_learning.hpp"

namespace attnbounds {

namespace {

// One position-free unit of class match2-table: q_i = Q[x_i], k_j = K[x_j], v_j = V[x_j],
// out_i = R[x_i] + Σ_j softmax_j(⟨q_i, k_j⟩) v_j.  Training logit β(τ² − ‖out_i‖²): positive
// exactly when ‖out_i‖ < |τ|, the ψ the exported file states; β only sharpens the loss.
struct Match2Net : torch::nn::Module {
  torch::Tensor query, key, value, residual, tau, log_beta;
  bool has_residual;
  Match2Net(int M, int k, int d, bool residual_) : has_residual(residual_) {
    auto opt = torch::TensorOptions().dtype(torch::kDouble);
    query = register_parameter("query_table", torch::randn({M, k}, opt));
    key = register_parameter("key_table", torch::randn({M, k}, opt));
    value = register_parameter("value_table", torch::randn({M, d}, opt) / std::sqrt(static_cast<double>(d)));
    if (has_residual)
      residual = register_parameter("residual_table", torch::randn({M, d}, opt) / std::sqrt(static_cast<double>(d)));
    tau = register_parameter("tau", torch::full({1}, 0.5, opt));
    log_beta = register_parameter("log_beta", torch::full({1}, std::log(4.0), opt));
  }
  // x: [B, N] int64 -> logits [B, N].
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor q = query.index_select(0, x.reshape({-1})).reshape({x.size(0), x.size(1), -1});
    torch::Tensor kk = key.index_select(0, x.reshape({-1})).reshape({x.size(0), x.size(1), -1});
    torch::Tensor v = value.index_select(0, x.reshape({-1})).reshape({x.size(0), x.size(1), -1});
    torch::Tensor a = torch::softmax(torch::matmul(q, kk.transpose(1, 2)), -1);
    torch::Tensor out = torch::matmul(a, v);
    if (has_residual) out = out + residual.index_select(0, x.reshape({-1})).reshape({x.size(0), x.size(1), -1});
    return torch::exp(log_beta) * (tau * tau - out.pow(2).sum(-1));
  }
};

struct Batch {
  torch::Tensor x, label;
};

Batch make_batch(const Match2Samples& s, const std::vector<std::int64_t>& index, std::size_t begin, std::size_t end) {
  const int N = s.N;
  const auto B = static_cast<std::int64_t>(end - begin);
  torch::Tensor x = torch::empty({B, N}, torch::kLong);
  torch::Tensor l = torch::empty({B, N}, torch::kDouble);
  auto xa = x.accessor<std::int64_t, 2>();
  auto la = l.accessor<double, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const std::size_t sample = static_cast<std::size_t>(index[begin + b]);
    for (int i = 0; i < N; ++i) {
      xa[b][i] = s.x[sample * N + i];
      la[b][i] = s.label[sample * N + i];
    }
  }
  return {x, l};
}

std::vector<std::int64_t> identity_index(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

double mean_loss(Match2Net& net, const Match2Samples& s) {
  torch::NoGradGuard no_grad;
  const auto index = identity_index(s.count);
  double sum = 0;
  const std::size_t step = 1024;
  for (std::size_t b = 0; b < index.size(); b += step) {
    Batch x = make_batch(s, index, b, std::min(index.size(), b + step));
    sum += torch::binary_cross_entropy_with_logits(net.forward(x.x), x.label, {}, {}, at::Reduction::Sum).item<double>();
  }
  return sum / (static_cast<double>(s.count) * s.N);
}

using torch_common::doubles_of;
using torch_common::restore;
using torch_common::snapshot;

}  // namespace

Match2LearnResult torch_train_match2(const Match2LearnConfig& config, const std::atomic<bool>* stop) {
  config.validate();
  const auto start = std::chrono::steady_clock::now();
  at::set_num_threads(config.threads);
  torch::manual_seed(config.seed);
  const Match2Samples train = draw_match2_samples(config.N, config.M, config.samples, config.seed, 0);
  const Match2Samples validation = draw_match2_samples(config.N, config.M, config.validation, config.seed, 1);

  Match2Net net(config.M, config.k, config.d, config.residual);
  torch::optim::Adam optimiser(net.parameters(), torch::optim::AdamOptions(config.lr));
  Match2LearnResult res;
  res.config = config;
  res.train_matched_fraction = train.matched_fraction();
  for (const auto& p : net.parameters()) res.parameters += p.numel();
  // Shuffling from its own seeded generator, so the order does not depend on Torch's.
  std::mt19937_64 shuffle_rng(config.seed ^ 0x3a7c2f00dULL);
  std::vector<std::int64_t> order = identity_index(config.samples);
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_params = snapshot(net);
  int since_best = 0;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_rng() % i]);
    double loss_sum = 0;
    int batches = 0;
    for (std::size_t b = 0; b < order.size(); b += config.batch) {
      if (stop && stop->load()) throw LearningInterrupted("training interrupted");
      Batch x = make_batch(train, order, b, std::min(order.size(), b + static_cast<std::size_t>(config.batch)));
      optimiser.zero_grad();
      torch::Tensor loss = torch::binary_cross_entropy_with_logits(net.forward(x.x), x.label);
      loss.backward();
      optimiser.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    const double v = mean_loss(net, validation);
    res.history.push_back({epoch, loss_sum / batches, v});
    if (!std::isfinite(v)) break;
    if (v < best) {
      best = v;
      best_params = snapshot(net);
      res.best_epoch = epoch;
      since_best = 0;
    } else if (++since_best >= config.patience) {
      res.stopped_early = true;
      break;
    }
  }
  restore(net, best_params);
  TrainedMatch2& u = res.unit;
  u.N = config.N, u.M = config.M, u.k = config.k, u.d = config.d;
  u.query = doubles_of(net.query);
  u.key = doubles_of(net.key);
  u.value = doubles_of(net.value);
  if (config.residual) u.residual = doubles_of(net.residual);
  u.threshold = std::fabs(doubles_of(net.tau)[0]);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace attnbounds
