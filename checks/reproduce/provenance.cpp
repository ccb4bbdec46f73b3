#include "checks/reproduce/provenance.hpp"

#include <glpk.h>
#include <gmp.h>
#include <mpfi.h>
#include <mpfr.h>
#include <unistd.h>

#include <boost/version.hpp>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>

#include "reproduce/build_info.hpp"
#include "checks/reproduce/subprocess.hpp"

namespace attnbounds {

namespace {

// argv of this process from /proc (Linux); empty elsewhere.
std::string own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  if (!in) return "unknown";
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> argv;
  std::string arg;
  for (char ch : raw) {
    if (ch == '\0') {
      argv.push_back(arg);
      arg.clear();
    } else {
      arg += ch;
    }
  }
  if (!arg.empty()) argv.push_back(arg);
  if (argv.empty()) return "unknown";
  return shell_join(argv);
}

std::string utc_date() {
  std::time_t now = std::time(nullptr);
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH")) {
    char* end = nullptr;
    long long v = std::strtoll(epoch, &end, 10);
    if (end && *end == '\0' && v >= 0) now = static_cast<std::time_t>(v);
  }
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> Provenance::fields() const {
  return {{"tool", "attnbounds " + tool_version},
          {"git commit", git_commit},
          {"compiler", compiler},
          {"GMP", gmp},
          {"MPFR", mpfr},
          {"MPFI", mpfi},
          {"GLPK", glpk},
          {"Boost", boost},
          {"command line", command_line},
          {"cores", std::to_string(cores)},
          {"date", date}};
}

json Provenance::to_json() const {
  return {{"tool", "attnbounds"},
          {"version", tool_version},
          {"git_commit", git_commit},
          {"compiler", compiler},
          {"libraries", {{"gmp", gmp}, {"mpfr", mpfr}, {"mpfi", mpfi}, {"glpk", glpk}, {"boost", boost}}},
          {"command_line", command_line},
          {"cores", cores},
          {"date", date}};
}

Provenance current_provenance() {
  Provenance p;
  p.tool_version = ATTNBOUNDS_VERSION;
  p.git_commit = ATTNBOUNDS_GIT_COMMIT;
#if defined(__clang__)
  p.compiler = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  p.compiler = std::string("gcc ") + __VERSION__;
#else
  p.compiler = "unknown";
#endif
  p.gmp = gmp_version;
  p.mpfr = mpfr_get_version();
  p.mpfi = mpfi_get_version();
  p.glpk = glp_version();
  std::string boost = BOOST_LIB_VERSION;  // "1_74"
  for (char& ch : boost)
    if (ch == '_') ch = '.';
  p.boost = boost;
  p.command_line = own_command_line();
  p.cores = std::thread::hardware_concurrency();
  p.date = utc_date();
  return p;
}

std::string provenance_comment(const Provenance& p, const std::string& prefix) {
  std::string out;
  for (const auto& [key, value] : p.fields()) {
    std::string clean;
    for (char ch : value) clean += (ch == '\n' || ch == '\r') ? ' ' : ch;
    out += prefix + key + ": " + clean + "\n";
  }
  return out;
}

}  // namespace attnbounds
