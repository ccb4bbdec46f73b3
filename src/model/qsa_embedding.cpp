#include "model/qsa_embedding.hpp"

#include <map>
#include <stdexcept>

#include "core/config_error.hpp"
#include "core/field_checks.hpp"

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

void QsaEmbeddingParams::validate() const {
  check_field_range("N", N, kN);
  check_field_range("q", q, 1, N);
  check_field_range("d", d, kD);
  if (!(eps > 0 && eps < 1)) throw ConfigError("eps", "must be in (0, 1) (got " + to_exact_decimal_or_fraction(eps) + ")");
  if (c && *c < 0) throw ConfigError("c", "must be >= 0 (got " + to_exact_decimal_or_fraction(*c) + ")");
  if (mk != 0) check_field_range("mk", mk, kMk);
  if (strategy != "lp" && strategy != "least-norm")
    throw ConfigError("strategy", "must be lp or least-norm (got '" + strategy + "')");
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
