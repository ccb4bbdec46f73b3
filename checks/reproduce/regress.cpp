#include "regress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "checks/usage_error.hpp"
#include "core/input_file.hpp"
#include "numeric/rational.hpp"
#include "files.hpp"
#include "checks/json_path.hpp"
#include "subprocess.hpp"
#include "checks/tables.hpp"

namespace attnbounds {

namespace {

std::string first_lines(const std::string& err) {
  std::string out;
  std::size_t start = 0;
  int lines = 0;
  while (start < err.size() && lines < 2) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = err.substr(start, end - start);
    if (!line.empty()) {
      out += (out.empty() ? "" : " / ") + line;
      ++lines;
    }
    start = end + 1;
  }
  return out;
}

std::string show(const json& v) {
  if (v.is_null()) return "(missing)";
  std::string s = v.dump();
  return s.size() > 200 ? s.substr(0, 200) + "..." : s;
}

[[noreturn]] void bad(const std::filesystem::path& file, const std::string& what) {
  throw UsageError("--baselines", file.string() + ": " + what);
}

}  // namespace

const std::vector<std::string>& volatile_result_keys() {
  static const std::vector<std::string> keys = {"seconds", "threads", "wall_seconds", "elapsed_seconds", "timings"};
  return keys;
}

const std::vector<std::string>& volatile_top_level_keys() {
  static const std::vector<std::string> keys = {"version"};
  return keys;
}

json normalise_result(json result) {
  if (!result.is_object()) return result;
  strip_keys(result, volatile_result_keys());
  for (const auto& k : volatile_top_level_keys()) result.erase(k);
  return result;
}

namespace {

std::string child_path(const std::string& parent, const std::string& key) {
  if (key.find_first_of(".[]\"") != std::string::npos) return parent + "[\"" + key + "\"]";
  return parent.empty() ? key : parent + "." + key;
}

bool within_tolerance(const json& expected, const json& actual, const json& tolerance, std::string& note) {
  auto e_num = numeric_text(expected), a_num = numeric_text(actual), t_num = numeric_text(tolerance);
  if (!e_num || !a_num || !t_num || expected.is_string() != actual.is_string()) return false;
  try {
    Rational diff = abs(parse_rational(*a_num) - parse_rational(*e_num));
    if (diff <= parse_rational(*t_num)) return true;
    note = fmt::format("differs by {} (tolerance {})", format_rational(diff, 6, 1), *t_num);
  } catch (const std::invalid_argument&) {
  }
  return false;
}

void diff_into(const json& e, const json& a, const json& tolerances, const std::string& path, std::size_t limit,
               std::vector<FieldDiff>& out) {
  if (out.size() >= limit) return;
  const std::string shown = path.empty() ? "(result)" : path;
  if (e.is_object() && a.is_object()) {
    for (auto it = e.begin(); it != e.end(); ++it) {
      const std::string p = child_path(path, it.key());
      if (!a.contains(it.key())) {
        if (out.size() < limit) out.push_back({p, show(it.value()), "(missing)", ""});
      } else {
        diff_into(it.value(), a[it.key()], tolerances, p, limit, out);
      }
    }
    for (auto it = a.begin(); it != a.end(); ++it)
      if (!e.contains(it.key()) && out.size() < limit) out.push_back({child_path(path, it.key()), "(missing)", show(it.value()), ""});
    return;
  }
  if (e.is_array() && a.is_array()) {
    const std::size_t n = std::min(e.size(), a.size());
    for (std::size_t i = 0; i < n; ++i) diff_into(e[i], a[i], tolerances, path + "[" + std::to_string(i) + "]", limit, out);
    if (e.size() != a.size() && out.size() < limit)
      out.push_back({shown, fmt::format("{} elements", e.size()), fmt::format("{} elements", a.size()), "array length"});
    return;
  }
  if (e == a && e.type() == a.type()) return;
  if (e == a && e.is_number() && a.is_number()) return;  // 3 and 3.0 are the same number
  std::string note;
  if (tolerances.is_object() && tolerances.contains(path) && within_tolerance(e, a, tolerances[path], note)) return;
  out.push_back({shown, show(e), show(a), note});
}

}  // namespace

std::vector<FieldDiff> diff_json(const json& expected, const json& actual, const json& tolerances, std::size_t limit) {
  std::vector<FieldDiff> out;
  diff_into(expected, actual, tolerances, "", limit, out);
  return out;
}

json baseline_field(const json& result, int exit_status, const std::string& field) {
  if (field == "$exit") return exit_status;
  if (field == "$counterexample") {
    if (!result.is_object()) return nullptr;
    const json* verdict = find_path(result, "verdict");
    const json* witness = find_path(result, "worst.witness");
    return verdict && *verdict == "fails" && witness && !witness->is_null();
  }
  if (!result.is_object()) return nullptr;
  const json* v = find_path(result, field);
  return v ? *v : json(nullptr);
}

Baseline parse_baseline(const json& doc, const std::filesystem::path& file) {
  if (!doc.is_object()) bad(file, "must be a JSON object");
  for (auto it = doc.begin(); it != doc.end(); ++it) {
    static const char* allowed[] = {"name", "description", "args", "program", "expect", "tolerances", "exit_status", "result"};
    if (std::none_of(std::begin(allowed), std::end(allowed), [&](const char* a) { return it.key() == a; }))
      bad(file, "unknown field '" + it.key() +
                    "' (allowed: name, description, args, program, expect, tolerances, exit_status, result)");
  }
  Baseline b;
  b.file = file;
  b.document = doc;
  for (const char* text_field : {"name", "description"})
    if (doc.contains(text_field) && !doc[text_field].is_string()) bad(file, std::string("'") + text_field + "' must be a string");
  b.name = doc.value("name", file.stem().string());
  b.description = doc.value("description", "");
  if (!doc.contains("args") || !doc["args"].is_array() || doc["args"].empty()) bad(file, "'args' must be a non-empty array of strings");
  for (const auto& a : doc["args"]) {
    if (!a.is_string()) bad(file, "'args' must contain only strings");
    b.args.push_back(a.get<std::string>());
  }
  if (doc.contains("program")) {
    if (!doc["program"].is_string()) bad(file, "'program' must be a string");
    b.program = doc["program"].get<std::string>();
    if (b.program.find('/') != std::string::npos && std::filesystem::path(b.program).is_relative())
      b.program = (file.parent_path() / b.program).string();
  }
  if (doc.contains("exit_status")) {
    if (!doc["exit_status"].is_number_integer()) bad(file, "'exit_status' must be an integer");
    b.exit_status = doc["exit_status"].get<int>();
  }
  if (doc.contains("result")) {
    if (!doc["result"].is_object()) bad(file, "'result' must be the command's JSON object");
    b.result = doc["result"];
  }
  if (doc.contains("expect")) {
    if (!doc["expect"].is_object()) bad(file, "'expect' must be an object of field -> value");
    b.expect = doc["expect"];
  }
  if (doc.contains("tolerances")) {
    if (!doc["tolerances"].is_object()) bad(file, "'tolerances' must be an object of field -> decimal string");
    b.tolerances = doc["tolerances"];
    for (auto it = b.tolerances.begin(); it != b.tolerances.end(); ++it) {
      auto text = numeric_text(it.value());
      if (!text) bad(file, "tolerance of '" + it.key() + "' must be a number or decimal string");
      try {
        if (parse_rational(*text) < 0) bad(file, "tolerance of '" + it.key() + "' must be >= 0");
      } catch (const std::invalid_argument&) {
        bad(file, "tolerance of '" + it.key() + "' is not a number");
      }
    }
  }
  return b;
}

std::vector<Baseline> load_baselines(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".json" &&
        !entry.path().stem().string().ends_with(".new"))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  std::vector<Baseline> out;
  for (const auto& f : files) {
    json doc;
    try {
      doc = parse_json_bounded(read_text_file(f), "the file");
    } catch (const std::invalid_argument& e) {
      bad(f, e.what());
    } catch (const std::runtime_error& e) {
      bad(f, e.what());
    }
    out.push_back(parse_baseline(doc, f));
  }
  return out;
}

std::filesystem::path new_output_path(const Baseline& b) {
  return b.file.parent_path() / (b.file.stem().string() + ".new.json");
}

BaselineCheck check_baseline(const Baseline& b, const std::string& self, double timeout_seconds) {
  BaselineCheck c;
  c.baseline = &b;
  std::vector<std::string> args = b.args;
  args.push_back("--json");
  std::vector<std::string> shown = {b.program.empty() ? "attnbounds" : b.program};
  shown.insert(shown.end(), args.begin(), args.end());
  c.command = shell_join(shown);
  ProcessResult p = run_process(b.program.empty() ? self : b.program, args, timeout_seconds);
  c.exit_status = p.exit_status;
  if (!p.started) c.error = p.error;
  else if (p.timed_out) c.error = fmt::format("killed after {} s", timeout_seconds);
  else {
    try {
      c.result = normalise_result(json::parse(p.out));
    } catch (const json::parse_error&) {
      c.result = nullptr;
      c.error = fmt::format("exit status {}, no JSON on stdout: {}", p.exit_status, first_lines(p.err));
    }
  }
  if (!b.exit_status && !b.result && b.expect.empty())
    c.diffs.push_back({"(baseline)", "(nothing recorded)", show(c.result), "approve it with --update"});
  if (b.exit_status && *b.exit_status != c.exit_status)
    c.diffs.push_back({"$exit", std::to_string(*b.exit_status), std::to_string(c.exit_status), ""});
  if (b.result) {
    if (!c.result.is_object()) {
      c.diffs.push_back({"(result)", "a JSON object", "(none)", c.error});
    } else {
      // The verdict first: it is what a reader looks for among many changed numbers.
      auto whole = diff_json(*b.result, c.result, b.tolerances, 1000);
      std::stable_partition(whole.begin(), whole.end(), [](const FieldDiff& d) { return d.field == "verdict"; });
      c.diffs.insert(c.diffs.end(), whole.begin(), whole.end());
    }
  }
  for (auto it = b.expect.begin(); it != b.expect.end(); ++it) {
    const std::string& field = it.key();
    const json& expected = it.value();
    json actual = baseline_field(c.result, c.exit_status, field);
    FieldDiff d{field, show(expected), show(actual), ""};
    if (actual.is_null() && !expected.is_null()) {
      d.note = c.error.empty() ? "the result has no such field" : c.error;
      c.diffs.push_back(d);
      continue;
    }
    auto e_num = numeric_text(expected), a_num = numeric_text(actual);
    if (e_num && a_num) {
      try {
        Rational diff = abs(parse_rational(*a_num) - parse_rational(*e_num));
        Rational tol = 0;
        std::string tol_text = "0";
        if (b.tolerances.contains(field)) {
          tol_text = *numeric_text(b.tolerances[field]);
          tol = parse_rational(tol_text);
        }
        if (diff > tol) {
          if (tol != 0) d.note = fmt::format("differs by {} (tolerance {})", format_rational(diff, 6, 1), tol_text);
          c.diffs.push_back(d);
        }
        continue;
      } catch (const std::invalid_argument&) {
        // fall through to exact comparison
      }
    }
    if (expected != actual) c.diffs.push_back(d);
  }
  return c;
}

json approved_document(const Baseline& b, const BaselineCheck& c) {
  json doc = json::object();
  for (const char* key : {"name", "description", "args", "program", "tolerances"})
    if (b.document.contains(key)) doc[key] = b.document[key];
  if (c.result.contains("worst") && c.result["worst"].contains("value") &&
      !(doc.contains("tolerances") && doc["tolerances"].contains("worst.value")))
    doc["tolerances"]["worst.value"] = "1e-12";
  if (!b.expect.empty()) {
    json expect = json::object();
    for (auto it = b.expect.begin(); it != b.expect.end(); ++it) {
      json actual = baseline_field(c.result, c.exit_status, it.key());
      if (!actual.is_null()) expect[it.key()] = actual;
    }
    doc["expect"] = expect;
  }
  doc["exit_status"] = c.exit_status;
  doc["result"] = c.result;
  return doc;
}

std::vector<FieldDiff> update_baseline(const Baseline& b, const BaselineCheck& c) {
  const json doc = approved_document(b, c);
  std::vector<FieldDiff> changes;
  if (!b.exit_status || *b.exit_status != c.exit_status)
    changes.push_back({"$exit", b.exit_status ? std::to_string(*b.exit_status) : "(missing)", std::to_string(c.exit_status), ""});
  if (b.result) {
    auto whole = diff_json(*b.result, c.result, b.tolerances);
    changes.insert(changes.end(), whole.begin(), whole.end());
  } else {
    changes.push_back({"result", "(missing)", "(recorded)", ""});
  }
  if (doc.contains("expect")) {
    auto e = diff_json(b.expect, doc["expect"], json::object());
    for (auto& d : e) d.field = "expect." + d.field;
    changes.insert(changes.end(), e.begin(), e.end());
  }
  write_text_file_atomically(b.file, doc.dump(2) + "\n");
  std::filesystem::remove(new_output_path(b));
  return changes;
}

int run_regress(const RegressOptions& o) {
  namespace fs = std::filesystem;
  // A missing directory is bad input (a mistyped path must not pass silently as "0 checked");
  // an existing directory without baselines is only a warning.
  if (!fs::is_directory(o.dir))
    throw UsageError("--baselines", "no such directory '" + o.dir.string() + "' (give a directory of baseline *.json files)");
  std::vector<Baseline> baselines = load_baselines(o.dir);
  const bool any_before_filter = !baselines.empty();
  // A name that selects nothing is a typo, not an empty success.
  for (const auto& name : o.only)
    if (std::none_of(baselines.begin(), baselines.end(), [&](const Baseline& b) { return b.name.find(name) != std::string::npos; }))
      throw UsageError("--only", "no baseline name contains '" + name + "' in " + o.dir.string());
  if (!o.only.empty())
    baselines.erase(std::remove_if(baselines.begin(), baselines.end(),
                                   [&](const Baseline& b) {
                                     return std::none_of(o.only.begin(), o.only.end(), [&](const std::string& s) {
                                       return b.name.find(s) != std::string::npos;
                                     });
                                   }),
                    baselines.end());
  if (baselines.empty() && any_before_filter) {
    std::string names;
    for (const auto& s : o.only) names += (names.empty() ? "" : ",") + s;
    throw UsageError("--only", "no baseline in " + o.dir.string() + " has a name containing any of '" + names + "'");
  }
  if (baselines.empty()) {
    std::cerr << "regress: warning: no baseline files (*.json) in " << o.dir.string() << '\n';
    if (o.json) std::cout << json{{"command", "regress"}, {"baselines", 0}, {"differ", 0}, {"checks", json::array()}}.dump(2) << '\n';
    else std::cout << "regress: 0 baselines checked\n";
    return 0;
  }
  const std::string self = self_executable();
  if (!o.json) std::cout << fmt::format("regress: {} baselines in {}\n", baselines.size(), o.dir.string());
  int differ = 0;
  json checks = json::array();
  for (const auto& b : baselines) {
    BaselineCheck c = check_baseline(b, self, o.timeout_seconds);
    json entry = {{"name", b.name}, {"file", b.file.filename().string()}, {"command", c.command}, {"exit_status", c.exit_status}};
    if (o.update) {
      if (!c.result.is_object()) {
        ++differ;
        entry["status"] = "error";
        entry["error"] = c.error;
        if (!o.json) std::cout << fmt::format("  ERROR  {}  ({})\n         not updated: {}\n", b.name, c.command, c.error);
      } else {
        auto changes = update_baseline(b, c);
        entry["status"] = changes.empty() ? "unchanged" : "updated";
        json ch = json::array();
        for (const auto& d : changes) ch.push_back({{"field", d.field}, {"old", d.expected}, {"new", d.actual}, {"note", d.note}});
        entry["changes"] = ch;
        if (!o.json) {
          std::cout << fmt::format("  {:<9}{}\n", changes.empty() ? "same" : "UPDATED", b.name);
          for (const auto& d : changes)
            std::cout << fmt::format("           {}: {} -> {}{}\n", d.field, d.expected, d.actual, d.note.empty() ? "" : "  (" + d.note + ")");
        }
      }
    } else {
      entry["status"] = c.diffs.empty() ? "ok" : "differs";
      json diffs = json::array();
      for (const auto& d : c.diffs) diffs.push_back({{"field", d.field}, {"expected", d.expected}, {"actual", d.actual}, {"note", d.note}});
      entry["diffs"] = diffs;
      std::string new_file;
      if (!c.diffs.empty()) {
        ++differ;
        // Approval style: the new output goes beside the baseline for review.
        if (c.result.is_object()) {
          new_file = new_output_path(b).string();
          write_text_file_atomically(new_output_path(b), approved_document(b, c).dump(2) + "\n");
          entry["new_output"] = new_file;
        }
      } else {
        std::filesystem::remove(new_output_path(b));  // a stale one from an earlier difference
      }
      if (!o.json) {
        if (c.diffs.empty()) {
          std::cout << fmt::format("  ok     {}\n", b.name);
        } else {
          std::cout << fmt::format("  DIFF   {}  ({})\n", b.name, c.command);
          if (!c.error.empty()) std::cout << fmt::format("         reason: {}\n", c.error);
          constexpr std::size_t kShown = 20;
          for (std::size_t i = 0; i < c.diffs.size() && i < kShown; ++i) {
            const auto& d = c.diffs[i];
            std::cout << fmt::format("         {}: expected {}, got {}{}\n", d.field, d.expected, d.actual,
                                     d.note.empty() ? "" : "  (" + d.note + ")");
          }
          if (c.diffs.size() > kShown) std::cout << fmt::format("         ... and {} more differences\n", c.diffs.size() - kShown);
          if (!new_file.empty())
            std::cout << fmt::format("         new output written to {} (review it; regress --update --only {} approves it)\n",
                                     new_file, b.name);
        }
      }
    }
    checks.push_back(entry);
  }
  if (o.json) {
    std::cout << json{{"command", "regress"}, {"baselines", baselines.size()}, {"differ", differ}, {"update", o.update}, {"checks", checks}}.dump(2)
              << '\n';
  } else if (o.update) {
    std::cout << fmt::format("regress: rewrote {} baselines{}\n", baselines.size() - differ,
                             differ ? fmt::format(" ({} could not run and were left as they were)", differ) : "");
  } else {
    std::cout << (differ ? fmt::format("regress: {} of {} baselines differ\n", differ, baselines.size())
                         : fmt::format("regress: all {} baselines match\n", baselines.size()));
  }
  return differ ? 1 : 0;
}

}  // namespace attnbounds
