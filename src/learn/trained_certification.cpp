#include "learn/trained_certification.hpp"

namespace attnbounds {

std::vector<unsigned char> trained_model_file_bytes(const TrainedAttention& a, DType dtype,
                                                    const std::map<std::string, std::string>& metadata,
                                                    const std::string& file_name) {
  QsaTableModel m = trained_attention_model(a);
  for (const auto& [key, value] : metadata) m.metadata[key] = value;
  ModelWriteOptions w;
  w.exact = false;
  w.dtype = dtype;
  return serialize_safetensors(qsa_table_model_file(m, w, file_name));
}

TrainedCertification certify_table_model(const QsaTableModel& m, const CertifyOptions& opts) {
  TrainedCertification c;
  QsaTableEmbedding emb(m);
  QsaCheckOptions co;
  co.eps = opts.eps;
  co.threads = opts.threads;
  c.check = check_qsa(emb, co);
  if (c.check.verdict == Verdict::Fails && !c.check.witness_signs.empty()) {
    const QsaInput x = qsa_witness_input(m.N, m.d, c.check.witness_S, c.check.witness_signs);
    std::vector<double> z;
    for (const auto& v : x.z.data()) z.push_back(v.get_d());
    c.witness_error_double = table_token_errors(m, z, x.y)[0];
  }
  if (opts.min_p && qsa_certifiable_structure_problem(m, false).empty()) {
    MinPrecisionConfig mc;
    mc.family = FormatFamily::Float;
    mc.p_min = opts.p_min;
    mc.p_max = opts.p_max;
    mc.mode = Semantics::Kind::Embed;
    c.min_p_embed = qsa_min_precision(emb, opts.eps, mc, opts.threads);
    mc.mode = Semantics::Kind::Arith;
    c.min_p_arith = qsa_min_precision(emb, opts.eps, mc, opts.threads);
  }
  return c;
}

TrainedCertification certify_trained_model(const std::vector<unsigned char>& bytes, const std::string& file_name,
                                           const CertifyOptions& opts) {
  const SafetensorsFile f = parse_safetensors(file_name, bytes.data(), bytes.size());
  const QsaTableModel m = qsa_table_model_from(file_name, f);
  const std::string problem = qsa_certifiable_structure_problem(m, true);
  if (!problem.empty()) throw ModelFileError(file_name, "structure", problem);
  return certify_table_model(m, opts);
}

}  // namespace attnbounds
