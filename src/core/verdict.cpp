#include "core/verdict.hpp"

namespace attnbounds {

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::Holds: return "holds";
    case Verdict::Fails: return "fails";
    case Verdict::Undecided: return "undecided";
  }
  return "undecided";
}

}  // namespace attnbounds
