// The trainer: the only translation unit that includes Torch (its headers compile slowly).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "learn/torch_common.hpp"
#include "learn/qsa_learning.hpp"

namespace attnbounds {

namespace {

// Every family maps (z: [B, N, d'], multi-hot y: [B, N, N]) to outputs [B, N, d'].
struct QsaNet : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) = 0;
};

// One attention unit of class qsa-table: q_i = scale·W_Q·1_{y_i}, k_j = W_K e_j, V = ψ = I,
// scores ⟨q_i, k_j⟩ without 1/√k.
struct AttentionNet : QsaNet {
  torch::Tensor wq, wk, scale;
  bool learn_scale;
  AttentionNet(int N, int k, bool learn_scale_, torch::Dtype dtype) : learn_scale(learn_scale_) {
    auto opt = torch::TensorOptions().dtype(dtype);
    wq = register_parameter("query_weights", torch::randn({k, N}, opt) / std::sqrt(static_cast<double>(k)));
    wk = register_parameter("key_weights", torch::randn({k, N}, opt) / std::sqrt(static_cast<double>(k)));
    scale = register_parameter("scale", torch::ones({1}, opt), learn_scale);
  }
  torch::Tensor attention(const torch::Tensor& y) {
    torch::Tensor queries = torch::matmul(y, wq.t()) * scale;  // [B, N, k]
    return torch::softmax(torch::matmul(queries, wk), -1);      // [B, N, N]
  }
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override {
    return torch::matmul(attention(y), z);
  }
};

// ReLU network on the flattened input (z_i and the multi-hot y_i of every token).
struct FullyConnectedNet : QsaNet {
  torch::nn::Sequential layers;
  int N, d;
  FullyConnectedNet(int N_, int d_, int width, int depth) : N(N_), d(d_) {
    int in = N * (d + N);
    for (int l = 0; l < depth; ++l) {
      layers->push_back(torch::nn::Linear(in, width));
      layers->push_back(torch::nn::ReLU());
      in = width;
    }
    layers->push_back(torch::nn::Linear(in, N * d));
    register_module("layers", layers);
  }
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override {
    const auto B = z.size(0);
    torch::Tensor x = torch::cat({z, y}, -1).reshape({B, -1});
    return layers->forward(x).reshape({B, N, d});
  }
};

// A bidirectional LSTM over the tokens in order (input (z_i, 1_{y_i})); token i's output is a
// linear map of both directions' states at i, so it depends on the whole sequence.
struct LstmNet : QsaNet {
  torch::nn::LSTM lstm{nullptr};
  torch::nn::Linear head{nullptr};
  LstmNet(int N, int d, int hidden) {
    lstm = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(d + N, hidden).batch_first(true).bidirectional(true)));
    head = register_module("head", torch::nn::Linear(2 * hidden, d));
  }
  torch::Tensor forward(const torch::Tensor& z, const torch::Tensor& y) override {
    auto out = std::get<0>(lstm->forward(torch::cat({z, y}, -1)));
    return head->forward(out);
  }
};

// Batches of a sample set as tensors: z [B, N, d'], multi-hot y [B, N, N], qSA target [B, N, d'].
struct Batch {
  torch::Tensor z, y, target;
};

Batch make_batch(const QsaSamples& s, const std::vector<std::int64_t>& index, std::size_t begin, std::size_t end,
                 torch::Dtype dtype) {
  const int N = s.N, d = s.d, q = s.q;
  const auto B = static_cast<std::int64_t>(end - begin);
  torch::Tensor z = torch::empty({B, N, d}, torch::kDouble);
  torch::Tensor y = torch::zeros({B, N, N}, torch::kDouble);
  torch::Tensor t = torch::zeros({B, N, d}, torch::kDouble);
  auto za = z.accessor<double, 3>();
  auto ya = y.accessor<double, 3>();
  auto ta = t.accessor<double, 3>();
  for (std::int64_t b = 0; b < B; ++b) {
    const std::size_t sample = static_cast<std::size_t>(index[begin + b]);
    const double* zs = &s.z[sample * N * d];
    const int* ys = &s.y[sample * N * q];
    for (int i = 0; i < N; ++i) {
      for (int c = 0; c < d; ++c) za[b][i][c] = zs[i * d + c];
      for (int k = 0; k < q; ++k) {
        const int j = ys[i * q + k];
        ya[b][i][j] = 1;
        for (int c = 0; c < d; ++c) ta[b][i][c] += zs[j * d + c] / q;
      }
    }
  }
  return {z.to(dtype), y.to(dtype), t.to(dtype)};
}

std::vector<std::int64_t> identity_index(std::int64_t n) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}

struct Evaluation {
  double loss = 0, mean_error = 0, max_error = 0, off_mass = 0;
};

// Squared-error loss, per-token error norms and (attention) the mass off y_i, over a whole set.
Evaluation evaluate(QsaNet& net, AttentionNet* attn, const QsaSamples& s, int batch, torch::Dtype dtype) {
  torch::NoGradGuard no_grad;
  const auto index = identity_index(s.count);
  Evaluation e;
  double sum_sq = 0, sum_norm = 0, sum_off = 0;
  for (std::size_t b = 0; b < index.size(); b += batch) {
    const std::size_t end = std::min(index.size(), b + batch);
    Batch x = make_batch(s, index, b, end, dtype);
    torch::Tensor sq = (net.forward(x.z, x.y) - x.target).pow(2).sum(-1).to(torch::kDouble);  // [B, N]
    sum_sq += sq.sum().item<double>();
    torch::Tensor norms = sq.sqrt();
    sum_norm += norms.sum().item<double>();
    e.max_error = std::max(e.max_error, norms.max().item<double>());
    if (attn) sum_off += (attn->attention(x.y) * (1 - x.y)).sum(-1).to(torch::kDouble).sum().item<double>();
  }
  const double tokens = static_cast<double>(s.count) * s.N;
  e.loss = sum_sq / tokens;
  e.mean_error = sum_norm / tokens;
  e.off_mass = sum_off / tokens;
  return e;
}

using torch_common::doubles_of;
using torch_common::restore;
using torch_common::snapshot;

}  // namespace

QsaLearnResult torch_train_qsa(const QsaLearnConfig& config, const std::atomic<bool>* stop) {
  config.validate();
  const auto start = std::chrono::steady_clock::now();
  at::set_num_threads(config.threads);
  torch::manual_seed(config.seed);
  const torch::Dtype dtype = config.float64 ? torch::kDouble : torch::kFloat;
  const int N = config.N, d = config.d;

  const QsaSamples train = draw_qsa_samples(N, config.q, d, config.samples, config.sphere, config.seed, 0);
  const QsaSamples validation = draw_qsa_samples(N, config.q, d, config.validation, config.sphere, config.seed, 1);
  const QsaSamples test = draw_qsa_samples(N, config.q, d, config.test, config.sphere, config.seed, 2);

  std::shared_ptr<QsaNet> net;
  std::shared_ptr<AttentionNet> attn;
  switch (config.family) {
    case LearnFamily::Attention:
      attn = std::make_shared<AttentionNet>(N, config.key_width(), config.learn_scale, dtype);
      net = attn;
      break;
    case LearnFamily::FullyConnected:
      net = std::make_shared<FullyConnectedNet>(N, d, config.width, config.depth);
      break;
    case LearnFamily::Lstm:
      net = std::make_shared<LstmNet>(N, d, config.hidden);
      break;
  }
  net->to(dtype);
  torch::optim::Adam optimiser(net->parameters(), torch::optim::AdamOptions(config.lr));

  QsaLearnResult res;
  res.config = config;
  for (const auto& p : net->parameters()) res.parameters += p.requires_grad() ? p.numel() : 0;
  // Shuffling from its own seeded generator, so the order does not depend on Torch's.
  std::mt19937_64 shuffle_rng(config.seed ^ 0x5eedf00dULL);
  std::vector<std::int64_t> order = identity_index(config.samples);
  double best = std::numeric_limits<double>::infinity();
  std::vector<torch::Tensor> best_params = snapshot(*net);
  int since_best = 0;
  for (int epoch = 1; epoch <= config.epochs; ++epoch) {
    for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[shuffle_rng() % i]);
    net->train();
    double loss_sum = 0;
    int batches = 0;
    for (std::size_t b = 0; b < order.size(); b += config.batch) {
      if (stop && stop->load()) throw LearningInterrupted("training interrupted");
      const std::size_t end = std::min(order.size(), b + static_cast<std::size_t>(config.batch));
      Batch x = make_batch(train, order, b, end, dtype);
      optimiser.zero_grad();
      // Mean over the batch's tokens of ‖f(X)_i − qSA(X)_i‖².
      torch::Tensor loss = (net->forward(x.z, x.y) - x.target).pow(2).sum(-1).mean();
      loss.backward();
      optimiser.step();
      loss_sum += loss.item<double>();
      ++batches;
    }
    net->eval();
    const Evaluation v = evaluate(*net, attn.get(), validation, std::max(config.batch, 256), dtype);
    LearnEpoch rec;
    rec.epoch = epoch;
    rec.train_loss = loss_sum / batches;
    rec.validation_loss = v.loss;
    rec.off_support_mass = attn ? v.off_mass : -1;
    res.history.push_back(rec);
    if (!std::isfinite(v.loss)) break;
    if (v.loss < best) {
      best = v.loss;
      best_params = snapshot(*net);
      res.best_epoch = epoch;
      since_best = 0;
    } else if (++since_best >= config.patience) {
      res.stopped_early = true;
      break;
    }
  }
  restore(*net, best_params);
  net->eval();
  const Evaluation t = evaluate(*net, attn.get(), test, std::max(config.batch, 256), dtype);
  res.test_loss = t.loss;
  res.test_mean_error = t.mean_error;
  res.test_max_error = t.max_error;
  if (attn) {
    TrainedAttention a;
    a.N = N, a.q = config.q, a.d = d, a.k = config.key_width();
    a.query_weights = doubles_of(attn->wq);
    a.key_weights = doubles_of(attn->wk);
    a.scale = doubles_of(attn->scale)[0];
    res.attention = a;
    // The learned rows of the first test input's first tokens.
    torch::NoGradGuard no_grad;
    Batch x = make_batch(test, identity_index(1), 0, 1, dtype);
    torch::Tensor rows = attn->attention(x.y)[0].to(torch::kDouble).contiguous();
    auto ra = rows.accessor<double, 2>();
    for (int i = 0; i < config.pattern_tokens; ++i) {
      AttentionPatternRow row;
      row.token = i;
      row.subset.assign(&test.y[static_cast<std::size_t>(i) * config.q], &test.y[static_cast<std::size_t>(i + 1) * config.q]);
      for (int j = 0; j < N; ++j) row.weights.push_back(ra[i][j]);
      res.pattern.push_back(row);
    }
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

}  // namespace attnbounds
