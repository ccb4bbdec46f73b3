#include "model/qsa_embedding.hpp"

#include <map>
#include <stdexcept>

namespace attnbounds {

namespace {
std::map<std::string, QsaEmbeddingFactory>& factories() {
  static std::map<std::string, QsaEmbeddingFactory> f;
  return f;
}
}  // namespace

void register_qsa_embedding(const std::string& name, QsaEmbeddingFactory factory) {
  factories()[name] = std::move(factory);
}

std::vector<std::string> qsa_embedding_names() {
  std::vector<std::string> out;
  for (const auto& [k, v] : factories()) out.push_back(k);
  return out;
}

std::unique_ptr<QsaEmbedding> make_qsa_embedding(const std::string& name, const QsaEmbeddingParams& p) {
  auto it = factories().find(name);
  if (it == factories().end()) {
    std::string known;
    for (const auto& n : qsa_embedding_names()) known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown qSA construction '" + name + "' (known: " + known + ")");
  }
  return it->second(p);
}

}  // namespace attnbounds
