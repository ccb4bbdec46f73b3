// A claim registered by another program: 1 + 2 + ... + k = k(k+1)/2 + offset for every
// k in 1..n, checked in exact rational arithmetic.  offset 0 holds; any other offset fails at
// k = 1 with that witness.  The toolkit's command line runs it beside the built-in claims.
#include "checks/builtin_commands.hpp"
#include "checks/command_line.hpp"
#include "checks/common.hpp"
#include "numeric/rational.hpp"

#include <memory>

namespace {

struct ToyOptions {
  int n = 10;
  int offset = 0;
  attnbounds::CommonOptions common;
};

attnbounds::json run_toy_claim(const ToyOptions& o) {
  using namespace attnbounds;
  Stopwatch clock;
  json r = make_result("check", "toy-claim", "toy", "consumer test", {{"n", o.n}, {"offset", o.offset}}, "exact");
  Rational sum = 0;
  bool holds = true;
  for (int k = 1; k <= o.n && holds; ++k) {
    sum += k;
    const Rational claimed = Rational(k * (k + 1)) / 2 + o.offset;
    if (sum != claimed) {
      holds = false;
      r["worst"] = {{"witness", {{"k", k}, {"sum", to_exact_string(sum)}, {"claimed", to_exact_string(claimed)}}}};
    }
  }
  r["cases"] = o.n;
  finish_result(r, holds ? Verdict::Holds : Verdict::Fails, clock.seconds(), 1);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace attnbounds;
  register_builtin_commands();
  register_entry({"check", "toy-claim", "toy", "consumer test", "sum of 1..k equals k(k+1)/2 (+ offset)",
                  "--n --offset --json", [](CLI::App& verb) {
                    auto o = std::make_shared<ToyOptions>();
                    auto* sub = verb.add_subcommand("toy-claim", "sum of 1..k equals k(k+1)/2 (+ offset)");
                    sub->add_option("--n", o->n, "largest k");
                    sub->add_option("--offset", o->offset, "added to the closed form (nonzero: a false claim)");
                    add_common(*sub, o->common, false);
                    sub->callback([o] {
                      validate_N(o->n, "--n");
                      json r = run_toy_claim(*o);
                      emit(r, o->common, status_of(r));
                    });
                  }});
  return run_command_line(argc, argv);
}
