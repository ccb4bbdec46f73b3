// The three answers of every certified check.  Library-level: no exit codes, no output format.
#pragma once
#include <string>

namespace attnbounds {

// Holds: proved for every case the claim covers.  Fails: a verified counterexample exists.
// Undecided: neither could be certified (precision ceiling, missing certificate, ...).
enum class Verdict { Holds, Fails, Undecided };
std::string to_string(Verdict v);

}  // namespace attnbounds
