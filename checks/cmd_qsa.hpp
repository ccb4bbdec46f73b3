// Options and helpers shared by the qSA subcommands (checks/cmd_qsa.cpp, checks/cmd_qsa_minm.cpp).
#pragma once
#include <memory>
#include <string>

#include "common.hpp"
#include "model/qsa_embedding.hpp"

namespace attnbounds {

struct QsaCliOptions {
  CommonOptions common;
  int N = 16, q = 2, d = 1;
  std::string eps = "0.1", c;
  int mk = 0;
  std::string strategy = "lp";
  std::string certificate, emit_lrs, input;
  std::string number_format = "float";  // min-p: float:P or fixed:I.F
  std::string mode = "embed";  // min-p: embed (entries rounded) or arith (every operation rounded)
  int p_min = 2, p_max = 64;
  GivenParams given;            // which flags were given (eval checks them against the input)
};

// The table rows of the qSA construction parameters (--N --q --d --eps --c, and --mk
// --strategy for qsa-rip), and their targets.
ParamTable qsa_construction_params(const std::string& claim);
std::vector<ParamBinding> qsa_construction_bindings(QsaCliOptions& o, const std::string& claim);

const char* qsa_theorem(const std::string& claim);
const char* qsa_provenance(const std::string& claim);
Rational parse_rational_option(const std::string& name, const std::string& text);
QsaEmbeddingParams qsa_params_from(const QsaCliOptions& o);
// Refuses (unless force) a qsa-rip key table N x m' too large for memory before building it.
std::unique_ptr<QsaEmbedding> build_qsa(const std::string& claim, const QsaEmbeddingParams& p, bool force = false);
json qsa_params_json(const QsaEmbedding& emb, const QsaEmbeddingParams& p);

}  // namespace attnbounds
