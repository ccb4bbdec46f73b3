// What both LibTorch trainers (qsa_trainer_torch.cpp, match2_trainer_torch.cpp) use: keeping the
// best parameters for early stopping, and tensors as doubles.  Part of the plugin only.
#pragma once
#include <torch/torch.h>

#include <vector>

namespace attnbounds::torch_common {

// A copy of every parameter (the best epoch so far).
inline std::vector<torch::Tensor> snapshot(torch::nn::Module& net) {
  std::vector<torch::Tensor> v;
  for (const auto& p : net.parameters()) v.push_back(p.detach().clone());
  return v;
}

// Puts a snapshot back.
inline void restore(torch::nn::Module& net, const std::vector<torch::Tensor>& v) {
  torch::NoGradGuard no_grad;
  auto params = net.parameters();
  for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(v[i]);
}

// The entries of a tensor as doubles, in row-major order.
inline std::vector<double> doubles_of(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace attnbounds::torch_common
