// Finds and loads the LibTorch trainer plugin on first use (see torch_plugin.hpp).  Where it
// looks: $ATTNBOUNDS_TORCH_PLUGIN if set, else next to the running executable (the build tree),
// else in the installed tree's library directory relative to it (ATTNBOUNDS_PLUGIN_RELDIR).
#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "learn/torch_plugin.hpp"

#ifndef ATTNBOUNDS_PLUGIN_RELDIR
#define ATTNBOUNDS_PLUGIN_RELDIR "../lib/attnbounds"
#endif

namespace attnbounds {
namespace {

constexpr const char* kPluginName = "libattnbounds_torch.so";

struct LoadedPlugin {
  const TorchTrainerTable* table = nullptr;
  std::string reason;  // why table is null
};

std::string executable_directory() {
  char buf[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string path(buf, static_cast<std::size_t>(n));
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

LoadedPlugin load_plugin() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("ATTNBOUNDS_TORCH_PLUGIN"); env && *env) {
    if (access(env, F_OK) != 0) return {nullptr, std::string("ATTNBOUNDS_TORCH_PLUGIN names no file: ") + env};
    candidates.emplace_back(env);
  } else {
    const std::string dir = executable_directory();
    candidates.push_back(dir + "/" + kPluginName);
    candidates.push_back(dir + "/" + ATTNBOUNDS_PLUGIN_RELDIR + "/" + kPluginName);
  }
  LoadedPlugin out;
  for (const std::string& path : candidates) {
    if (access(path.c_str(), F_OK) != 0) continue;
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* err = dlerror();
      out.reason = "the LibTorch trainer " + path + " could not be loaded: " + (err ? err : "unknown error");
      return out;
    }
    using Entry = const TorchTrainerTable* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, "attnbounds_torch_trainer_table"));
    const TorchTrainerTable* t = entry ? entry() : nullptr;
    const TorchTrainerTable want = make_torch_trainer_table(nullptr, nullptr);
    if (!t || t->version != want.version || t->qsa_config_size != want.qsa_config_size ||
        t->qsa_result_size != want.qsa_result_size || t->match2_config_size != want.match2_config_size ||
        t->match2_result_size != want.match2_result_size) {
      out.reason = "the LibTorch trainer " + path + " belongs to another build of attnbounds (rebuild both)";
      return out;
    }
    out.table = t;  // the handle stays open for the life of the process
    return out;
  }
  out.reason = "this build has no LibTorch trainer (install libtorch-dev and re-run CMake; looked for " + candidates.front() + ")";
  return out;
}

const LoadedPlugin& plugin() {
  static const LoadedPlugin loaded = load_plugin();
  return loaded;
}

}  // namespace

std::string learning_unavailable_reason() { return plugin().table ? std::string() : plugin().reason; }

bool learning_available() { return plugin().table != nullptr; }

QsaLearnResult train_qsa(const QsaLearnConfig& config, const std::atomic<bool>* stop) {
  config.validate();
  if (!plugin().table) throw std::runtime_error(plugin().reason);
  return plugin().table->train_qsa(config, stop);
}

Match2LearnResult train_match2(const Match2LearnConfig& config, const std::atomic<bool>* stop) {
  config.validate();
  if (!plugin().table) throw std::runtime_error(plugin().reason);
  return plugin().table->train_match2(config, stop);
}

}  // namespace attnbounds
