#include "report/regress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/errors.hpp"
#include "core/input_file.hpp"
#include "numeric/rational.hpp"
#include "report/files.hpp"
#include "report/json_path.hpp"
#include "report/subprocess.hpp"
#include "report/tables.hpp"

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

const std::vector<std::string>& default_tracked_fields() {
  static const std::vector<std::string> fields = {"$exit",   "verdict", "$counterexample", "cases", "bound",
                                                  "worst.value", "p_star", "m_star", "mk_star", "messages_distinct",
                                                  "message_bits", "D", "rank_Q"};
  return fields;
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
    static const char* allowed[] = {"name", "description", "args", "program", "expect", "tolerances"};
    if (std::none_of(std::begin(allowed), std::end(allowed), [&](const char* a) { return it.key() == a; }))
      bad(file, "unknown field '" + it.key() + "' (allowed: name, description, args, program, expect, tolerances)");
  }
  Baseline b;
  b.file = file;
  b.document = doc;
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
    if (entry.is_regular_file() && entry.path().extension() == ".json") files.push_back(entry.path());
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
      c.result = json::parse(p.out);
    } catch (const json::parse_error&) {
      c.result = nullptr;
      c.error = fmt::format("exit status {}, no JSON on stdout: {}", p.exit_status, first_lines(p.err));
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

std::vector<FieldDiff> update_baseline(const Baseline& b, const BaselineCheck& c) {
  // The baseline's own fields first, then every default field the result now has.
  std::vector<std::string> fields;
  for (auto it = b.expect.begin(); it != b.expect.end(); ++it) fields.push_back(it.key());
  std::size_t own = fields.size();
  for (const auto& f : default_tracked_fields())
    if (std::find(fields.begin(), fields.end(), f) == fields.end()) fields.push_back(f);
  json expect = json::object();
  std::vector<FieldDiff> changes;
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& f = fields[i];
    json actual = baseline_field(c.result, c.exit_status, f);
    json old = b.expect.contains(f) ? b.expect[f] : json(nullptr);
    if (actual.is_null()) {
      if (i < own) changes.push_back({f, show(old), "(missing)", "dropped: the result has no such field"});
      continue;
    }
    expect[f] = actual;
    if (old != actual) changes.push_back({f, show(old), show(actual), ""});
  }
  json doc = b.document;
  doc["expect"] = expect;
  if (expect.contains("worst.value") && !(doc.contains("tolerances") && doc["tolerances"].contains("worst.value")))
    doc["tolerances"]["worst.value"] = "1e-12";
  write_text_file(b.file, doc.dump(2) + "\n");
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
      if (!c.diffs.empty()) ++differ;
      if (!o.json) {
        if (c.diffs.empty()) {
          std::cout << fmt::format("  ok     {}\n", b.name);
        } else {
          std::cout << fmt::format("  DIFF   {}  ({})\n", b.name, c.command);
          if (!c.error.empty()) std::cout << fmt::format("         reason: {}\n", c.error);
          for (const auto& d : c.diffs)
            std::cout << fmt::format("         {}: expected {}, got {}{}\n", d.field, d.expected, d.actual,
                                     d.note.empty() ? "" : "  (" + d.note + ")");
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
