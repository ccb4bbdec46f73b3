// min-p through the command line: one shape for every claim, and each row's verdict and witness
// checked against an independent command (check or eval at that row's semantics).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "cli_runner.hpp"

using nlohmann::json;

using attnbounds_test::run_json;

TEST_CASE("min-p: every claim writes one result shape", "[cli][min-p]") {
  for (const char* args : {"min-p qsa-cyclic --N 6 --q 2 --eps 0.1 --p-max 12",
                           "min-p match2 --N 3 --M 6 --p-max 6",
                           "min-p match3-third-order --N 3 --M 6 --p-max 5 --mode arith",
                           "min-p match3-hinted --N 5 --M 7 --q 2 --p-min 9 --p-max 11",
                           "min-p match3-window --N 6 --M 7 --w 2 --p-min 9 --p-max 10"}) {
    INFO(args);
    json r = run_json(args);
    CHECK(r["command"] == "min-p");
    CHECK((r["p_star"].is_null() || r["p_star"].is_number_integer()));
    CHECK(r["p_star_meaning"].is_string());
    CHECK(r["islands"].is_array());
    CHECK(r["params"]["p_min"].is_number_integer());
    CHECK(r["params"]["p_max"].is_number_integer());
    CHECK((r["params"]["mode"] == "embed" || r["params"]["mode"] == "arith"));
    REQUIRE(r["table"].is_array());
    const int p_min = r["params"]["p_min"], p_max = r["params"]["p_max"];
    CHECK(r["table"].size() == static_cast<std::size_t>(p_max - p_min + 1));
    for (const auto& row : r["table"]) {
      CHECK(row["p"].is_number_integer());
      CHECK(row["semantics"].get<std::string>().find(r["params"]["mode"].get<std::string>() + ":float:") == 0);
      CHECK(row.contains("worst_upper"));
    }
    // The shape the Match claims had before they joined the one min-p is gone.
    for (const char* legacy : {"scan", "range", "non_monotone_islands", "formats"}) CHECK_FALSE(r.contains(legacy));
    // p* is the value of worst; null together with p_star.
    if (r["p_star"].is_null()) CHECK(r["worst"]["value"].is_null());
    else CHECK(r["worst"]["value"] == std::to_string(r["p_star"].get<int>()));
  }
}

TEST_CASE("min-p match3-third-order: every row agrees with check at its semantics; p* = 3", "[cli][min-p]") {
  json r = run_json("min-p match3-third-order --N 3 --M 6 --mode arith --p-max 5");
  CHECK(r["p_star"] == 3);  // the approved baseline's value (min-p-match3-third-order-arith)
  CHECK(r["verdict"] == "holds");
  for (const auto& row : r["table"]) {
    json c = run_json("check match3-third-order --N 3 --M 6 --semantics " + row["semantics"].get<std::string>());
    INFO(row.dump());
    CHECK(c["verdict"] == row["verdict"]);
    // The row's 6-digit ends are the check's 17-digit ends rounded outward.
    CHECK(std::stod(c["worst"]["lower"].get<std::string>()) >= std::stod(row["worst_lower"].get<std::string>()));
    CHECK(std::stod(c["worst"]["upper"].get<std::string>()) <= std::stod(row["worst_upper"].get<std::string>()));
  }
}

TEST_CASE("min-p match2 (arith): a failing row's witness is wrong in eval at that precision", "[cli][min-p]") {
  json r = run_json("min-p match2 --N 3 --M 6 --mode arith --p-max 5");
  CHECK(r["p_star"] == 4);
  int failing_rows = 0;
  for (const auto& row : r["table"]) {
    if (row["verdict"] != "fails") continue;
    ++failing_rows;
    INFO(row.dump());
    REQUIRE(row.contains("witness_x"));
    std::string input;
    for (const auto& v : row["witness_x"]) input += (input.empty() ? "" : ",") + std::to_string(v.get<int>());
    json e = run_json("eval match2 --input " + input + " --M 6 --semantics " + row["semantics"].get<std::string>());
    const json& token = e["tokens"][row["witness_token"].get<int>() - 1];
    CHECK(token["model"] != token["truth"]);
  }
  CHECK(failing_rows == 2);  // p = 2 (an exact tie at the threshold) and p = 3
}

TEST_CASE("min-p: the hardware formats are run as the bounded formats they name", "[cli][min-p]") {
  json r = run_json("min-p match3-hinted --N 5 --M 7 --q 2 --p-min 10 --p-max 10");
  for (const char* format : {"bf16", "fp16", "fp32"}) {
    json c = run_json(std::string("check match3-hinted --N 5 --M 7 --q 2 --semantics embed:") + format);
    INFO(format);
    CHECK(r["hardware_formats"][format] == c["verdict"]);
  }
  CHECK(r["hardware_formats"]["bf16"] == "fails");  // 8 significand bits lose the decoder
  // A checker that refuses a bounded format under arith says so instead of a verdict.
  json w = run_json("min-p match3-window --N 6 --M 7 --w 2 --mode arith --p-min 20 --p-max 20");
  CHECK(w["hardware_formats"]["fp16"].get<std::string>().rfind("not supported: ", 0) == 0);
}
